//! DF005: shells, package managers and network tools left in the final image.

use super::{Cx, bases};
use crate::BaseImage;
use crate::CommandForm;
use crate::ImageRef;
use crate::ast::Kind;
use crate::shell;
use rampart_core::cis_docker;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF005.
pub static RULE: Rule = Rule {
    id: "DF005",
    name: "shell-in-final-image",
    title: "The final image keeps a shell, package manager or download tools",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "Most services need neither a shell nor a package manager at run time. Every \
                exploit chain that ends in `sh -c`, `curl | sh` or `apt-get install nmap` needs \
                them; without them, a code-execution bug is much harder to turn into an \
                interactive foothold, and the image carries fewer packages to patch. Hardened \
                runtime bases (Docker Hardened Images, distroless, Chainguard) or scratch ship \
                only the runtime; their `-dev`/`-sdk`/`:debug` variants are for build stages. \
                Judged from the final base image's family and variant (the table in \
                docs/base-images.md) and what the final stage installs; when the image itself \
                is scanned, IMG003 and IMG004 judge its real contents.",
    remediation: "Build in a full image or a `-dev` variant and copy the artefact into a hardened \
                  runtime base (dhi.io/<image> without -dev, gcr.io/distroless/*, \
                  cgr.dev/chainguard/* without -dev, or scratch for static binaries); do not \
                  install curl, wget or netcat in the final stage (use a HEALTHCHECK binary of \
                  the application instead).",
    bad_example: "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nUSER 10001\n",
    good_example: "FROM dhi.io/node:24-dev AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\n\nFROM dhi.io/node:24\nWORKDIR /app\nCOPY --from=build /app /app\nCMD [\"node\", \"index.js\"]\n",
    references: &[
        cis_docker::PACKAGES,
        Reference::new(
            RefKind::Docs,
            "Docker Hardened Images: image variants",
            "https://docs.docker.com/dhi/how-to/use/",
        ),
        Reference::new(
            RefKind::Docs,
            "Distroless container images",
            "https://github.com/GoogleContainerTools/distroless",
        ),
        Reference::new(
            RefKind::Docs,
            "Chainguard: development and production variants",
            "https://edu.chainguard.dev/chainguard/chainguard-images/differences-development-production/",
        ),
    ],
};

/// What a base image family brings: shells and package managers. Hardened and distroless
/// families come from the table in [`bases`] (`None`: a runtime variant with neither, nothing
/// to report); other families from their distribution.
fn family_tools(r: &ImageRef) -> Option<(&'static [&'static str], &'static [&'static str])> {
    if let Some(h) = bases::classify(r) {
        return (!h.is_minimal()).then_some((h.shells, h.package_managers));
    }
    let family = r.family();
    let tag = r.tag.as_deref().unwrap_or("latest");
    const DEB: (&[&str], &[&str]) = (&["sh", "bash"], &["apt-get", "dpkg"]);
    const APK: (&[&str], &[&str]) = (&["sh"], &["apk"]);
    const RPM: (&[&str], &[&str]) = (&["sh", "bash"], &["dnf", "rpm"]);
    const MICRODNF: (&[&str], &[&str]) = (&["sh", "bash"], &["microdnf", "rpm"]);
    if family == "alpine" || tag.contains("alpine") {
        return Some(APK);
    }
    Some(match family {
        "busybox" => (&["sh"], &[]),
        "debian"
        | "ubuntu"
        | "node"
        | "python"
        | "ruby"
        | "php"
        | "perl"
        | "golang"
        | "rust"
        | "openjdk"
        | "eclipse-temurin"
        | "ibm-semeru-runtimes"
        | "nginx"
        | "httpd"
        | "redis"
        | "postgres"
        | "buildpack-deps"
        | "tomcat"
        | "maven"
        | "gradle"
        | "elixir"
        | "erlang"
        | "gcc"
        | "haproxy"
        | "mongo"
        | "rabbitmq"
        | "memcached"
        | "jenkins"
        | "sapmachine" => DEB,
        f if f.starts_with("ubi") && f.contains("minimal") => MICRODNF,
        "centos" | "fedora" | "rockylinux" | "almalinux" | "oraclelinux" | "amazonlinux"
        | "amazoncorretto" | "mysql" => RPM,
        f if f.starts_with("ubi") => RPM,
        _ => return Some((&[], &[])),
    })
}

const TOOLS: [&str; 18] = [
    "curl",
    "wget",
    "netcat",
    "netcat-openbsd",
    "netcat-traditional",
    "nc",
    "ncat",
    "socat",
    "telnet",
    "nmap",
    "tcpdump",
    "strace",
    "gdb",
    "openssh-client",
    "ssh",
    "git",
    "bash",
    "busybox",
];

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let chain = cx.final_chain();
    let Some(last) = chain.first() else { return };
    let Some(root) = chain.last() else { return };
    let (mut shells, managers): (Vec<&str>, Vec<&str>) = match &root.stage.from.base {
        BaseImage::Image(r) => match family_tools(r) {
            Some((s, m)) => (s.to_vec(), m.to_vec()),
            None => return,
        },
        BaseImage::Scratch | BaseImage::Unresolved | BaseImage::Stage(_) => {
            (Vec::new(), Vec::new())
        }
    };
    let shell_runs = chain.iter().flat_map(|sv| sv.runs.iter()).any(
        |r| matches!(r.inst.kind, Kind::Run(ref c) if matches!(c.form, CommandForm::Shell(_))),
    );
    if shells.is_empty() && shell_runs && !matches!(root.stage.from.base, BaseImage::Scratch) {
        shells.push("sh (RUN uses it)");
    }
    let mut tools: Vec<(String, u32)> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for sv in chain.iter().rev() {
        for run in &sv.runs {
            for c in &run.commands {
                if let Some(i) = shell::install(c) {
                    if i.manager == "pip" {
                        continue;
                    }
                    for p in i.packages {
                        if TOOLS.contains(&p) && !tools.iter().any(|(t, _)| t == p) {
                            tools.push((p.to_owned(), run.inst.line));
                        }
                    }
                } else if matches!(c.program(), "apt-get" | "apt" | "apk" | "yum" | "dnf")
                    && c.args()
                        .iter()
                        .any(|a| matches!(a.as_str(), "remove" | "purge" | "del" | "erase"))
                {
                    removed.extend(c.args().iter().cloned());
                }
            }
        }
    }
    tools.retain(|(t, _)| !removed.contains(t));
    if shells.is_empty() && managers.is_empty() && tools.is_empty() {
        return;
    }
    let mut parts = Vec::new();
    if !shells.is_empty() {
        parts.push(format!("a shell ({})", shells.join(", ")));
    }
    if !managers.is_empty() {
        parts.push(format!("a package manager ({})", managers.join(", ")));
    }
    if !tools.is_empty() {
        let list: Vec<String> = tools
            .iter()
            .map(|(t, line)| format!("{t} (line {line})"))
            .collect();
        parts.push(format!("installed tools {}", list.join(", ")));
    }
    let advice = match &root.stage.from.base {
        BaseImage::Image(r) => match (bases::classify(r), bases::runtime_variant(r)) {
            (Some(h), Some(runtime)) => format!(
                "{} is the build variant of a {}: build in it, and base the final stage on the runtime variant {runtime}",
                r.name(),
                h.family.name()
            ),
            (Some(h), None) if h.build_variant => format!(
                "this is a build variant of a {}: base the final stage on its runtime variant",
                h.family.name()
            ),
            _ => "a hardened runtime base (Docker Hardened Images, distroless, Chainguard) or scratch would not".to_owned(),
        },
        _ => "a hardened runtime base (Docker Hardened Images, distroless, Chainguard) or scratch would not".to_owned(),
    };
    out.push(cx.finding(
        &RULE,
        last,
        last.start(),
        format!(
            "the final image (FROM {}) keeps {}: {advice}",
            root.stage.from.image.value,
            parts.join(" and ")
        ),
    ));
}
