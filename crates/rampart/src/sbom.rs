//! `rampart sbom`: inspect one image and write its packages in the chosen format.

use std::fmt::Write as _;

use anyhow::Result;
use rampart_inspect::Inspection;
use rampart_registry::Reference;
use rampart_sbom::{Options, SbomDocument, Subject, SubjectKind, Tool, cyclonedx_json, spdx_json};

use crate::cli::{SbomArgs, SbomFormat};

pub fn run(args: &SbomArgs) -> Result<u8> {
    // Options first: a bad SOURCE_DATE_EPOCH is reported before any work.
    let opts = Options::from_env(args.reproducible)?;
    // An SBOM lists packages: the secret search of `rampart scan --image` is not needed.
    let mut image_args = args.images.clone();
    image_args.no_secrets = true;
    let cache = crate::images::open_layer_cache(&args.layer_cache, false);
    let (ins, reference) =
        crate::images::inspect_target(&args.target, &image_args, cache.as_ref(), false)?;
    if let Some(cache) = &cache {
        crate::images::bound_layer_cache(cache, false);
    }
    let text = match args.format {
        SbomFormat::Json => serde_json::to_string_pretty(&ins)? + "\n",
        SbomFormat::Table => table(&ins),
        SbomFormat::CyclonedxJson => cyclonedx_json(&document(&ins, reference.as_ref()), &opts),
        SbomFormat::SpdxJson => spdx_json(&document(&ins, reference.as_ref()), &opts),
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

/// The SBOM of an inspection: the subject with what the image and its reference tell.
pub(crate) fn document(ins: &Inspection, reference: Option<&Reference>) -> SbomDocument {
    let repository = reference.map(|r| r.repository().to_string());
    let repo_digests = match (&repository, &ins.manifest_digest) {
        (Some(repo), Some(d)) => vec![format!("{repo}@{d}")],
        _ => Vec::new(),
    };
    SbomDocument {
        subject: Subject {
            name: ins.name.clone(),
            kind: match ins.kind {
                rampart_inspect::SubjectKind::Image => SubjectKind::ContainerImage,
                rampart_inspect::SubjectKind::Filesystem => SubjectKind::Filesystem,
            },
            repository,
            manifest_digest: ins.manifest_digest.clone(),
            config_digest: ins.config_digest.clone(),
            repo_digests,
            tags: reference
                .and_then(Reference::tag)
                .map(str::to_owned)
                .into_iter()
                .collect(),
            platform: ins.platform.clone(),
            layers: ins.layers.iter().filter_map(|l| l.digest.clone()).collect(),
        },
        distro: ins.distro.clone(),
        packages: ins.packages.clone(),
        tool: Tool {
            name: String::from("rampart"),
            version: String::from(env!("CARGO_PKG_VERSION")),
        },
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

/// Whether `path` is a file holding a CycloneDX or SPDX JSON SBOM (sniffed from its start).
pub fn is_sbom_file(path: &std::path::Path) -> bool {
    use std::io::Read;
    if !path.is_file() {
        return false;
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .is_ok_and(|_| rampart_sbom::looks_like_sbom(&head))
}

/// Reads an SBOM given to `rampart scan`; what cannot be read is an input error of the report.
pub fn read_for_scan(
    path: &std::path::Path,
) -> Result<rampart_scan::vulns::SbomSubject, rampart_core::InputError> {
    use std::io::Read;
    let name = path.display().to_string();
    let err = |message: String| rampart_core::InputError {
        file: name.clone(),
        line: 0,
        column: 0,
        message,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(rampart_sbom::read::MAX_SBOM_INPUT as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| err(e.to_string()))?;
    let input = rampart_sbom::read_sbom(&bytes).map_err(|e| err(e.to_string()))?;
    for s in &input.skipped {
        eprintln!("rampart: {name}: skipped {s}");
    }
    Ok(rampart_scan::vulns::SbomSubject {
        path: name.clone(),
        format: input.format.to_string(),
        describes: input.subject.clone(),
        distro: input.distro.clone(),
        packages: input.packages,
    })
}

/// The SBOM document of an SBOM file given to `rampart scan` (for `--format cyclonedx`).
pub(crate) fn subject_document(s: &rampart_scan::vulns::SbomSubject) -> SbomDocument {
    SbomDocument {
        subject: Subject {
            name: s.describes.clone().unwrap_or_else(|| s.path.clone()),
            kind: SubjectKind::Filesystem,
            repository: None,
            manifest_digest: None,
            config_digest: None,
            repo_digests: Vec::new(),
            tags: Vec::new(),
            platform: None,
            layers: Vec::new(),
        },
        distro: s.distro.clone(),
        packages: s.packages.clone(),
        tool: Tool {
            name: String::from("rampart"),
            version: String::from(env!("CARGO_PKG_VERSION")),
        },
    }
}
