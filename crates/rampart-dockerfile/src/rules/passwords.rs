//! DF029: a password is set for an account in the image.

use super::Cx;
use crate::shell::SimpleCommand;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF029.
pub static RULE: Rule = Rule {
    id: "DF029",
    name: "password-set-in-image",
    title: "A password is set for an account in the image",
    severity: Severity::High,
    layer: Layer::Access,
    target: RuleTarget::Dockerfile,
    rationale: "`chpasswd`, `passwd --stdin`, `usermod -p` and `useradd -p` write a password \
                (or its hash) into /etc/shadow of the image, and the RUN line that does it, \
                password included, stays readable in the image history (`docker history`). \
                Everyone who can pull the image learns it, every container shares it, and it \
                gives `su` or a login to whoever reaches a shell. Containers need no account \
                passwords. Locking or deleting a password (`passwd -l`, `passwd -d`, \
                `useradd -p '*'`) is not reported. Peer: Checkov CKV2_DOCKER_17.",
    remediation: "Do not set passwords in images: run as an unprivileged user without a \
                  password, and pass any credential the application needs at run time (a \
                  mounted secret, `RUN --mount=type=secret` during the build).",
    bad_example: "FROM debian:12\nRUN useradd -m app && echo 'app:S3cret!' | chpasswd\nUSER app\n",
    good_example: "FROM debian:12\nRUN useradd -m -u 10001 app && passwd -l app\nUSER 10001\n",
    references: &[
        Reference::new(
            RefKind::Docs,
            "Checkov CKV2_DOCKER_17",
            "https://www.checkov.io/5.Policy%20Index/dockerfile.html",
        ),
        Reference::new(
            RefKind::Docs,
            "Build secrets",
            "https://docs.docker.com/build/building/secrets/",
        ),
    ],
};

/// A password value that sets no usable password (`*`, `!`, `!!`, `x`, empty).
fn disabled(value: &str) -> bool {
    matches!(value.trim(), "" | "*" | "!" | "!!" | "x" | "!*")
}

/// The value of `-p VALUE`, `-pVALUE`, `--password VALUE` or `--password=VALUE`.
fn password_arg(args: &[String]) -> Option<&str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-p" || a == "--password" {
            return Some(it.next().map_or("", String::as_str));
        }
        if let Some(v) = a.strip_prefix("--password=") {
            return Some(v);
        }
        if let Some(v) = a
            .strip_prefix("-p")
            .filter(|v| !v.is_empty() && !a.starts_with("--"))
        {
            return Some(v);
        }
    }
    None
}

/// How one command sets a password, if it does.
fn sets_password(c: &SimpleCommand) -> Option<String> {
    let args = c.args();
    match c.program() {
        "chpasswd" | "chgpasswd" => Some(c.program().to_owned()),
        "passwd" if c.has_flag("--stdin") => Some("passwd --stdin".to_owned()),
        // `echo pw | passwd user` (busybox and some passwd builds read it from stdin).
        "passwd"
            if c.piped_in
                && !args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-l" | "-d" | "--lock" | "--delete" | "-S" | "--status"
                    )
                }) =>
        {
            Some("passwd reading a piped password".to_owned())
        }
        "usermod" | "useradd" | "adduser" | "groupadd" | "groupmod" => password_arg(args)
            .filter(|v| !disabled(v))
            .map(|_| format!("{} -p/--password", c.program())),
        _ => None,
    }
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for run in &sv.runs {
            let how: Vec<String> = run.commands.iter().filter_map(sets_password).collect();
            if let Some(first) = how.first() {
                out.push(cx.staged_finding(
                    &RULE,
                    sv,
                    run.inst.pos(),
                    format!(
                        "RUN in {} sets an account password with {first}: it is stored in the image and readable in its history",
                        sv.label()
                    ),
                ));
            }
        }
    }
}
