//! DF028: TLS certificate or package signature verification turned off in the build.

use super::Cx;
use crate::ast::Kind;
use crate::shell::SimpleCommand;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF028.
pub static RULE: Rule = Rule {
    id: "DF028",
    name: "verification-disabled",
    title: "TLS or package signature verification is turned off",
    severity: Severity::High,
    layer: Layer::SupplyChain,
    target: RuleTarget::Dockerfile,
    rationale: "Certificate checks and package signatures are what stop a network attacker, a \
                hijacked mirror or a poisoned DNS answer from handing the build arbitrary code. \
                `curl -k`/`--insecure`, `wget --no-check-certificate`, `pip --trusted-host`, \
                `npm config set strict-ssl false`, `git -c http.sslVerify=false`, \
                `GIT_SSL_NO_VERIFY`, `PYTHONHTTPSVERIFY=0`, `NODE_TLS_REJECT_UNAUTHORIZED=0`, \
                `apt-get --allow-unauthenticated`/`--force-yes`, `[trusted=yes]` sources, \
                `rpm --nosignature`/`--nodigest`, `yum`/`dnf --nogpgcheck`, `gpgcheck=0`, \
                `sslverify=false` and `apk --allow-untrusted` each remove that check, in RUN \
                or through ENV and ARG (which also reach the running application). Every \
                stage counts: what a builder downloads ships as the artefact. Peers: Checkov \
                CKV2_DOCKER_2 to CKV2_DOCKER_16.",
    remediation: "Keep verification on. Behind a TLS-intercepting proxy, add its CA to the \
                  image's trust store (`COPY proxy-ca.crt /usr/local/share/ca-certificates/` \
                  then `update-ca-certificates`, or `--cacert`, `PIP_CERT`, \
                  `NODE_EXTRA_CA_CERTS`); for a private repository, import its signing key \
                  instead of skipping signatures.",
    bad_example: "FROM debian:12\nRUN curl -kfsSLo /usr/local/bin/tool https://example.com/tool && chmod +x /usr/local/bin/tool\nUSER 10001\n",
    good_example: "FROM debian:12\nCOPY proxy-ca.crt /usr/local/share/ca-certificates/proxy-ca.crt\nRUN update-ca-certificates && curl -fsSLo /usr/local/bin/tool https://example.com/tool && chmod +x /usr/local/bin/tool\nUSER 10001\n",
    references: &[
        Reference::new(
            RefKind::Docs,
            "Checkov Dockerfile policies (CKV2_DOCKER_2..16)",
            "https://www.checkov.io/5.Policy%20Index/dockerfile.html",
        ),
        Reference::new(
            RefKind::Docs,
            "OWASP: Transport Layer Security cheat sheet (certificate validation)",
            "https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html",
        ),
    ],
};

/// curl's short options that take an argument: in a cluster (`-fsSLo file`) everything after
/// one of them is its argument, not more options.
const CURL_SHORT_WITH_ARG: &str = "AbcCdDeEFHhKmoPQrtTuUwxXyYz";

fn curl_insecure(c: &SimpleCommand) -> bool {
    c.args().iter().any(|a| {
        if a == "--insecure" || a == "-k" {
            return true;
        }
        let Some(cluster) = a.strip_prefix('-') else {
            return false;
        };
        if cluster.starts_with('-') {
            return false;
        }
        for ch in cluster.chars() {
            if ch == 'k' {
                return true;
            }
            if CURL_SHORT_WITH_ARG.contains(ch) || !ch.is_ascii_alphanumeric() {
                return false;
            }
        }
        false
    })
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// `false`, `0`, `no`, `off` (quotes already removed).
fn is_off(v: &str) -> bool {
    matches!(lower(v.trim()).as_str(), "false" | "0" | "no" | "off")
}

/// An environment setting that turns verification off, by name and value.
fn env_disables(key: &str, value: &str) -> Option<String> {
    let hit = match key {
        "PYTHONHTTPSVERIFY" | "NODE_TLS_REJECT_UNAUTHORIZED" => value.trim() == "0",
        // git: any value, the empty string included, turns verification off.
        "GIT_SSL_NO_VERIFY" => true,
        "PIP_TRUSTED_HOST" | "GOINSECURE" => !value.trim().is_empty(),
        "NPM_CONFIG_STRICT_SSL" | "npm_config_strict_ssl" | "YARN_STRICT_SSL" => is_off(value),
        _ => false,
    };
    hit.then(|| format!("{key}={value}"))
}

/// What one command turns off, described with the words that do it.
fn command_disables(c: &SimpleCommand) -> Vec<String> {
    let mut out = Vec::new();
    let args = c.args();
    let has = |flag: &str| c.has_flag(flag);
    let arg_lower: Vec<String> = args.iter().map(|a| lower(a)).collect();
    match c.program() {
        "curl" if curl_insecure(c) => out.push("curl -k/--insecure".to_owned()),
        "wget" if has("--no-check-certificate") => {
            out.push("wget --no-check-certificate".to_owned());
        }
        "pip" | "pip3" | "pip2" if has("--trusted-host") => {
            out.push(format!("{} --trusted-host", c.program()));
        }
        "pip" | "pip3" | "pip2"
            if arg_lower.iter().any(|a| a.ends_with("trusted-host"))
                && arg_lower.first().is_some_and(|a| a == "config") =>
        {
            out.push("pip config set trusted-host".to_owned());
        }
        "python" | "python3" if args.iter().any(|a| a == "pip") && has("--trusted-host") => {
            out.push("python -m pip --trusted-host".to_owned());
        }
        "npm" | "yarn" | "pnpm" => {
            // `npm config set strict-ssl false`, `npm set strict-ssl=false`, `--strict-ssl=false`.
            let mut i = 0;
            while let Some(a) = arg_lower.get(i) {
                let (key, inline) = match a.split_once('=') {
                    Some((k, v)) => (k.trim_start_matches('-'), Some(v.to_owned())),
                    None => (a.trim_start_matches('-'), None),
                };
                if key == "strict-ssl" {
                    let value = inline.or_else(|| arg_lower.get(i + 1).cloned());
                    if value.as_deref().is_some_and(is_off) {
                        out.push(format!("{} strict-ssl false", c.program()));
                        break;
                    }
                }
                i += 1;
            }
        }
        "git" => {
            let mut i = 0;
            while let Some(a) = arg_lower.get(i) {
                let setting = if a == "-c" {
                    arg_lower.get(i + 1).cloned()
                } else if a == "config" {
                    // `git config [--global] http.sslVerify false`
                    let rest: Vec<&String> = arg_lower
                        .get(i + 1..)
                        .unwrap_or(&[])
                        .iter()
                        .filter(|w| !w.starts_with('-'))
                        .collect();
                    match rest.as_slice() {
                        [k, v, ..] => Some(format!("{k}={v}")),
                        _ => None,
                    }
                } else {
                    None
                };
                if let Some((k, v)) = setting.as_deref().and_then(|s| s.split_once('=')) {
                    if (k == "http.sslverify" || k.ends_with(".sslverify")) && is_off(v) {
                        out.push("git http.sslVerify=false".to_owned());
                        break;
                    }
                }
                i += 1;
            }
        }
        "apt-get" | "apt" | "aptitude" => {
            for flag in ["--allow-unauthenticated", "--force-yes"] {
                if has(flag) {
                    out.push(format!("{} {flag}", c.program()));
                }
            }
            if arg_lower.iter().any(|a| {
                a.contains("allowunauthenticated=true")
                    || a.contains("allowinsecurerepositories=true")
            }) {
                out.push(format!("{} -o APT::Get::AllowUnauthenticated", c.program()));
            }
        }
        "rpm" => {
            for flag in ["--nosignature", "--nodigest"] {
                if has(flag) {
                    out.push(format!("rpm {flag}"));
                }
            }
        }
        "yum" | "dnf" | "microdnf" | "tdnf" | "zypper" => {
            if has("--nogpgcheck") || has("--no-gpg-checks") {
                out.push(format!("{} --nogpgcheck", c.program()));
            }
            if arg_lower.iter().any(|a| {
                a.strip_prefix("--setopt=")
                    .and_then(|s| s.split_once('='))
                    .is_some_and(|(k, v)| {
                        (k.ends_with("sslverify") || k.ends_with("gpgcheck")) && is_off(v)
                    })
            }) {
                out.push(format!("{} --setopt sslverify/gpgcheck off", c.program()));
            }
        }
        "yum-config-manager" | "dnf-config-manager"
            if arg_lower.iter().any(|a| {
                a.split_once('=')
                    .is_some_and(|(k, v)| k.ends_with("sslverify") && is_off(v))
            }) =>
        {
            out.push(format!("{} sslverify off", c.program()));
        }
        "apk" if has("--allow-untrusted") => out.push("apk --allow-untrusted".to_owned()),
        _ => {}
    }
    // `VAR=value cmd`, `export VAR=value`, `env VAR=value cmd`.
    let assignments = c.words.iter().filter_map(|w| w.split_once('='));
    for (k, v) in assignments {
        if let Some(what) = env_disables(k, v) {
            if !out.contains(&what) {
                out.push(what);
            }
        }
    }
    out
}

/// Settings written into configuration files by a script: `[trusted=yes]` apt sources,
/// `gpgcheck=0` / `sslverify=0` repository files, `insecure` in .curlrc,
/// `check_certificate = off` in .wgetrc.
fn script_disables(script: &str) -> Vec<String> {
    let s = lower(script);
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    if compact.contains("[trusted=yes]") || compact.contains("trusted=yes]") {
        out.push("apt source [trusted=yes]".to_owned());
    }
    for setting in [
        "gpgcheck=0",
        "gpgcheck=false",
        "sslverify=0",
        "sslverify=false",
    ] {
        if compact.contains(setting)
            && (s.contains(".repo") || s.contains("yum.conf") || s.contains("dnf.conf"))
        {
            out.push(format!("repository {setting}"));
        }
    }
    if s.contains(".curlrc") && s.contains("insecure") {
        out.push("insecure in .curlrc".to_owned());
    }
    if s.contains("wgetrc") && compact.contains("check_certificate=off") {
        out.push("check_certificate = off in .wgetrc".to_owned());
    }
    out
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for inst in sv.instructions {
            let what: Vec<String> = match &inst.kind {
                Kind::Env { pairs } => pairs
                    .iter()
                    .filter_map(|kv| env_disables(&kv.key, &kv.value.value))
                    .collect(),
                Kind::Arg { decls } => decls
                    .iter()
                    .filter_map(|d| {
                        d.default
                            .as_ref()
                            .and_then(|v| env_disables(&d.name, &v.value))
                    })
                    .collect(),
                _ => continue,
            };
            if !what.is_empty() {
                out.push(cx.finding(
                    &RULE,
                    sv,
                    inst.pos(),
                    format!(
                        "{} in {} turns verification off for every later RUN (and the application): {}",
                        inst.keyword.to_ascii_uppercase(),
                        sv.label(),
                        what.join(", ")
                    ),
                ));
            }
        }
        for run in &sv.runs {
            let mut what: Vec<String> = Vec::new();
            for c in &run.commands {
                for w in command_disables(c) {
                    if !what.contains(&w) {
                        what.push(w);
                    }
                }
            }
            for w in script_disables(&run.script) {
                if !what.contains(&w) {
                    what.push(w);
                }
            }
            if !what.is_empty() {
                out.push(cx.finding(
                    &RULE,
                    sv,
                    run.inst.pos(),
                    format!(
                        "RUN in {} turns verification off: {}",
                        sv.label(),
                        what.join(", ")
                    ),
                ));
            }
        }
    }
}
