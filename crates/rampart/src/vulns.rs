//! `rampart db`, `rampart inventory`, and how `rampart scan` finds its advisory database.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use rampart_core::Severity;
use rampart_vuln::import::{Imported, import_path};
use rampart_vuln::inventory::{Inventory, Query};
use rampart_vuln::store::{SourceInfo, Status, modify};
use rampart_vuln::update::{UpdateOptions, update};
use rampart_vuln::{Database, Skips};

use crate::cli::{DbArgs, DbCommand, InventoryArgs, InventoryCommand, ListFormat};
use crate::{EXIT_ERROR, write_out};

/// rampart's cache directory: `$RAMPART_CACHE_DIR`, else `$XDG_CACHE_HOME/rampart`, else
/// `~/.cache/rampart`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("RAMPART_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("rampart"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache").join("rampart")),
        None => bail!("no cache directory: set RAMPART_CACHE_DIR (or HOME), or pass --db"),
    }
}

/// The advisory database file: the flag, else the cache directory's `osv.db`.
pub fn db_path(flag: Option<&Path>) -> Result<PathBuf> {
    match flag {
        Some(p) => Ok(p.to_owned()),
        None => Ok(cache_dir()?.join("osv.db")),
    }
}

/// The inventory file: the flag, else the cache directory's `inventory.db`.
pub fn inventory_path(flag: Option<&Path>) -> Result<PathBuf> {
    match flag {
        Some(p) => Ok(p.to_owned()),
        None => Ok(cache_dir()?.join("inventory.db")),
    }
}

/// `rampart db ...`.
pub fn db(args: &DbArgs) -> Result<u8> {
    let path = db_path(args.location.db.as_deref())?;
    match &args.command {
        DbCommand::Update {
            source,
            ecosystems,
            ca_file,
        } => {
            let mut opts = UpdateOptions::default();
            if let Some(s) = source.clone().or_else(|| {
                std::env::var("RAMPART_DB_SOURCE")
                    .ok()
                    .filter(|s| !s.is_empty())
            }) {
                opts.source = s;
            }
            if !ecosystems.is_empty() {
                opts.ecosystems = ecosystems.clone();
            }
            opts.ca_file = ca_file.clone();
            // A spinner on a terminal; plain lines in CI logs and pipes.
            let spinner = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar
            });
            let progress = |m: &str| match &spinner {
                Some(bar) => bar.set_message(m.to_owned()),
                None => eprintln!("rampart: {m}"),
            };
            let updates = update(&path, &opts, &progress);
            if let Some(bar) = &spinner {
                bar.finish_and_clear();
            }
            let updates = updates?;
            let mut broken = false;
            for u in &updates {
                eprintln!(
                    "rampart: {}: {} bytes, {} records stored of {} read{}",
                    u.ecosystem,
                    u.bytes,
                    u.imported.stored,
                    u.imported.read,
                    skipped_note(&u.imported.skips)
                );
                broken |= u.imported.had_broken_input();
            }
            eprintln!("rampart: database {} updated", path.display());
            print_skips(updates.iter().map(|u| &u.imported.skips));
            Ok(if broken { EXIT_ERROR } else { 0 })
        }
        DbCommand::Import { paths } => {
            let imported: Vec<(String, Imported)> = modify(&path, |w| {
                let mut out = Vec::new();
                for p in paths {
                    let name = std::fs::canonicalize(p)
                        .unwrap_or_else(|_| p.clone())
                        .display()
                        .to_string();
                    let imported = import_path(w, &name, p)?;
                    w.set_source(&SourceInfo {
                        name: name.clone(),
                        location: p.display().to_string(),
                        imported_at: jiff::Timestamp::now()
                            .strftime("%Y-%m-%dT%H:%M:%SZ")
                            .to_string(),
                        records: imported.stored,
                        skipped: imported.skips.counts.clone(),
                    })?;
                    out.push((p.display().to_string(), imported));
                }
                Ok(out)
            })
            .with_context(|| format!("importing into {}", path.display()))?;
            let mut broken = false;
            for (p, i) in &imported {
                eprintln!(
                    "rampart: {p}: {} records stored of {} read{}",
                    i.stored,
                    i.read,
                    skipped_note(&i.skips)
                );
                broken |= i.had_broken_input();
            }
            print_skips(imported.iter().map(|(_, i)| &i.skips));
            eprintln!("rampart: database {} updated", path.display());
            Ok(if broken { EXIT_ERROR } else { 0 })
        }
        DbCommand::Status { format } => {
            let db = Database::open(&path)?;
            let status = db.status()?;
            let text = match format {
                ListFormat::Json => serde_json::to_string_pretty(&status)? + "\n",
                ListFormat::Table => status_table(&status),
            };
            write_out(None, &text)?;
            Ok(0)
        }
    }
}

fn skipped_note(s: &Skips) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(", {} skipped", s.total())
    }
}

/// What was skipped and why, with the first examples, on standard error.
fn print_skips<'a>(all: impl Iterator<Item = &'a Skips>) {
    let mut merged = Skips::default();
    for s in all {
        merged.merge(s.clone());
    }
    if merged.is_empty() {
        return;
    }
    eprintln!("rampart: skipped:");
    for (reason, n) in &merged.counts {
        eprintln!("  {n:>7}  {reason}");
    }
    for ex in merged.examples.iter().take(10) {
        eprintln!("  e.g. {}: {}: {}", ex.file, ex.reason, ex.detail);
    }
}

fn status_table(s: &Status) -> String {
    let mut out = format!(
        "database   {}\nsize       {:.1} MiB\nbuilt      {}\nadvisories {} ({} withdrawn)\n\n",
        s.path,
        s.size as f64 / (1024.0 * 1024.0),
        s.built_at.as_deref().unwrap_or("unknown"),
        s.advisories,
        s.withdrawn
    );
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["ecosystem", "affected entries"]);
    for (e, n) in &s.ecosystems {
        t.add_row([e.clone(), n.to_string()]);
    }
    out.push_str(&t.to_string());
    out.push_str("\n\n");
    // What a scan can check: packages of other ecosystems and releases are "not checked".
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        if s.coverage_recorded {
            "covers (OSV ecosystem)"
        } else {
            "covers (OSV ecosystem, derived: older file)"
        },
        "advisories",
    ]);
    for (e, n) in &s.coverage {
        t.add_row([e.clone(), n.to_string()]);
    }
    out.push_str(&t.to_string());
    out.push_str("\n\n");
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["source", "imported", "records", "skipped"]);
    for src in &s.sources {
        let skipped = src
            .skipped
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        t.add_row([
            src.location.clone(),
            src.imported_at.clone(),
            src.records.to_string(),
            skipped,
        ]);
    }
    out.push_str(&t.to_string());
    out.push('\n');
    out
}

/// Where `rampart inventory` reads: the local file, or the fleet's shared store.
enum Backend {
    Local(Inventory, PathBuf),
    Fleet(Box<rampart_fleet::Store>),
}

impl Backend {
    /// Where the rescan's images come from, as the history records it.
    fn origin(&self) -> String {
        match self {
            Self::Local(_, path) => path.display().to_string(),
            Self::Fleet(s) => s.location(),
        }
    }

    fn open(flag: Option<&Path>) -> Result<Self> {
        if let Some(url) = flag
            .and_then(Path::to_str)
            .filter(|l| rampart_fleet::store::is_postgres(l))
        {
            return Ok(Self::Fleet(Box::new(rampart_fleet::Store::open(url)?)));
        }
        let path = inventory_path(flag)?;
        if !path.is_file() {
            bail!(
                "no inventory at {}: `rampart scan` records every image it checks for vulnerabilities",
                path.display()
            );
        }
        Ok(Self::Local(Inventory::open(&path)?, path))
    }

    fn find(&mut self, q: &Query) -> Result<Vec<rampart_vuln::inventory::Found>> {
        Ok(match self {
            Self::Local(i, _) => i.find(q)?,
            Self::Fleet(s) => rampart_fleet::inventory::find(s, q)?,
        })
    }

    fn images(&mut self) -> Result<Vec<rampart_vuln::inventory::ImageEntry>> {
        Ok(match self {
            Self::Local(i, _) => i.images()?,
            Self::Fleet(s) => rampart_fleet::inventory::images(s)?,
        })
    }

    fn rescan(&mut self, db: &Database) -> Result<Vec<rampart_vuln::inventory::Rescanned>> {
        Ok(match self {
            Self::Local(i, _) => i.rescan(db)?,
            Self::Fleet(s) => rampart_fleet::inventory::rescan(s, db)?,
        })
    }
}

/// `rampart inventory ...`.
pub fn inventory(args: &InventoryArgs) -> Result<u8> {
    let mut inv = Backend::open(args.inventory.as_deref())?;
    match &args.command {
        InventoryCommand::Find { query, format } => {
            let q = Query::parse(query)?;
            let found = inv.find(&q)?;
            let text = match format {
                ListFormat::Json => serde_json::to_string_pretty(&found)? + "\n",
                ListFormat::Table => {
                    let mut t = Table::new();
                    t.load_preset(UTF8_FULL_CONDENSED);
                    t.set_header(["image", "package", "version", "where"]);
                    for f in &found {
                        let at = f
                            .locations
                            .first()
                            .map_or(String::new(), |l| l.path.clone());
                        t.add_row([
                            format!("{}\n{}", f.image.name, f.image.id),
                            f.name.clone(),
                            f.version.clone(),
                            at,
                        ]);
                    }
                    format!("{t}\n{} match(es) in {} image(s)\n", found.len(), {
                        let mut ids: Vec<&str> =
                            found.iter().map(|f| f.image.id.as_str()).collect();
                        ids.sort_unstable();
                        ids.dedup();
                        ids.len()
                    })
                }
            };
            write_out(None, &text)?;
            Ok(0)
        }
        InventoryCommand::List { format } => {
            let images = inv.images()?;
            let text = match format {
                ListFormat::Json => serde_json::to_string_pretty(&images)? + "\n",
                ListFormat::Table => {
                    let mut t = Table::new();
                    t.load_preset(UTF8_FULL_CONDENSED);
                    t.set_header(["image", "id", "recorded"]);
                    for i in &images {
                        t.add_row([i.name.clone(), i.id.clone(), i.recorded_at.clone()]);
                    }
                    format!("{t}\n")
                }
            };
            write_out(None, &text)?;
            Ok(0)
        }
        InventoryCommand::Rescan {
            format,
            fail_on,
            history,
        } => {
            let threshold = fail_on
                .as_deref()
                .filter(|s| *s != "none")
                .map(|s| s.parse::<Severity>().map_err(anyhow::Error::msg))
                .transpose()
                .context("--fail-on")?;
            let db = Database::open(&db_path(args.location.db.as_deref())?)?;
            if db.is_empty()? {
                bail!(
                    "the vulnerability database {} holds no advisories",
                    db.path().display()
                );
            }
            let started = std::time::Instant::now();
            let results = inv.rescan(&db)?;
            let elapsed = started.elapsed();
            // each image carries the rescan's time: the history keys a rescan by image and
            // time, so this output saved and imported later counts once with its direct record
            let rescanned_at = jiff::Timestamp::now();
            // written straight from the results (a rescan after a large advisory import holds
            // a million new findings: no JSON tree in between)
            #[derive(serde::Serialize)]
            struct Saved<'a> {
                #[serde(flatten)]
                result: &'a rampart_vuln::inventory::Rescanned,
                rescanned_at: &'a str,
            }
            let at = rescanned_at.to_string();
            let saved: Vec<Saved<'_>> = results
                .iter()
                .map(|result| Saved {
                    result,
                    rescanned_at: &at,
                })
                .collect();
            // as text only when the history records it; else streamed out
            let text_for_history = match &history.location {
                Some(_) => serde_json::to_string_pretty(&saved)? + "\n",
                None => String::new(),
            };
            let mut unchecked: std::collections::BTreeMap<&str, usize> = Default::default();
            for r in &results {
                for (e, n) in &r.unchecked_packages {
                    *unchecked.entry(e.as_str()).or_default() += n;
                }
            }
            for (e, n) in &unchecked {
                eprintln!(
                    "rampart: {e}: {n} package(s) not checked, no {e} advisories in the database \
                     (their earlier findings are kept, not called fixed)"
                );
            }
            match format {
                ListFormat::Json if history.location.is_some() => {
                    write_out(None, &text_for_history)?;
                }
                ListFormat::Json => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    serde_json::to_writer_pretty(&mut out, &saved)?;
                    std::io::Write::write_all(&mut out, b"\n")?;
                    std::io::Write::flush(&mut out)?;
                }
                ListFormat::Table => {
                    let mut t = Table::new();
                    t.load_preset(UTF8_FULL_CONDENSED);
                    t.set_header(["image", "vulnerabilities", "new", "fixed", "not checked"]);
                    for r in &results {
                        let new = r
                            .new
                            .iter()
                            .map(|v| {
                                format!(
                                    "{} {} {} {}",
                                    v.severity, v.id, v.package.name, v.package.version
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n");
                        let fixed = r
                            .fixed
                            .iter()
                            .map(|(id, purl)| format!("{id} {purl}"))
                            .collect::<Vec<_>>()
                            .join("\n");
                        let mut not_checked: Vec<String> = r
                            .unchecked_packages
                            .iter()
                            .map(|(e, n)| format!("{e}: {n} package(s)"))
                            .collect();
                        not_checked.extend(
                            r.not_checked
                                .iter()
                                .map(|(id, purl)| format!("{id} {purl} (kept)")),
                        );
                        t.add_row([
                            r.image.name.clone(),
                            r.total.to_string(),
                            new,
                            fixed,
                            not_checked.join("\n"),
                        ]);
                    }
                    write_out(
                        None,
                        &format!(
                            "{t}\n{} image(s) re-matched in {:.2}s\n",
                            results.len(),
                            elapsed.as_secs_f64()
                        ),
                    )?;
                }
            }
            // the history (docs/history.md): a rescan asked to be recorded and not recorded is
            // an error
            if let Some(location) = &history.location {
                let recorded = rampart_history::Store::open(location).and_then(|mut store| {
                    rampart_history::rescan::record_rescan(
                        &mut store,
                        &text_for_history,
                        &inv.origin(),
                        rescanned_at.as_millisecond(),
                    )
                });
                match recorded {
                    Ok(i) => eprintln!(
                        "rampart: recorded in {}: run {}: rescan of {} image(s) ({} new vulnerabilities)",
                        rampart_history::redacted(location),
                        i.run,
                        i.images,
                        i.new
                    ),
                    Err(e) => {
                        eprintln!(
                            "rampart: the rescan was not recorded in the history: {e} (exit {})",
                            crate::EXIT_ERROR
                        );
                        return Ok(crate::EXIT_ERROR);
                    }
                }
            }
            let failing = threshold.map_or(0, |t| {
                results
                    .iter()
                    .flat_map(|r| &r.new)
                    .filter(|v| v.severity >= t)
                    .count()
            });
            Ok(if failing > 0 { 1 } else { 0 })
        }
    }
}

/// How `scan` checks vulnerabilities, from the flags and `[vulnerabilities]`; the temporary
/// directory of a database built from configured advisories lives as long as the scan.
pub fn scan_setup(
    args: &crate::cli::ScanArgs,
    config: &rampart_scan::config::VulnConfig,
    base: &Path,
) -> Result<(
    Option<rampart_scan::vulns::VulnScan>,
    Option<tempfile::TempDir>,
)> {
    if args.no_vulns || config.enabled == Some(false) {
        return Ok((None, None));
    }
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            base.join(p)
        }
    };
    let mut temp = None;
    let db = if let Some(flag) = &args.location.db {
        flag.clone()
    } else if !config.advisories.is_empty() {
        let dir = tempfile::tempdir().context("temporary advisory database")?;
        let file = dir.path().join("osv.db");
        let imported = modify(&file, |w| {
            let mut all = Vec::new();
            for a in &config.advisories {
                let p = resolve(a);
                all.push((p.display().to_string(), import_path(w, a, &p)?));
            }
            Ok(all)
        })?;
        for (p, i) in &imported {
            if i.had_broken_input() {
                print_skips(std::iter::once(&i.skips));
                bail!("advisories {p} (rampart.toml [vulnerabilities]) hold broken input");
            }
        }
        temp = Some(dir);
        file
    } else if let Some(d) = &config.db {
        resolve(d)
    } else {
        db_path(None)?
    };
    tracing::info!(
        db = %db.display(),
        imported_at_scan_time = temp.is_some(),
        "advisory database"
    );
    let mut vex_files: Vec<PathBuf> = config.vex.iter().map(|v| resolve(v)).collect();
    vex_files.extend(args.vex.iter().cloned());
    let vex = rampart_vuln::vex::Vex::load(&vex_files)?;
    let required = if config.allow_partial_database == Some(true) {
        rampart_scan::vulns::Required::Nothing
    } else if !args.vuln_ecosystems.is_empty() {
        rampart_scan::vulns::Required::Only(
            args.vuln_ecosystems
                .iter()
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect(),
        )
    } else if !config.ecosystems.is_empty() {
        rampart_scan::vulns::Required::Only(config.ecosystems.clone())
    } else {
        rampart_scan::vulns::Required::All
    };
    let unknown = required.unknown_entries();
    if !unknown.is_empty() {
        bail!(
            "--vuln-ecosystems / ecosystems: unknown ecosystem(s) {}: expected OSV ecosystems \
             (go, pypi, npm, crates.io, maven, debian, Debian:12, ubuntu, alpine...) or purl types \
             (golang, deb, apk, rpm, cargo, gem, composer)",
            unknown.join(", ")
        );
    }
    let inventory = if args.no_inventory {
        None
    } else {
        Some(inventory_path(None)?)
    };
    Ok((
        Some(rampart_scan::vulns::VulnScan {
            db,
            inventory,
            options: rampart_vuln::assess::Options {
                vex,
                ignore_unfixed: args.ignore_unfixed || config.ignore_unfixed == Some(true),
            },
            temporary: temp.is_some(),
            required,
        }),
        temp,
    ))
}
