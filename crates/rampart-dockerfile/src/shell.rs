//! A small POSIX-shell reader for `RUN` scripts: enough to split a script into simple commands
//! (at `&&`, `||`, `;`, `|`, `&`, newlines, parentheses), unquote their words, and find
//! package installs. It does not evaluate anything.

/// One simple command of a script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SimpleCommand {
    /// Words as written, unquoted.
    pub words: Vec<String>,
    /// Standard input comes from the previous command through `|`.
    pub piped_in: bool,
    /// Standard output goes to the next command through `|`.
    pub piped_out: bool,
}

const KEYWORDS: [&str; 12] = [
    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time", "exec",
];
const WRAPPERS: [&str; 6] = ["sudo", "env", "nohup", "nice", "command", "stdbuf"];

impl SimpleCommand {
    /// The words from the program on: shell keywords, `VAR=value` prefixes and wrappers
    /// (`sudo`, `env`, `nohup`...) with their options skipped.
    pub fn argv(&self) -> &[String] {
        let mut i = 0;
        let mut in_wrapper = false;
        while let Some(w) = self.words.get(i) {
            let base = basename(w);
            if KEYWORDS.contains(&w.as_str())
                || is_assignment(w)
                || (in_wrapper && w.starts_with('-'))
            {
                i += 1;
            } else if WRAPPERS.contains(&base) {
                in_wrapper = true;
                i += 1;
            } else {
                break;
            }
        }
        self.words.get(i..).unwrap_or(&[])
    }

    /// The program's base name (`apt-get`, `pip3`), or `""`.
    pub fn program(&self) -> &str {
        self.argv().first().map_or("", |w| basename(w))
    }

    /// Arguments after the program.
    pub fn args(&self) -> &[String] {
        self.argv().get(1..).unwrap_or(&[])
    }

    /// Whether `flag` is among the arguments (exactly, or as `flag=...`).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.args().iter().any(|a| {
            a == flag
                || a.strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('='))
        })
    }

    /// The words joined by spaces, for messages (shortened).
    pub fn display(&self) -> String {
        let s = self.words.join(" ");
        let max = 80;
        match s.char_indices().nth(max) {
            Some((i, _)) => format!("{}...", s.get(..i).unwrap_or("")),
            None => s,
        }
    }
}

/// The last path component: `/usr/bin/apt-get` → `apt-get`.
pub(crate) fn basename(w: &str) -> &str {
    w.rsplit('/').next().unwrap_or(w)
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Splits a script into simple commands.
pub(crate) fn commands(script: &str) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    let mut cur = SimpleCommand::default();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, cur: &mut SimpleCommand| {
        if *in_word {
            cur.words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    let end_cmd = |cur: &mut SimpleCommand, out: &mut Vec<SimpleCommand>, pipe: bool| {
        let piped_in = pipe;
        if !cur.words.is_empty() {
            cur.piped_out = pipe;
            out.push(std::mem::take(cur));
        }
        cur.piped_in = piped_in;
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('\n') | None => {}
                            Some(n @ ('"' | '\\' | '$' | '`')) => word.push(n),
                            Some(n) => {
                                word.push('\\');
                                word.push(n);
                            }
                        },
                        _ => word.push(q),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(n) => {
                    in_word = true;
                    word.push(n);
                }
            },
            '#' if !in_word => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
                end_cmd(&mut cur, &mut out, false);
            }
            '$' if chars.peek() == Some(&'(') => {
                // Command substitution: keep it in the word, balanced.
                in_word = true;
                word.push('$');
                let mut depth = 0usize;
                for n in chars.by_ref() {
                    word.push(n);
                    match n {
                        '(' => depth += 1,
                        ')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            ' ' | '\t' | '\r' => end_word(&mut word, &mut in_word, &mut cur),
            '\n' | ';' | '(' | ')' => {
                end_word(&mut word, &mut in_word, &mut cur);
                end_cmd(&mut cur, &mut out, false);
            }
            '&' => {
                end_word(&mut word, &mut in_word, &mut cur);
                if chars.peek() == Some(&'&') {
                    chars.next();
                }
                end_cmd(&mut cur, &mut out, false);
            }
            '|' => {
                end_word(&mut word, &mut in_word, &mut cur);
                let pipe = if chars.peek() == Some(&'|') {
                    chars.next();
                    false
                } else {
                    true
                };
                end_cmd(&mut cur, &mut out, pipe);
            }
            '>' | '<' => {
                // Redirections: drop the operator and its target word.
                end_word(&mut word, &mut in_word, &mut cur);
                while matches!(chars.peek(), Some('>' | '<' | '&' | '-')) {
                    chars.next();
                }
                while matches!(chars.peek(), Some(' ' | '\t')) {
                    chars.next();
                }
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || ";&|()".contains(n) {
                        break;
                    }
                    chars.next();
                }
                // A trailing fd number (`2>`) was pushed as a word: drop it.
                if cur
                    .words
                    .last()
                    .is_some_and(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()))
                {
                    cur.words.pop();
                }
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut cur);
    end_cmd(&mut cur, &mut out, false);
    out
}

/// A package installation found in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Install<'a> {
    /// `apt`, `apk`, `rpm` (yum/dnf/microdnf/zypper), `pip`.
    pub manager: &'static str,
    /// Package names, versions stripped.
    pub packages: Vec<&'a str>,
}

/// Options of package managers that take a value.
const VALUE_OPTIONS: [&str; 12] = [
    "-o",
    "-t",
    "-c",
    "--target-release",
    "--virtual",
    "-X",
    "--repository",
    "--arch",
    "-r",
    "--requirement",
    "-c",
    "--root",
];

/// The subcommand (first non-option word) and the words after it.
fn subcommand(args: &[String]) -> Option<(&str, &[String])> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if VALUE_OPTIONS.contains(&a.as_str()) {
            i += 2;
        } else if a.starts_with('-') {
            i += 1;
        } else {
            return Some((a.as_str(), args.get(i + 1..).unwrap_or(&[])));
        }
    }
    None
}

fn operands(rest: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in rest {
        if skip {
            skip = false;
            continue;
        }
        if VALUE_OPTIONS.contains(&a.as_str()) {
            skip = true;
        } else if !a.starts_with('-') && !a.contains('$') && !a.is_empty() {
            out.push(a.as_str());
        }
    }
    out
}

/// The package install this command performs, if any.
pub(crate) fn install(cmd: &SimpleCommand) -> Option<Install<'_>> {
    let prog = cmd.program();
    let args = cmd.args();
    let (manager, verbs): (&'static str, &[&str]) = match prog {
        "apt-get" | "apt" | "aptitude" => ("apt", &["install"]),
        "apk" => ("apk", &["add"]),
        "yum" | "dnf" | "microdnf" | "tdnf" | "zypper" => ("rpm", &["install", "in"]),
        p if is_pip(p) => ("pip", &["install"]),
        p if p.starts_with("python") && args.first().is_some_and(|a| a == "-m") => {
            let (m, rest) = (args.get(1)?, args.get(2..)?);
            if !is_pip(m) {
                return None;
            }
            let (verb, rest) = subcommand(rest)?;
            if verb != "install" {
                return None;
            }
            return Some(Install {
                manager: "pip",
                packages: operands(rest)
                    .into_iter()
                    .map(|p| strip_version("pip", p))
                    .collect(),
            });
        }
        _ => return None,
    };
    let (verb, rest) = subcommand(args)?;
    if !verbs.contains(&verb) {
        return None;
    }
    let packages = operands(rest)
        .into_iter()
        .map(|p| strip_version(manager, p))
        .collect();
    Some(Install { manager, packages })
}

fn is_pip(p: &str) -> bool {
    p == "pip"
        || p.strip_prefix("pip")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn strip_version<'a>(manager: &str, p: &'a str) -> &'a str {
    let cut: &[char] = match manager {
        "apt" => &['=', '/'],
        "apk" => &['=', '~', '>', '<'],
        "pip" => &['=', '~', '>', '<', '!', '[', ';', '@'],
        _ => &[],
    };
    p.split(cut).next().unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progs(s: &str) -> Vec<String> {
        commands(s).iter().map(|c| c.program().to_owned()).collect()
    }

    #[test]
    fn splits_on_operators_and_skips_wrappers() {
        assert_eq!(
            progs(
                "set -eux; DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y curl && rm -rf /x || true"
            ),
            vec!["set", "apt-get", "rm", "true"]
        );
        let c = commands("curl -fsSL https://x.sh | sh -s -- -y");
        assert!(c.first().is_some_and(|c| c.piped_out));
        assert!(c.get(1).is_some_and(|c| c.piped_in && c.program() == "sh"));
        assert_eq!(
            progs("if ! command -v x >/dev/null 2>&1; then echo a; fi"),
            vec!["x", "echo", "fi"]
        );
    }

    #[test]
    fn finds_installs() {
        let cmds = commands(
            "apt-get -q -o Dpkg::Options::=--force-confnew install -y --no-install-recommends gcc=4:12 make/bookworm && python3 -m pip install --no-cache-dir 'flask==3.0'",
        );
        let i: Vec<_> = cmds.iter().filter_map(install).collect();
        assert_eq!(
            i.first().map(|i| i.packages.clone()),
            Some(vec!["gcc", "make"])
        );
        assert_eq!(
            i.get(1).map(|i| (i.manager, i.packages.clone())),
            Some(("pip", vec!["flask"]))
        );
        assert!(
            commands("apk add --no-cache --virtual .deps gcc musl-dev")
                .iter()
                .filter_map(install)
                .any(|i| i.packages == vec!["gcc", "musl-dev"])
        );
    }
}
