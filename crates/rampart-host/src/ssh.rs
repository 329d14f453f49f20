//! SSH access to the node: whether root may log in and with what, and whether passwords are
//! accepted, from `sshd_config` as sshd reads it (its `Include`s in place, the first value of a
//! keyword wins, OpenSSH's defaults for what is not set), and root's authorized keys.

use rampart_core::{Layer, RefKind, Reference, Rule, RuleTarget, Severity};

use crate::Host;

pub static ROOT_LOGIN: Rule = Rule {
    id: "HOST030",
    name: "ssh-root-login",
    title: "SSH lets root log in",
    severity: Severity::High,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "A node's root can read every pod's secrets and enter every container; logging in as root directly leaves no trace of who did it and exposes the most powerful account to every stolen key or guessed password.",
    remediation: "Set `PermitRootLogin no` in /etc/ssh/sshd_config (log in as a user and use sudo), and remove root's authorized_keys.",
    bad_example: "/etc/ssh/sshd_config: PermitRootLogin yes",
    good_example: "/etc/ssh/sshd_config: PermitRootLogin no",
    references: &[Reference::new(
        RefKind::Docs,
        "sshd_config(5): PermitRootLogin",
        "https://man.openbsd.org/sshd_config#PermitRootLogin",
    )],
};

pub static PASSWORDS: Rule = Rule {
    id: "HOST031",
    name: "ssh-password-authentication",
    title: "SSH accepts passwords",
    severity: Severity::Medium,
    layer: Layer::Host,
    target: RuleTarget::Host,
    rationale: "Passwords can be guessed and phished; keys cannot be guessed. OpenSSH accepts passwords unless told otherwise.",
    remediation: "Set `PasswordAuthentication no` (and `KbdInteractiveAuthentication no`) in /etc/ssh/sshd_config.",
    bad_example: "/etc/ssh/sshd_config: (PasswordAuthentication not set)",
    good_example: "/etc/ssh/sshd_config: PasswordAuthentication no",
    references: &[Reference::new(
        RefKind::Docs,
        "sshd_config(5): PasswordAuthentication",
        "https://man.openbsd.org/sshd_config#PasswordAuthentication",
    )],
};

pub static RULES: &[&Rule] = &[&ROOT_LOGIN, &PASSWORDS];

/// The keywords of a configuration, lower-cased, first value kept, with the file each came
/// from; `Match` blocks are left out (they apply to some connections only) and counted.
fn keywords(
    host: &mut Host,
    path: &str,
    out: &mut Vec<(String, String, String)>,
    matched: &mut usize,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let text = match host.root.read(path) {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(e) => {
            host.errors.push(e);
            return;
        }
    };
    let mut in_match = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (
                k.to_ascii_lowercase(),
                v.trim().trim_start_matches('=').trim().to_owned(),
            ),
            None => (line.to_ascii_lowercase(), String::new()),
        };
        if k == "match" {
            in_match = true;
            *matched += 1;
            continue;
        }
        if in_match {
            continue;
        }
        if k == "include" {
            for pattern in v.split_whitespace() {
                let pattern = if pattern.starts_with('/') {
                    pattern.to_owned()
                } else {
                    format!("/etc/ssh/{pattern}")
                };
                for f in glob(host, &pattern) {
                    keywords(host, &f, out, matched, depth + 1);
                }
            }
            continue;
        }
        if !out.iter().any(|(x, _, _)| *x == k) {
            out.push((k, v, path.to_owned()));
        }
    }
}

/// `dir/*.conf`-style patterns (a `*` in the last component), in name order.
fn glob(host: &Host, pattern: &str) -> Vec<String> {
    let Some((dir, name)) = pattern.rsplit_once('/') else {
        return Vec::new();
    };
    if !name.contains('*') {
        return vec![pattern.to_owned()];
    }
    let (pre, post) = name.split_once('*').unwrap_or((name, ""));
    host.root
        .list(dir)
        .into_iter()
        .filter(|f| f.starts_with(pre) && f.ends_with(post))
        .map(|f| format!("{dir}/{f}"))
        .collect()
}

/// Assesses SSH.
pub fn assess(host: &mut Host) {
    let path = "/etc/ssh/sshd_config";
    if !host.root.exists(path) {
        host.not_checked(
            &ROOT_LOGIN,
            "no SSH server configuration (/etc/ssh/sshd_config)",
        );
        host.not_checked(
            &PASSWORDS,
            "no SSH server configuration (/etc/ssh/sshd_config)",
        );
        return;
    }
    let mut kw = Vec::new();
    let mut matched = 0;
    keywords(host, path, &mut kw, &mut matched, 0);
    let value = |k: &str| {
        kw.iter()
            .find(|(x, _, _)| x == k)
            .map(|(_, v, f)| (v.to_ascii_lowercase(), f.clone()))
    };
    let keys = host
        .root
        .read("/root/.ssh/authorized_keys")
        .ok()
        .flatten()
        .map(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .count()
        })
        .unwrap_or(0);
    let (root, from) =
        value("permitrootlogin").unwrap_or(("prohibit-password".into(), "the default".into()));
    let mut c = host.check(&ROOT_LOGIN, path);
    match root.as_str() {
        "no" => {}
        "yes" => c.fail_sev(Severity::High, format!("PermitRootLogin yes ({from}): root logs in with a password or a key ({keys} authorized keys)")),
        "prohibit-password" | "without-password" if keys > 0 => c.fail_sev(
            Severity::Medium,
            format!("PermitRootLogin {root} ({from}) and root has {keys} authorized keys: root logs in with any of them"),
        ),
        "prohibit-password" | "without-password" => {}
        other => c.fail_sev(Severity::Low, format!("PermitRootLogin {other} ({from})")),
    }
    if matched > 0 {
        c.partly(format!(
            "{matched} Match blocks not evaluated (they apply to some connections only)"
        ));
    }
    host.finish(c);
    let (pw, from) =
        value("passwordauthentication").unwrap_or(("yes".into(), "the default".into()));
    let mut c = host.check(&PASSWORDS, path);
    if pw != "no" {
        c.fail(format!("PasswordAuthentication {pw} ({from})"));
    }
    host.finish(c);
}
