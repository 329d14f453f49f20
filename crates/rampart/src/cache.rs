//! `rampart cache`: what the layer cache holds, and purging it (docs/layer-cache.md).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use rampart_layercache::LayerCache;

use crate::cli::ListFormat;

/// `rampart cache`.
#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
    /// The layer cache: an SQLite file or a postgres:// URL (default: layers.db in the cache
    /// directory, as for `rampart scan`).
    #[arg(
        long,
        value_name = "LOCATION",
        env = "RAMPART_LAYER_CACHE",
        global = true
    )]
    pub layer_cache: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// The layers recorded and their bytes, per analysis version (the current ones marked).
    Info {
        #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Remove the records made by other versions of rampart; with --all, every record; with
    /// --max-size, also the least recently used ones until the cache holds at most SIZE.
    Purge {
        /// Remove every record.
        #[arg(long)]
        all: bool,
        /// The most the records may take (bytes, or with a K, M, G or T suffix: 500M, 2G).
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
    },
}

/// `500M`, `2G`, `1.5G`, `4096`: binary units (K = 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, ' '),
    };
    let shift = match unit {
        ' ' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        other => return Err(format!("unknown unit `{other}` in `{text}` (K, M, G or T)")),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("expected a size such as 500M or 2G, found `{text}`"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!(
            "expected a size such as 500M or 2G, found `{text}`"
        ));
    }
    Ok((n * (1u64 << shift) as f64) as u64)
}

fn open(args: &CacheArgs) -> Result<LayerCache> {
    Ok(
        match args.layer_cache.as_deref().filter(|l| !l.is_empty()) {
            Some(location) => LayerCache::open(location)?,
            None => LayerCache::open_default()?,
        },
    )
}

/// `rampart cache ...`.
pub fn run(args: &CacheArgs) -> Result<u8> {
    let cache = open(args)?;
    let prefix = rampart_inspect::analysis_prefix();
    // image configs are kept as they are, by digest: the same for every version
    let current =
        |analysis: &str| analysis.starts_with(&prefix) || analysis == rampart_image::CONFIG_ROWS;
    match &args.command {
        CacheCommand::Info { format } => {
            let info = cache.info().context("reading the layer cache")?;
            let text = match format {
                ListFormat::Json => {
                    let analyses: Vec<serde_json::Value> = info
                        .analyses
                        .iter()
                        .map(|a| {
                            serde_json::json!({
                                "analysis": a.analysis,
                                "current": current(&a.analysis),
                                "layers": a.rows,
                                "bytes": a.bytes,
                                "newest": jiff::Timestamp::from_millisecond(a.newest_ms).ok().map(|t| t.to_string()),
                            })
                        })
                        .collect();
                    serde_json::to_string_pretty(&serde_json::json!({
                        "location": info.location,
                        "file_bytes": info.file_bytes,
                        "layers": info.rows(),
                        "bytes": info.bytes(),
                        "analyses": analyses,
                    }))? + "\n"
                }
                ListFormat::Table => {
                    let mut table = Table::new();
                    table.load_preset(UTF8_FULL_CONDENSED);
                    table.set_header(["analysis", "current", "layers", "bytes", "newest"]);
                    for a in &info.analyses {
                        table.add_row([
                            a.analysis.clone(),
                            if current(&a.analysis) { "yes" } else { "no" }.to_owned(),
                            a.rows.to_string(),
                            a.bytes.to_string(),
                            jiff::Timestamp::from_millisecond(a.newest_ms)
                                .map(|t| t.to_string())
                                .unwrap_or_default(),
                        ]);
                    }
                    let file = info
                        .file_bytes
                        .map(|b| format!(", file {b} bytes"))
                        .unwrap_or_default();
                    format!(
                        "layer cache {}: {} layers, {} bytes{file}\n{table}\n",
                        info.location,
                        info.rows(),
                        info.bytes()
                    )
                }
            };
            crate::write_out(None, &text)?;
        }
        CacheCommand::Purge { all, max_size } => {
            let removed = if *all {
                cache.purge(&|_| false)?
            } else {
                cache.purge(&current)?
            };
            let trimmed = match max_size {
                Some(max) => cache.trim(*max)?,
                None => 0,
            };
            eprintln!(
                "rampart: layer cache {}: {removed} record(s) of other versions{} removed, {trimmed} trimmed; {} bytes left",
                cache.location(),
                if *all { " and this one" } else { "" },
                cache.bytes()?
            );
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert!(parse_size("2X").is_err());
        assert!(parse_size("-1G").is_err());
        assert!(parse_size("lots").is_err());
    }
}
