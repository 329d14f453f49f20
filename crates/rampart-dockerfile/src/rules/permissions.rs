//! DF016: world-writable permissions (`chmod 777`, `o+w`, `COPY --chmod=777`).

use super::Cx;
use crate::ast::Kind;
use rampart_core::{Finding, Layer, RefKind, Reference, Rule, RuleTarget, Severity};

/// DF016.
pub static RULE: Rule = Rule {
    id: "DF016",
    name: "world-writable-permissions",
    title: "Files are made world-writable",
    severity: Severity::Medium,
    layer: Layer::Build,
    target: RuleTarget::Dockerfile,
    rationale: "`chmod 777` (or `o+w`, `a+rwx`) lets any user in the container rewrite the \
                files: application code, configuration or scripts run by root can be replaced \
                by an unprivileged process, which turns a small foothold into persistence or \
                privilege escalation. Directories with the sticky bit (`1777`, like /tmp) are \
                not reported. Stages that do not ship are reported one step lower (COPY \
                --from keeps the mode).",
    remediation: "Give ownership to the user that needs to write (`COPY --chown=app:app`, \
                  `chown -R app /data`) and use modes like 755/644 (or 775 for a shared group).",
    bad_example: "FROM debian:12\nCOPY app /app\nRUN chmod -R 777 /app\nUSER 10001\n",
    good_example: "FROM debian:12\nCOPY --chown=10001:10001 app /app\nRUN chmod -R 755 /app && chmod 1777 /scratch\nUSER 10001\n",
    references: &[Reference::new(
        RefKind::Docs,
        "Dockerfile reference: COPY --chown --chmod",
        "https://docs.docker.com/reference/dockerfile/#copy---chown---chmod",
    )],
};

/// Whether a chmod mode grants write to others (and is not a sticky-bit directory mode).
pub(crate) fn world_writable(mode: &str) -> bool {
    if !mode.is_empty() && mode.len() <= 4 && mode.chars().all(|c| ('0'..='7').contains(&c)) {
        let digits: Vec<u32> = mode.chars().filter_map(|c| c.to_digit(8)).collect();
        let others = digits.last().copied().unwrap_or(0);
        let sticky = digits.len() == 4 && digits.first().is_some_and(|d| d & 1 == 1);
        return others & 2 != 0 && !sticky;
    }
    let mut ww = false;
    let mut sticky = false;
    for clause in mode.split(',') {
        let who_len = clause
            .find(|c: char| !"ugoa".contains(c))
            .unwrap_or(clause.len());
        let who = clause.get(..who_len).unwrap_or("");
        let rest = clause.get(who_len..).unwrap_or("");
        if !rest.starts_with(['+', '-', '=']) || !rest.chars().all(|c| "+-=rwxXstugo".contains(c)) {
            return false;
        }
        let for_others = who.contains('o') || who.contains('a');
        let mut op = '+';
        for c in rest.chars() {
            match c {
                '+' | '-' | '=' => op = c,
                'w' if for_others && op != '-' => ww = true,
                't' if op != '-' => sticky = true,
                _ => {}
            }
        }
    }
    ww && !sticky
}

/// `--recursive`, `-R`, `-Rf`... (not `-w`, which is a mode).
fn is_option(a: &str) -> bool {
    a.starts_with("--")
        || a.strip_prefix('-')
            .is_some_and(|r| !r.is_empty() && r.chars().all(|ch| "RfvHLPc".contains(ch)))
}

pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for sv in &cx.stages {
        for run in &sv.runs {
            for c in &run.commands {
                if c.program() != "chmod" {
                    continue;
                }
                let mut operands = c.args().iter().filter(|a| !is_option(a));
                let Some(mode) = operands.next() else {
                    continue;
                };
                if world_writable(mode) {
                    let targets: Vec<&str> = operands.map(String::as_str).collect();
                    out.push(cx.staged_finding(
                        &RULE,
                        sv,
                        run.inst.pos(),
                        format!(
                            "`{}` in {} makes {} world-writable",
                            c.display(),
                            sv.label(),
                            if targets.is_empty() {
                                "files".to_owned()
                            } else {
                                targets.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        for inst in sv.instructions {
            if !matches!(inst.kind, Kind::Copy(_) | Kind::Add(_)) {
                continue;
            }
            if let Some(mode) = inst.flag_value("chmod") {
                if world_writable(mode) {
                    out.push(cx.staged_finding(
                        &RULE,
                        sv,
                        inst.pos(),
                        format!(
                            "{} --chmod={mode} in {} makes the copied files world-writable",
                            inst.keyword.to_ascii_uppercase(),
                            sv.label()
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::world_writable;

    #[test]
    fn modes() {
        for m in [
            "777",
            "0777",
            "666",
            "o+w",
            "a+rwx",
            "go+w",
            "u=rwx,o=rwx",
            "0757",
        ] {
            assert!(world_writable(m), "{m}");
        }
        for m in [
            "755", "1777", "+x", "u+w", "o-w", "a+rwxt", "644", "g+w", "775",
        ] {
            assert!(!world_writable(m), "{m}");
        }
    }
}
