//! DF019: a downloaded script is piped straight into a shell.

use super::Cx;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};
use regex::Regex;
use std::sync::LazyLock;

/// DF019.
pub static RULE: Rule = Rule {
    id: "DF019",
    name: "pipe-to-shell",
    title: "A downloaded script is piped into a shell",
    severity: Severity::Medium,
    layer: Layer::SupplyChain,
    target: RuleTarget::Dockerfile,
    rationale: "`curl https://... | sh` runs whatever the server sends, unverified, as root in \
                the build: a compromised host, CDN or DNS answer executes arbitrary code, and \
                the script can change between builds without trace. Builder stages are not \
                spared: what runs there shapes the artefacts that ship.",
    remediation: "Download to a file, verify a pinned checksum or signature, then run it: \
                  `curl -fsSLo install.sh URL && echo \"<sha256>  install.sh\" | sha256sum -c - \
                  && sh install.sh`; better, install a packaged, signed release.",
    bad_example: "FROM debian:12\nRUN curl -fsSL https://example.com/install.sh | sh\nUSER 10001\n",
    good_example: "FROM debian:12\nRUN curl -fsSLo /tmp/install.sh https://example.com/install.sh && echo \"0d8498a0e9e6a60011df39aab78534cfe940785e7c59d19dfae1eb53ea59babe  /tmp/install.sh\" | sha256sum -c - && sh /tmp/install.sh\nUSER 10001\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Building best practices: using pipes",
        "https://docs.docker.com/build/building/best-practices/#using-pipes",
    )],
};

const FETCHERS: [&str; 3] = ["curl", "wget", "fetch"];
const INTERPRETERS: [&str; 12] = [
    "sh", "bash", "zsh", "ash", "dash", "ksh", "python", "python3", "perl", "ruby", "node", "php",
];

/// `sh -c "$(curl ...)"` and `bash <(curl ...)`.
static SUBSTITUTED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"\b(?:ba|z|da|k)?sh\b[^|;&\n]*(?:\$\(|<\(|`)\s*(?:curl|wget)\b"#).ok()
});

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for run in &sv.runs {
            let mut fetcher: Option<String> = None;
            let mut found: Option<String> = None;
            for c in &run.commands {
                if !c.piped_in {
                    fetcher = None;
                }
                let prog = c.program();
                if c.piped_in && fetcher.is_some() && INTERPRETERS.contains(&prog) {
                    found = Some(format!(
                        "{} | {}",
                        fetcher.clone().unwrap_or_default(),
                        c.display()
                    ));
                    break;
                }
                if FETCHERS.contains(&prog) && c.piped_out {
                    fetcher = Some(c.display());
                }
            }
            if found.is_none() {
                if let Some(m) = SUBSTITUTED.as_ref().and_then(|re| re.find(&run.script)) {
                    found = Some(m.as_str().to_owned());
                }
            }
            if let Some(cmd) = found {
                out.push(cx.finding(
                    &RULE,
                    sv,
                    run.inst.pos(),
                    format!(
                        "RUN in {} executes a download unverified: `{}`",
                        sv.label(),
                        super::short(&cmd)
                    ),
                ));
            }
        }
    }
}
