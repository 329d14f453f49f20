//! Package-manager hygiene in shipping stages: DF012 `--no-install-recommends`, DF013 apt lists
//! left behind, DF014 `apk add` cache, DF015 pip cache, DF020 distribution upgrades in the
//! image, DF021 `update` alone in its RUN, DF030 `apt` in scripts.
//!
//! These are about what ships: builder stages that do not ship are not checked.

use super::{Cx, Run, StageView, cache_targets};
use crate::ast::Kind;
use crate::shell::{self, SimpleCommand};
use rampart_core::cis_docker;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

const DOCS_APT: Reference = Reference::new(
    RefKind::Docs,
    "Building best practices: apt-get",
    "https://docs.docker.com/build/building/best-practices/#apt-get",
);

/// DF012.
pub static RECOMMENDS: Rule = Rule {
    id: "DF012",
    name: "apt-install-recommends",
    title: "apt-get install pulls in recommended packages",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "By default apt installs every \"Recommends\" of the requested packages, often \
                dozens of unneeded packages (documentation tools, X libraries, extra \
                interpreters), each a source of vulnerabilities to patch.",
    remediation: "Pass `--no-install-recommends` to apt-get install (or set \
                  `APT::Install-Recommends \"false\"` in /etc/apt/apt.conf.d).",
    bad_example: "FROM debian:12\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
    good_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
    references: &[cis_docker::PACKAGES, DOCS_APT],
};

/// DF013.
pub static LISTS: Rule = Rule {
    id: "DF013",
    name: "apt-lists-not-removed",
    title: "apt package lists are left in the image",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "`apt-get update` downloads tens of megabytes of package lists into \
                /var/lib/apt/lists. Unless the same RUN removes them (or they live on a cache \
                mount) they stay in the layer forever: a bigger image and stale metadata.",
    remediation: "End the RUN that installs with `&& rm -rf /var/lib/apt/lists/*`, or use \
                  `RUN --mount=type=cache,target=/var/lib/apt,sharing=locked ...`.",
    bad_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
    good_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
    references: &[DOCS_APT],
};

/// DF014.
pub static APK_CACHE: Rule = Rule {
    id: "DF014",
    name: "apk-add-cache",
    title: "apk add keeps its package cache",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "Without `--no-cache`, `apk add` stores the package index in /var/cache/apk, \
                which then ships in the layer.",
    remediation: "Use `apk add --no-cache ...` (or a cache mount on /var/cache/apk).",
    bad_example: "FROM alpine:3.19\nRUN apk update && apk add curl\n",
    good_example: "FROM alpine:3.19\nRUN apk add --no-cache curl\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Alpine Linux: apk --no-cache",
        "https://wiki.alpinelinux.org/wiki/Alpine_Package_Keeper",
    )],
};

/// DF015.
pub static PIP_CACHE: Rule = Rule {
    id: "DF015",
    name: "pip-install-cache",
    title: "pip install keeps its download cache",
    severity: Severity::Info,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "pip keeps every downloaded wheel in ~/.cache/pip; in an image layer that cache \
                is dead weight that is never reused.",
    remediation: "Use `pip install --no-cache-dir`, set `ENV PIP_NO_CACHE_DIR=1`, or mount a \
                  cache (`RUN --mount=type=cache,target=/root/.cache/pip pip install ...`).",
    bad_example: "FROM python:3.12-slim\nRUN pip install flask\n",
    good_example: "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n",
    references: &[Reference::new(
        RefKind::Docs,
        "pip: caching",
        "https://pip.pypa.io/en/stable/topics/caching/",
    )],
};

/// DF020.
pub static UPGRADE: Rule = Rule {
    id: "DF020",
    name: "package-upgrade",
    title: "The Dockerfile upgrades all distribution packages",
    severity: Severity::Info,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "`apt-get upgrade`, `dist-upgrade`, `apk upgrade` or `yum update` make the image \
                depend on the day it was built: two builds of one Dockerfile differ, and a \
                broken upstream update lands without review. Fixes belong in a newer base image \
                (which is rebuilt and tested upstream). Reported as information: upgrading does \
                close vulnerabilities when the base image lags.",
    remediation: "Rebuild on an updated base image tag or digest instead; if an upgrade is \
                  needed, upgrade only the named packages.",
    bad_example: "FROM debian:12\nRUN apt-get update && apt-get -y upgrade && rm -rf /var/lib/apt/lists/*\n",
    good_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends --only-upgrade openssl && rm -rf /var/lib/apt/lists/*\n",
    references: &[DOCS_APT],
};

/// DF021.
pub static UPDATE_ALONE: Rule = Rule {
    id: "DF021",
    name: "update-alone",
    title: "A package index update runs alone in its RUN",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "`RUN apt-get update` on its own line is cached as a layer: later builds reuse \
                the old index while a changed `apt-get install` line below it installs stale, \
                possibly vulnerable versions or fails.",
    remediation: "Update and install in the same RUN: `RUN apt-get update && apt-get install -y \
                  ... && rm -rf /var/lib/apt/lists/*`.",
    bad_example: "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
    good_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
    references: &[rampart_core::cis_docker::UPDATE_ALONE, DOCS_APT],
};

/// DF030.
pub static APT_CLI: Rule = Rule {
    id: "DF030",
    name: "apt-in-script",
    title: "`apt` is used instead of `apt-get` in a script",
    severity: Severity::Low,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "`apt` is the interactive front end: its command-line interface is not stable \
                (it warns so itself when not on a terminal), its output and defaults may change \
                between releases, and a build that depends on it can break or behave \
                differently after a base image update. `apt-get` and `apt-cache` are the \
                interfaces meant for scripts. Peers: hadolint DL3027, Checkov CKV_DOCKER_9.",
    remediation: "Use `apt-get` (install, update, remove...) or `apt-cache` (search, show) in \
                  RUN instructions.",
    bad_example: "FROM debian:12\nRUN apt update && apt install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
    good_example: "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
    references: &[
        Reference::new(
            RefKind::Docs,
            "hadolint DL3027",
            "https://github.com/hadolint/hadolint/wiki/DL3027",
        ),
        DOCS_APT,
    ],
};

fn shipping<'c, 'a>(cx: &'c Cx<'a>) -> impl Iterator<Item = &'c StageView<'a>> {
    cx.stages.iter().filter(|s| s.ships)
}

fn apt_installs<'r>(run: &'r Run<'_>) -> impl Iterator<Item = &'r SimpleCommand> {
    run.commands.iter().filter(|c| {
        matches!(c.program(), "apt-get" | "apt")
            && shell::install(c).is_some_and(|i| i.manager == "apt")
    })
}

fn has_cache_mount(run: &Run<'_>, prefixes: &[&str]) -> bool {
    cache_targets(run.inst).iter().any(|t| {
        prefixes
            .iter()
            .any(|p| t.trim_end_matches('/').starts_with(p))
    })
}

pub(crate) fn check_recommends(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let configured = cx
        .stages
        .iter()
        .filter(|s| s.ships)
        .flat_map(|s| s.runs.iter())
        .any(|r| r.script.contains("Install-Recommends"));
    if configured {
        return;
    }
    for sv in shipping(cx) {
        for run in &sv.runs {
            if let Some(c) = apt_installs(run).find(|c| !c.has_flag("--no-install-recommends")) {
                out.push(cx.finding(
                    &RECOMMENDS,
                    sv,
                    run.inst.pos(),
                    format!(
                        "`{}` in {} installs recommended packages too: add --no-install-recommends",
                        c.display(),
                        sv.label()
                    ),
                ));
            }
        }
    }
}

pub(crate) fn check_lists(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in shipping(cx) {
        for run in &sv.runs {
            if apt_installs(run).next().is_none()
                || run.script.contains("/var/lib/apt/lists")
                || removes_apt_lists(&run.commands, &workdir_at(sv, run))
                || has_cache_mount(run, &["/var/lib/apt"])
            {
                continue;
            }
            out.push(cx.finding(
                &LISTS,
                sv,
                run.inst.pos(),
                format!(
                    "RUN on line {} in {} installs with apt but does not remove /var/lib/apt/lists/* in the same RUN",
                    run.inst.line,
                    sv.label()
                ),
            ));
        }
    }
}

/// Whether an `rm` of the script removes /var/lib/apt/lists, the path written whole or relative
/// to a `cd` before it (`cd /var/lib && rm -rf apt`, `cd /var/lib/apt && rm -rf lists`), or one
/// of its parents. The directory is followed through `cd` in script order (absolute and
/// relative, `..` included); a `cd` to anything not written literally loses track.
fn removes_apt_lists(commands: &[SimpleCommand], workdir: &str) -> bool {
    const LISTS: &str = "/var/lib/apt/lists";
    let mut cwd: Option<String> = Some(workdir.to_owned());
    for c in commands {
        match c.program() {
            "cd" => {
                let target = c.args().iter().find(|a| !a.starts_with('-'));
                cwd = match (target, cwd.as_deref()) {
                    (Some(t), _) if t.starts_with('/') => Some(normalize(t)),
                    (Some(t), Some(base)) if !t.contains('$') && !t.starts_with('~') => {
                        Some(normalize(&format!("{base}/{t}")))
                    }
                    _ => None,
                };
            }
            "rm" => {
                for a in c.args().iter().filter(|a| !a.starts_with('-')) {
                    let path = if a.starts_with('/') {
                        normalize(a)
                    } else if let Some(base) = cwd.as_deref() {
                        normalize(&format!("{base}/{a}"))
                    } else {
                        continue;
                    };
                    let path = path.trim_end_matches("/*");
                    let covers = path == LISTS
                        || path.starts_with(&format!("{LISTS}/"))
                        || (path != "/" && LISTS.starts_with(&format!("{path}/")));
                    if covers {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

/// The working directory a RUN starts in: the stage's WORKDIRs before it, in order (a relative
/// one joins the previous), `/` when there is none. Variables are taken as BuildKit expanded
/// them.
fn workdir_at(sv: &StageView<'_>, run: &Run<'_>) -> String {
    let mut dir = "/".to_owned();
    for inst in sv.instructions {
        if std::ptr::eq(inst, run.inst) {
            break;
        }
        if let Kind::Workdir { path } = &inst.kind {
            let p = &path.value;
            dir = if p.starts_with('/') {
                normalize(p)
            } else {
                normalize(&format!("{dir}/{p}"))
            };
        }
    }
    dir
}

/// `/a/./b/../c/` → `/a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

pub(crate) fn check_apk_cache(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in shipping(cx) {
        for run in &sv.runs {
            let add = run.commands.iter().find(|c| {
                c.program() == "apk" && shell::install(c).is_some() && !c.has_flag("--no-cache")
            });
            let Some(c) = add else { continue };
            if run.script.contains("/var/cache/apk")
                || has_cache_mount(run, &["/var/cache/apk", "/etc/apk/cache"])
            {
                continue;
            }
            out.push(cx.finding(
                &APK_CACHE,
                sv,
                run.inst.pos(),
                format!(
                    "`{}` in {} keeps the apk cache: add --no-cache",
                    c.display(),
                    sv.label()
                ),
            ));
        }
    }
}

pub(crate) fn check_pip_cache(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let env_off = cx.stages.iter().filter(|s| s.ships).any(|s| {
        s.instructions.iter().any(|i| match &i.kind {
            Kind::Env { pairs } => pairs.iter().any(|kv| kv.key == "PIP_NO_CACHE_DIR"),
            _ => false,
        })
    });
    if env_off {
        return;
    }
    for sv in shipping(cx) {
        for run in &sv.runs {
            let pip = run.commands.iter().find(|c| {
                shell::install(c).is_some_and(|i| i.manager == "pip")
                    && !c.has_flag("--no-cache-dir")
                    && !c.words.iter().any(|w| w.starts_with("PIP_NO_CACHE_DIR="))
            });
            let Some(c) = pip else { continue };
            if has_cache_mount(run, &["/root/.cache", "/home"])
                || run.script.contains("rm -rf /root/.cache")
            {
                continue;
            }
            out.push(cx.finding(
                &PIP_CACHE,
                sv,
                run.inst.pos(),
                format!(
                    "`{}` in {} keeps pip's cache: add --no-cache-dir",
                    c.display(),
                    sv.label()
                ),
            ));
        }
    }
}

fn upgrade(c: &SimpleCommand) -> bool {
    let args = c.args();
    let verb = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map_or("", String::as_str);
    let operands = args.iter().filter(|a| !a.starts_with('-')).count();
    match c.program() {
        "apt-get" | "apt" => matches!(verb, "upgrade" | "dist-upgrade" | "full-upgrade"),
        "apk" => verb == "upgrade" && operands == 1,
        "yum" | "dnf" | "microdnf" => matches!(verb, "update" | "upgrade") && operands == 1,
        "zypper" => matches!(verb, "up" | "update" | "dup" | "dist-upgrade") && operands == 1,
        _ => false,
    }
}

pub(crate) fn check_upgrade(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in shipping(cx) {
        for run in &sv.runs {
            if let Some(c) = run.commands.iter().find(|c| upgrade(c)) {
                out.push(cx.finding(
                    &UPGRADE,
                    sv,
                    run.inst.pos(),
                    format!(
                        "`{}` in {} upgrades every package at build time",
                        c.display(),
                        sv.label()
                    ),
                ));
            }
        }
    }
}

pub(crate) fn check_update_alone(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in shipping(cx) {
        for run in &sv.runs {
            let update = run.commands.iter().find(|c| {
                let verb = c.args().iter().find(|a| !a.starts_with('-'));
                match c.program() {
                    "apt-get" | "apt" | "apk" => verb.is_some_and(|v| v == "update"),
                    "yum" | "dnf" => verb.is_some_and(|v| v == "makecache"),
                    _ => false,
                }
            });
            let Some(u) = update else { continue };
            let installs = run
                .commands
                .iter()
                .any(|c| shell::install(c).is_some() || upgrade(c));
            if !installs {
                out.push(cx.finding(
                    &UPDATE_ALONE,
                    sv,
                    run.inst.pos(),
                    format!(
                        "`{}` runs alone on line {} in {}: a later install may use a stale cached index",
                        u.display(),
                        run.inst.line,
                        sv.label()
                    ),
                ));
            }
        }
    }
}

pub(crate) fn check_apt_cli(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for run in &sv.runs {
            if let Some(c) = run.commands.iter().find(|c| c.program() == "apt") {
                out.push(cx.staged_finding(
                    &APT_CLI,
                    sv,
                    run.inst.pos(),
                    format!(
                        "`{}` in {} uses apt, whose command line is not stable for scripts: use apt-get",
                        c.display(),
                        sv.label()
                    ),
                ));
            }
        }
    }
}
