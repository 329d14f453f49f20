//! DF005: shells, package managers and network tools left in the final image.

use super::Cx;
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
                interactive foothold, and the image carries fewer packages to patch. Distroless, \
                Chainguard or scratch bases ship only the runtime. Judged from the final base \
                image family and what the final stage installs.",
    remediation: "Build in a full image and copy the artefact into a minimal runtime base \
                  (gcr.io/distroless/*, cgr.dev/chainguard/*, or scratch for static binaries); \
                  do not install curl, wget or netcat in the final stage (use a HEALTHCHECK \
                  binary of the application instead).",
    bad_example: "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nUSER 10001\n",
    good_example: "FROM python:3.12-slim AS build\nRUN pip install --no-cache-dir --target /deps flask\n\nFROM gcr.io/distroless/python3-debian12:nonroot\nCOPY --from=build /deps /deps\n",
    references: &[
        cis_docker::PACKAGES,
        Reference::new(
            RefKind::Docs,
            "Distroless container images",
            "https://github.com/GoogleContainerTools/distroless",
        ),
    ],
};

/// What a base image family brings: shells and package managers.
fn family_tools(r: &ImageRef) -> Option<(&'static [&'static str], &'static [&'static str])> {
    let name = r.name();
    let family = r.family();
    let tag = r.tag.as_deref().unwrap_or("latest");
    const DEB: (&[&str], &[&str]) = (&["sh", "bash"], &["apt-get", "dpkg"]);
    const APK: (&[&str], &[&str]) = (&["sh"], &["apk"]);
    const RPM: (&[&str], &[&str]) = (&["sh", "bash"], &["dnf", "rpm"]);
    const MICRODNF: (&[&str], &[&str]) = (&["sh", "bash"], &["microdnf", "rpm"]);
    if name.contains("distroless") {
        return (tag.contains("debug")).then_some((&["sh (busybox)"], &[]));
    }
    if r.registry.as_deref() == Some("cgr.dev") {
        return (tag.contains("dev") || family == "wolfi-base").then_some(APK);
    }
    if family.contains("micro") {
        return None;
    }
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
    out.push(cx.finding(
        &RULE,
        last,
        last.start(),
        format!(
            "the final image (FROM {}) keeps {}: a distroless, Chainguard or scratch runtime base would not",
            root.stage.from.image.value,
            parts.join(" and ")
        ),
    ));
}
