//! `rampart sbom`: inspect one image and write its packages in the chosen format.

use std::fmt::Write as _;

use anyhow::Result;
use rampart_inspect::Inspection;

use crate::cli::{SbomArgs, SbomFormat};

pub fn run(args: &SbomArgs) -> Result<u8> {
    let ins = crate::images::inspect_target(&args.target, &args.images)?;
    let text = match args.format {
        SbomFormat::Json => serde_json::to_string_pretty(&ins)? + "\n",
        SbomFormat::Table => table(&ins),
        SbomFormat::CyclonedxJson | SbomFormat::SpdxJson => {
            anyhow::bail!("this output format is not available in this build")
        }
    };
    crate::write_out(args.output.as_deref(), &text)?;
    for p in &ins.problems {
        eprintln!("rampart: {}: {p}", ins.name);
    }
    if ins.problems.is_empty() {
        Ok(0)
    } else {
        eprintln!(
            "rampart: {} file(s) could not be read fully: the SBOM may be incomplete (exit {})",
            ins.problems.len(),
            crate::EXIT_ERROR
        );
        Ok(crate::EXIT_ERROR)
    }
}

fn table(ins: &Inspection) -> String {
    let mut out = String::new();
    let mut rows: Vec<[String; 4]> = vec![[
        "TYPE".into(),
        "NAME".into(),
        "VERSION".into(),
        "FOUND IN".into(),
    ]];
    for p in &ins.packages {
        let first = p.locations.first().map_or("", |l| l.path.as_str());
        let more = if p.locations.len() > 1 {
            format!(" (+{})", p.locations.len() - 1)
        } else {
            String::new()
        };
        rows.push([
            p.ecosystem.purl_type().to_owned(),
            p.name.clone(),
            p.version.clone(),
            format!("{first}{more}"),
        ]);
    }
    let widths: Vec<usize> = (0..3)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let _ = writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    let _ = writeln!(out, "\n{} packages in {}", ins.packages.len(), ins.name);
    out
}
