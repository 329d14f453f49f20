//! DF004: compilers and build tools shipped in the final image.

use super::{Cx, StageView};
use crate::ast::Pos;
use crate::shell::{self, SimpleCommand};
use rampart_core::cis_docker;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};
use std::collections::HashSet;

/// DF004.
pub static RULE: Rule = Rule {
    id: "DF004",
    name: "build-tools-in-final-image",
    title: "Compilers or build tools ship in the final image",
    severity: Severity::Medium,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "Compilers, headers and build systems (gcc, make, build-essential, *-dev \
                packages, Go/Rust/Java/.NET SDK base images) are only needed to produce the \
                artefact. Left in the running image they add hundreds of packages of \
                vulnerabilities and hand an attacker who gets a foothold a toolchain to build \
                exploits in place. A multi-stage build compiles in a builder stage and copies \
                only the result. Builder stages that do not ship are not reported.",
    remediation: "Use a multi-stage build: compile in a `FROM golang:... AS build` (or similar) \
                  stage and `COPY --from=build` only the artefact into a minimal runtime stage \
                  (distroless, slim, or scratch); or remove the build dependencies in the same \
                  RUN that installed them.",
    bad_example: "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\nUSER 65532\nCMD [\"/app\"]\n",
    good_example: "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n\nFROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /app /app\nCMD [\"/app\"]\n",
    references: &[
        cis_docker::PACKAGES,
        Reference::new(
            RefKind::Docs,
            "Multi-stage builds",
            "https://docs.docker.com/build/building/multi-stage/",
        ),
    ],
};

const EXACT: [&str; 38] = [
    "gcc",
    "g++",
    "gcc-c++",
    "cc",
    "clang",
    "llvm",
    "make",
    "cmake",
    "ninja-build",
    "build-essential",
    "build-base",
    "alpine-sdk",
    "autoconf",
    "automake",
    "libtool",
    "pkg-config",
    "pkgconf",
    "golang",
    "golang-go",
    "go",
    "rustc",
    "cargo",
    "rust",
    "maven",
    "gradle",
    "ant",
    "default-jdk",
    "default-jdk-headless",
    "gfortran",
    "musl-dev",
    "linux-headers",
    "binutils",
    "bison",
    "flex",
    "meson",
    "nasm",
    "development-tools",
    "kernel-devel",
];

/// Whether a package name is a compiler, build system or development package.
pub(crate) fn is_build_tool(p: &str) -> bool {
    let p = p.to_ascii_lowercase();
    EXACT.contains(&p.as_str())
        || p.starts_with("gcc-") && !p.starts_with("gcc-libs")
        || p.starts_with("g++-")
        || p.starts_with("clang-")
        || p.starts_with("dotnet-sdk")
        || (p.contains("openjdk") && (p.contains("-jdk") || p.ends_with("-devel")))
        || p.ends_with("-dev")
        || p.ends_with("-devel")
}

/// SDK base image families that carry a toolchain.
fn sdk_family(name: &str, family: &str, tag: &str) -> bool {
    matches!(
        family,
        "golang" | "rust" | "maven" | "gradle" | "gcc" | "buildpack-deps"
    ) || name.ends_with("dotnet/sdk")
        || (family == "openjdk" && !tag.contains("jre"))
        || (matches!(
            family,
            "eclipse-temurin" | "amazoncorretto" | "ibm-semeru-runtimes"
        ) && tag.contains("jdk"))
}

/// Commands that compile or bundle.
fn build_step(c: &SimpleCommand, node: bool) -> bool {
    let args = c.args();
    let first = args.first().map_or("", String::as_str);
    let second = args.get(1).map_or("", String::as_str);
    let js = match c.program() {
        "npm" | "yarn" | "pnpm" => {
            first == "build" || (first == "run" && second.starts_with("build"))
        }
        "tsc" | "webpack" | "vite" | "ng" | "esbuild" => true,
        _ => false,
    };
    if node {
        return js;
    }
    js || match c.program() {
        "go" => matches!(first, "build" | "install"),
        "cargo" => matches!(first, "build" | "install"),
        "dotnet" => matches!(first, "build" | "publish"),
        "gcc" | "g++" | "cc" | "c++" | "clang" | "rustc" | "javac" | "make" | "cmake" | "mvn"
        | "mvnw" | "gradle" | "gradlew" | "ninja" => true,
        _ => false,
    }
}

/// Packages removed along the chain (`apt-get purge`, `apk del`, `yum remove`), and RUNs that
/// remove everything they installed (`apt-mark auto` + `--auto-remove`).
struct Removals {
    names: HashSet<String>,
}

impl Removals {
    fn collect(chain: &[&StageView<'_>]) -> Self {
        let mut names = HashSet::new();
        for sv in chain {
            for run in &sv.runs {
                for c in &run.commands {
                    let removing = match c.program() {
                        "apt-get" | "apt" => c
                            .args()
                            .iter()
                            .any(|a| matches!(a.as_str(), "remove" | "purge")),
                        "apk" => c.args().iter().any(|a| a == "del"),
                        "yum" | "dnf" | "microdnf" => c
                            .args()
                            .iter()
                            .any(|a| matches!(a.as_str(), "remove" | "erase")),
                        _ => false,
                    };
                    if removing {
                        names.extend(
                            c.args()
                                .iter()
                                .filter(|a| !a.starts_with('-'))
                                .map(|a| a.to_ascii_lowercase()),
                        );
                    }
                }
            }
        }
        Removals { names }
    }

    fn removed(&self, p: &str) -> bool {
        self.names.contains(&p.to_ascii_lowercase())
    }
}

/// Whether a RUN removes all it installed (the official images' `apt-mark auto` idiom).
fn self_cleaning(commands: &[SimpleCommand]) -> bool {
    let marks_auto = commands
        .iter()
        .any(|c| c.program() == "apt-mark" && c.args().first().is_some_and(|a| a == "auto"));
    let auto_removes = commands.iter().any(|c| {
        matches!(c.program(), "apt-get" | "apt")
            && (c.has_flag("--auto-remove") || c.args().iter().any(|a| a == "autoremove"))
    });
    marks_auto && auto_removes
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let chain = cx.final_chain();
    let Some(last) = chain.first() else { return };
    let single = cx.stages.len() == 1;
    let advice = if single {
        "use a multi-stage build and copy only the artefact into a minimal runtime stage"
    } else {
        "build in an earlier stage and copy only the artefact into the final stage"
    };
    let removals = Removals::collect(&chain);
    for sv in &chain {
        for run in &sv.runs {
            if self_cleaning(&run.commands) {
                continue;
            }
            let mut tools: Vec<&str> = Vec::new();
            let mut seen: HashSet<&str> = HashSet::new();
            for c in &run.commands {
                let Some(install) = shell::install(c) else {
                    continue;
                };
                if install.manager == "pip" {
                    continue;
                }
                let virtual_name = c
                    .args()
                    .iter()
                    .position(|a| a == "--virtual" || a == "-t")
                    .and_then(|i| c.args().get(i + 1));
                if virtual_name.is_some_and(|v| removals.removed(v)) {
                    continue;
                }
                for p in install.packages {
                    if is_build_tool(p) && !removals.removed(p) && seen.insert(p) {
                        tools.push(p);
                    }
                }
            }
            if !tools.is_empty() {
                out.push(cx.finding(
                    &RULE,
                    sv,
                    run.inst.pos(),
                    format!(
                        "{} installs build tools ({}) that ship in the final image ({}): {advice}",
                        sv.label(),
                        tools.join(", "),
                        last.label(),
                    ),
                ));
            }
        }
    }
    if let Some((root, image)) = cx.final_base() {
        let tag = image.tag.as_deref().unwrap_or("latest");
        let family = image.family();
        let node = matches!(family, "node");
        if sdk_family(&image.name(), family, tag) || node {
            let step = chain.iter().rev().find_map(|sv| {
                sv.runs.iter().find_map(|run| {
                    run.commands
                        .iter()
                        .find(|c| build_step(c, node))
                        .map(|c| (c.display(), run.inst.line))
                })
            });
            if let Some((cmd, line)) = step {
                let pos: Pos = root.start();
                out.push(cx.finding(
                    &RULE,
                    root,
                    pos,
                    format!(
                        "the final image is built FROM {image}, a toolchain image, and compiles in it (`{cmd}` on line {line}): {advice}"
                    ),
                ));
            }
        }
    }
}
