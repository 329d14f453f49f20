//! How a daemon is started: the arguments of its running process (`/proc/PID/cmdline`), or
//! else of its systemd unit (`ExecStart=` with the unit's drop-ins, `Environment=` and
//! `EnvironmentFile=` expanded), and the package database (`/var/lib/dpkg/status`).

use std::collections::BTreeMap;

use crate::root::Root;

/// A daemon's command line and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// argv, the program first
    pub args: Vec<String>,
    /// `process 1234`, or the unit file and its drop-ins
    pub from: String,
    /// the process's user id, when read from a process
    pub uid: Option<u32>,
    /// the process's working directory (relative paths in its flags are resolved there)
    pub cwd: String,
}

/// The running processes whose program's file name is `name`, in pid order.
pub fn processes(root: &Root, name: &str) -> Vec<Started> {
    let mut pids: Vec<u32> = root
        .list("/proc")
        .iter()
        .filter_map(|e| e.parse().ok())
        .collect();
    pids.sort_unstable();
    let mut out = Vec::new();
    for pid in pids {
        let Ok(Some(raw)) = root.read(&format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split('\0')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        let Some(program) = args.first() else {
            continue;
        };
        if program.rsplit('/').next() != Some(name) {
            continue;
        }
        let uid = root
            .read(&format!("/proc/{pid}/status"))
            .ok()
            .flatten()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|v| v.split_whitespace().next().and_then(|u| u.parse().ok()))
            });
        let cwd = root
            .read_link(&format!("/proc/{pid}/cwd"))
            .unwrap_or_else(|| "/".to_owned());
        out.push(Started {
            args,
            from: format!("process {pid}"),
            uid,
            cwd,
        });
    }
    out
}

/// The directories systemd reads units from, most important first.
const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The unit file of `unit` (`kubelet.service`), as systemd picks it.
pub fn unit_file(root: &Root, unit: &str) -> Option<String> {
    UNIT_DIRS
        .iter()
        .map(|d| format!("{d}/{unit}"))
        .find(|p| root.exists(p))
}

/// The unit's command line: its `ExecStart=` after the drop-ins (an empty `ExecStart=` resets
/// it), with `$VAR` and `${VAR}` from `Environment=` and `EnvironmentFile=` (a `-` prefix: the
/// file may be missing). Problems go to `errors` as `(file, line, message)`.
pub fn unit_command(
    root: &Root,
    unit: &str,
    errors: &mut Vec<(String, u32, String)>,
) -> Option<Started> {
    let main = unit_file(root, unit)?;
    let mut files = vec![main];
    let mut dropins: Vec<String> = Vec::new();
    for d in UNIT_DIRS {
        let dir = format!("{d}/{unit}.d");
        for f in root.list(&dir) {
            if f.ends_with(".conf") && !dropins.iter().any(|x| x.ends_with(&format!("/{f}"))) {
                dropins.push(format!("{dir}/{f}"));
            }
        }
    }
    // drop-ins apply in file-name order across directories
    dropins.sort_by(|a, b| a.rsplit('/').next().cmp(&b.rsplit('/').next()));
    files.extend(dropins);
    let mut exec: Option<String> = None;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut cwd = "/".to_owned();
    for f in &files {
        let Ok(Some(text)) = root.read(f) else {
            errors.push((f.clone(), 0, "cannot be read".into()));
            continue;
        };
        let mut section = String::new();
        let mut lines = text.lines().enumerate().peekable();
        while let Some((i, line)) = lines.next() {
            let mut line = line.trim().to_owned();
            // continuation lines
            while line.ends_with('\\') {
                line.pop();
                match lines.next() {
                    Some((_, next)) => {
                        line.push(' ');
                        line.push_str(next.trim());
                    }
                    None => break,
                }
            }
            if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
                continue;
            }
            if line.starts_with('[') {
                section = line.clone();
                continue;
            }
            if section != "[Service]" {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                errors.push((
                    f.clone(),
                    i as u32 + 1,
                    format!("not `key=value`: {line:?}"),
                ));
                continue;
            };
            let v = v.trim();
            match k.trim() {
                "ExecStart" if v.is_empty() => exec = None,
                "ExecStart" => {
                    exec = Some(v.trim_start_matches(['-', '@', '+', '!', ':']).to_owned())
                }
                "Environment" => {
                    for (name, value) in env_words(v) {
                        env.insert(name, value);
                    }
                }
                "EnvironmentFile" => {
                    let (optional, path) = match v.strip_prefix('-') {
                        Some(p) => (true, p),
                        None => (false, v),
                    };
                    match root.read(path) {
                        Ok(Some(t)) => {
                            for l in t.lines() {
                                let l = l.trim();
                                if l.starts_with('#') || l.is_empty() {
                                    continue;
                                }
                                if let Some((n, val)) = l.split_once('=') {
                                    env.insert(n.trim().to_owned(), unquote(val.trim()));
                                }
                            }
                        }
                        Ok(None) if optional => {}
                        Ok(None) => errors.push((
                            f.clone(),
                            i as u32 + 1,
                            format!("EnvironmentFile {path} does not exist"),
                        )),
                        Err(e) => errors.push((path.to_owned(), 0, e.message)),
                    }
                }
                "WorkingDirectory" => cwd = v.trim_start_matches('-').to_owned(),
                _ => {}
            }
        }
    }
    let exec = exec?;
    let expanded = expand(&exec, &env);
    Some(Started {
        args: split_words(&expanded),
        from: files.join(" + "),
        uid: None,
        cwd,
    })
}

/// `A=1 "B=two words"` as pairs.
fn env_words(v: &str) -> Vec<(String, String)> {
    split_words(v)
        .into_iter()
        .filter_map(|w| w.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect()
}

fn unquote(v: &str) -> String {
    let t = v.trim();
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        t.get(1..t.len() - 1).unwrap_or("").to_owned()
    } else {
        t.to_owned()
    }
}

/// `$VAR` and `${VAR}` replaced (systemd splits an unbraced `$VAR` into words; here the words
/// are split afterwards, which gives the same argv for flag lists).
fn expand(s: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                name.push(n);
                chars.next();
            } else {
                break;
            }
        }
        if braced && chars.peek() == Some(&'}') {
            chars.next();
        }
        if name.is_empty() {
            out.push('$');
        } else if let Some(v) = env.get(&name) {
            out.push_str(v);
        }
    }
    out
}

/// Shell-like words: whitespace-separated, with `"..."` and `'...'` quoting.
pub fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Installed packages from the Debian package database: name → version, read by the SBOM's
/// dpkg cataloger (the same reading `rampart sbom` gives an image). An unreadable or invalid
/// database gives no package: the runtimes are then looked for as binaries.
pub fn dpkg_packages(root: &Root) -> BTreeMap<String, String> {
    let path = "/var/lib/dpkg/status";
    let Ok(Some(text)) = root.read(path) else {
        return BTreeMap::new();
    };
    rampart_sbom::catalog_file(
        path,
        text.as_bytes(),
        &rampart_sbom::CatalogContext::default(),
    )
    .into_iter()
    .filter_map(|(_, r)| r.ok())
    .flatten()
    .map(|p| (p.name, p.version))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_expansion() {
        let env = BTreeMap::from([
            ("A".to_owned(), "--x=1 --y".to_owned()),
            ("B".to_owned(), "two".to_owned()),
        ]);
        assert_eq!(
            split_words(&expand("/bin/k $A ${B} \"c d\" $NONE", &env)),
            ["/bin/k", "--x=1", "--y", "two", "c d"]
        );
        assert_eq!(
            env_words("X=1 \"Y=a b\""),
            [("X".into(), "1".into()), ("Y".into(), "a b".into())]
        );
    }
}
