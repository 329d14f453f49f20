//! Everyday commands users bring from other tools: `rampart version`, `rampart completions`,
//! `rampart man` (all generated from the clap definitions).

use crate::cli::{Cli, CompletionsArgs, ManArgs, VersionArgs};
use crate::write_out;
use anyhow::{Context, Result};
use clap::CommandFactory;

/// The git commit the binary was built from (build.rs), if it was built from a checkout.
pub const GIT_COMMIT: Option<&str> = option_env!("RAMPART_GIT_COMMIT");

/// `rampart version`: the version, the commit, and the advisory database's path and age.
pub fn version(args: &VersionArgs) -> Result<u8> {
    let mut text = format!("rampart {}", env!("CARGO_PKG_VERSION"));
    match GIT_COMMIT {
        Some(c) => text.push_str(&format!(" (commit {c})\n")),
        None => text.push_str(" (commit unknown: not built from a git checkout)\n"),
    }
    let path = crate::vulns::db_path(args.location.db.as_deref())?;
    text.push_str(&database_line(&path, jiff::Timestamp::now()));
    text.push('\n');
    write_out(None, &text)?;
    Ok(0)
}

/// `advisory database: PATH, built TIME (AGE ago)`, or why there is none.
fn database_line(path: &std::path::Path, now: jiff::Timestamp) -> String {
    if !path.exists() {
        return format!(
            "advisory database: no database at {} (run `rampart db update` or `rampart db import`)",
            path.display()
        );
    }
    let status = rampart_vuln::store::Database::open(path).and_then(|db| db.status());
    match status {
        Err(e) => format!("advisory database: {} is not usable: {e}", path.display()),
        Ok(s) => {
            let built = s.built_at.as_deref().unwrap_or("unknown");
            let age = s
                .built_at
                .as_deref()
                .and_then(|b| b.parse::<jiff::Timestamp>().ok())
                .map(|b| format!(" ({} old)", age(now.duration_since(b))))
                .unwrap_or_default();
            format!(
                "advisory database: {}, built {built}{age}, {} advisories",
                path.display(),
                s.advisories
            )
        }
    }
}

/// A duration in the largest whole unit: `3 days`, `5 hours`, `12 minutes`.
fn age(d: jiff::SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    let (n, unit) = match secs {
        s if s >= 86_400 => (s / 86_400, "day"),
        s if s >= 3_600 => (s / 3_600, "hour"),
        s if s >= 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `rampart completions SHELL`.
pub fn completions(args: &CompletionsArgs) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "rampart", &mut out);
    write_out(None, &String::from_utf8_lossy(&out))?;
    Ok(0)
}

/// `rampart man`: the main page on standard output, or every command's page into a directory.
pub fn man(args: &ManArgs) -> Result<u8> {
    let cmd = Cli::command();
    match &args.out_dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            write_out(None, &String::from_utf8_lossy(&out))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
        }
    }
    Ok(0)
}

/// The `rampart.toml` of a scan: for each scanned path, the first found walking up from it to
/// the repository root (standard input and no path: the current directory). One configuration
/// applies to a scan: paths whose nearest files differ (or some with one, some without) are a
/// usage error naming them, rather than one path's settings silently applied to the others.
pub fn find_config(paths: &[std::path::PathBuf]) -> Result<Option<std::path::PathBuf>> {
    let here = std::path::PathBuf::from(".");
    let starts: Vec<&std::path::Path> = if paths.is_empty() {
        vec![here.as_path()]
    } else {
        paths
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    here.as_path()
                } else {
                    p.as_path()
                }
            })
            .collect()
    };
    let found: Vec<(&std::path::Path, Option<std::path::PathBuf>)> = starts
        .iter()
        .map(|p| (*p, rampart_scan::sources::find_config(p)))
        .collect();
    let key = |c: &Option<std::path::PathBuf>| {
        c.as_deref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned()))
    };
    let Some((first_path, first)) = found.first() else {
        return Ok(None);
    };
    if let Some((path, other)) = found.iter().find(|(_, c)| key(c) != key(first)) {
        let name = |p: &std::path::Path, c: &Option<std::path::PathBuf>| match c {
            Some(c) => format!("{} uses {}", p.display(), c.display()),
            None => format!("{} has no {}", p.display(), rampart_scan::CONFIG_FILE),
        };
        anyhow::bail!(
            "the scanned paths have different configurations ({}, {}): one {} applies to a \
             scan; pass --config FILE or --no-config, or scan them separately",
            name(first_path, first),
            name(path, other),
            rampart_scan::CONFIG_FILE
        );
    }
    Ok(first.clone())
}

/// Applies the habit flags of `rampart scan` to the options: rule selection (flags after the
/// configuration: `--rule` replaces `rules`, `--skip-rule` adds to `skip-rules`), standard
/// input, unrendered charts.
pub fn scan_options(
    args: &crate::cli::ScanArgs,
    opts: &mut rampart_scan::ScanOptions,
) -> Result<()> {
    let h = &args.habits;
    let catalog = rampart_scan::catalog();
    let parse = |flag: &str, list: &[String]| -> Result<Vec<rampart_scan::select::RulePattern>> {
        list.iter()
            .map(|t| {
                rampart_scan::select::RulePattern::parse(t, &catalog)
                    .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
            })
            .collect()
    };
    if !h.rules.is_empty() {
        opts.rules.only = parse("--rule", &h.rules)?;
    }
    opts.rules.skip.extend(parse("--skip-rule", &h.skip_rules)?);
    opts.allow_unrendered = h.allow_unrendered;
    let stdin_count = args.paths.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        anyhow::bail!("`-` (standard input) can be named once");
    }
    if stdin_count == 1 {
        use std::io::Read;
        let limit = rampart_scan::DEFAULT_MAX_FILE_SIZE;
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        if bytes.len() as u64 > limit {
            anyhow::bail!(
                "standard input is over the {} MiB limit",
                limit / (1024 * 1024)
            );
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "standard input is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })?;
        opts.stdin = Some(rampart_scan::Stdin {
            text,
            dockerfile: h.stdin_kind == crate::cli::StdinKind::Dockerfile,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_whole_units() {
        assert_eq!(
            age(jiff::SignedDuration::from_secs(3 * 86_400 + 5)),
            "3 days"
        );
        assert_eq!(age(jiff::SignedDuration::from_secs(3_600)), "1 hour");
        assert_eq!(age(jiff::SignedDuration::from_secs(-5)), "0 seconds");
    }
}
