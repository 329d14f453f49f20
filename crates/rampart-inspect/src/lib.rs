//! What is inside an image: every package it ships (the SBOM), and the facts the image layer of
//! defense is judged on (who it runs as, shells and package managers left in, setuid and
//! world-writable files, secrets, operating system end of life, hostile layer entries).
//!
//! [`inspect`] reads an opened [`rampart_image::Image`] once: one streaming pass over its layers
//! (or one parallel walk of a root filesystem), with a collector that hands each interesting
//! file to the right reader as it passes (catalogers, ELF binaries, secret scanning). Only
//! results are kept, and only for files that survive in the final image. [`rules::assess`] turns
//! an [`Inspection`] into findings of the `IMG` rules.
//!
//! Invariant: no panic on any image content; every problem with a file is recorded in
//! [`Inspection::problems`] and the rest is read.
#![deny(clippy::indexing_slicing)]

pub mod binary;
mod collect;
pub mod eol;
pub mod facts;
pub mod rules;
pub mod sketch;

use std::collections::BTreeMap;

use rampart_image::{CacheReport, Image, ImageError, LayerStore};
use rampart_sbom::{CatalogContext, Distro, Package};
use serde::Serialize;

pub use binary::BinaryFacts;
pub use collect::secret_candidate;
use collect::{Found, Inventory, Want};
pub use facts::{ImageFacts, Minimality};

/// What was inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// a container image (layers and a configuration)
    Image,
    /// a root filesystem directory (no configuration)
    Filesystem,
}

/// One layer of an inspected image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerFact {
    /// blob digest (or diff id when only that is known)
    pub digest: Option<String>,
    /// compressed size, when the manifest states it
    pub size: Option<u64>,
    /// media type, when the manifest states it
    pub media_type: Option<String>,
}

/// The result of [`inspect`].
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// the image as the user named it (reference or path)
    pub name: String,
    pub kind: SubjectKind,
    pub manifest_digest: Option<String>,
    /// the config digest: the image id
    pub config_digest: Option<String>,
    /// `os/arch[/variant]` from the configuration
    pub platform: Option<String>,
    pub layers: Vec<LayerFact>,
    pub distro: Option<Distro>,
    /// every package found, merged by purl, sorted by ecosystem, name, version
    pub packages: Vec<Package>,
    pub facts: ImageFacts,
    /// files that could not be read fully (path: reason); the rest was read
    pub problems: Vec<String>,
}

impl Inspection {
    /// The subject name findings use: `Image <name>` (or `Filesystem <path>`).
    pub fn subject(&self) -> String {
        match self.kind {
            SubjectKind::Image => format!("Image {}", self.name),
            SubjectKind::Filesystem => format!("Filesystem {}", self.name),
        }
    }
}

/// How to inspect.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// scan files for secrets (costs reading small text files outside package trees)
    pub secrets: bool,
    /// today, for end-of-life checks (a parameter so tests control the clock)
    pub today: jiff::civil::Date,
}

/// The version of what inspection learns from each file, bumped whenever a change to this crate
/// or to the readers it calls (catalogers, the ELF reader, secret detection, the collector's
/// choice of files) would make a file's result differ. Layer records made under another
/// version are never used: see [`analysis_version`].
///
/// This is the one place to bump: a change of the crate version also invalidates every
/// record, the epoch covers changes between releases.
pub const ANALYSIS_EPOCH: u32 = 1;

/// The analysis version layer records are kept under: the crate version and
/// [`ANALYSIS_EPOCH`], e.g. `0.1.0+1`.
pub fn analysis_version() -> String {
    format!("{}+{ANALYSIS_EPOCH}", env!("CARGO_PKG_VERSION"))
}

/// The key a layer store keeps this inspection's records under: the analysis version, the
/// record format and the options that change what is read (`secrets`), e.g.
/// `rampart-inspect 0.1.0+1 r1 secrets`.
pub fn analysis_key(opts: &InspectOptions) -> String {
    format!(
        "{}{}",
        analysis_prefix(),
        if opts.secrets {
            "secrets"
        } else {
            "no-secrets"
        }
    )
}

/// What every [`analysis_key`] of this rampart starts with, whatever the options: rows of a
/// layer store under another prefix were made by another version (`rampart cache purge`).
pub fn analysis_prefix() -> String {
    format!(
        "rampart-inspect {} r{} ",
        analysis_version(),
        rampart_image::RECORD_FORMAT
    )
}

/// Reads `image` once and returns its packages and facts. `name` is how the user named it.
pub fn inspect(image: &Image, name: &str, opts: &InspectOptions) -> Result<Inspection, ImageError> {
    let collector = Inventory {
        secrets: opts.secrets,
    };
    let squashed = image.squash(&collector)?;
    Ok(assemble(image, name, opts, &squashed))
}

/// As [`inspect`], with the layer records of `store` (a `rampart-layercache` database, or any
/// [`LayerStore`]): layers recorded by an earlier inspection (of any image) under the same
/// [`analysis_key`] are replayed without reading their blobs, the others are read and recorded.
/// The inspection is the one [`inspect`] gives; the report says, per layer, what the store
/// gave and what was read or stored. A store that fails is reported there, never an error.
pub fn inspect_cached(
    image: &Image,
    name: &str,
    opts: &InspectOptions,
    store: &dyn LayerStore,
) -> Result<(Inspection, CacheReport), ImageError> {
    let collector = Inventory {
        secrets: opts.secrets,
    };
    let (squashed, report) = image.squash_cached(&collector, store, &analysis_key(opts))?;
    Ok((assemble(image, name, opts, &squashed), report))
}

/// The payload of a layer record of this crate's collector, decoded (what a store hands back):
/// the number of entries and of file results, or why it cannot be used. For fuzzing and
/// diagnostics; never panics, bounded by [`rampart_image::MAX_RECORD_BYTES`].
pub fn decode_record(
    payload: &[u8],
    diff_id: &rampart_image::Digest,
    analysis: &str,
) -> Result<(usize, usize), rampart_image::RecordError> {
    let record = rampart_image::LayerRecord::<Found>::decode(payload, diff_id, analysis)?;
    Ok((record.entries(), record.analyses()))
}

/// The inspection of a squashed image.
fn assemble(
    image: &Image,
    name: &str,
    opts: &InspectOptions,
    squashed: &rampart_image::Squashed<Found>,
) -> Inspection {
    let mut problems = Vec::new();
    let mut system: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut os_dbs = Vec::new();
    let mut packages: Vec<Package> = Vec::new();
    let mut file_secrets = Vec::new();
    let mut copyright: BTreeMap<&str, &[String]> = BTreeMap::new();
    for file in &squashed.files {
        let layer = file.layer_digest.as_deref().map(ToString::to_string);
        match &*file.output {
            Found::Bytes {
                want,
                content,
                truncated,
            } => {
                if *truncated {
                    problems.push(format!(
                        "{}: larger than the capture limit; only its start was read",
                        file.path
                    ));
                }
                match want {
                    Want::OsPackages(c) => os_dbs.push((*c, file.path.as_str(), content, layer)),
                    _ => {
                        system.insert(file.path.clone(), content.clone());
                    }
                }
            }
            Found::Packages {
                packages: found,
                error,
            } => {
                if let Some(e) = error {
                    problems.push(e.clone());
                }
                packages.extend(found.iter().cloned().map(|p| with_layer(p, layer.as_ref())));
            }
            Found::Licenses { package, licenses } => {
                copyright.insert(package.as_str(), licenses.as_slice());
            }
            Found::Secrets { hits } => {
                for h in hits {
                    file_secrets.push(facts::SecretFact {
                        source: facts::SecretSource::File,
                        place: file.path.clone(),
                        line: h.line,
                        column: h.column,
                        kind: h.kind.clone(),
                        redacted: h.redacted.clone(),
                        layer: Some(file.layer),
                        fixture: h.fixture.clone(),
                    });
                }
            }
        }
    }
    let os_release = system
        .get("/etc/os-release")
        .or_else(|| system.get("/usr/lib/os-release"));
    let distro = os_release.and_then(|c| Distro::from_os_release(c));
    let ctx = CatalogContext {
        distro: distro.clone(),
    };
    for (cataloger, path, content, layer) in os_dbs {
        match os_packages(cataloger, path, content, layer.as_deref(), &ctx) {
            Ok(found) => {
                packages.extend(found.into_iter().map(|p| with_layer(p, layer.as_ref())));
            }
            Err(e) => problems.push(e),
        }
    }
    // Debian packages state their licenses in their copyright files.
    for p in packages
        .iter_mut()
        .filter(|p| p.ecosystem == rampart_sbom::Ecosystem::Deb)
    {
        if let Some(licenses) = copyright.get(p.name.as_str()) {
            for l in *licenses {
                p.add_license(l);
            }
        }
    }
    let packages = merge(packages);
    let config = image.config();
    let facts = ImageFacts::compute(facts::FactInputs {
        fs: &squashed.fs,
        config,
        os_release: os_release.map(Vec::as_slice),
        distro: distro.as_ref(),
        passwd: system.get("/etc/passwd").map(Vec::as_slice),
        file_secrets,
        today: opts.today,
    });
    let kind = if config.is_some() {
        SubjectKind::Image
    } else {
        SubjectKind::Filesystem
    };
    Inspection {
        name: name.to_owned(),
        kind,
        manifest_digest: image.manifest_digest().map(ToString::to_string),
        config_digest: image.config_digest().map(ToString::to_string),
        platform: config.filter(|c| !c.os.is_empty()).map(|c| {
            let mut p = format!("{}/{}", c.os, c.architecture);
            if let Some(v) = &c.variant {
                p.push('/');
                p.push_str(v);
            }
            p
        }),
        layers: image
            .layers()
            .iter()
            .map(|l| LayerFact {
                digest: l.id().map(ToString::to_string),
                size: l.size,
                media_type: l.media_type.clone(),
            })
            .collect(),
        distro,
        packages,
        facts,
        problems,
    }
}

/// A package database parsed, shared by the images whose database comes from the same layer.
type Parsed = std::sync::Arc<Result<Vec<Package>, String>>;

/// The package databases parsed lately, by cataloger, path, the layer the file comes from and
/// the distribution: a fleet worker meets one base's `dpkg` status in every image built on it,
/// and parsing it was a seventh of the time it spent on an image whose layers were all cached.
/// A layer's digest names its bytes, so the file and what is parsed from it are the same.
/// Bounded: emptied when it holds [`PARSED_KEPT`] databases.
static PARSED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Parsed>>> =
    std::sync::LazyLock::new(Default::default);
const PARSED_KEPT: usize = 64;

fn os_packages(
    cataloger: &dyn rampart_sbom::catalog::Cataloger,
    path: &str,
    content: &[u8],
    layer: Option<&str>,
    ctx: &CatalogContext,
) -> Result<Vec<Package>, String> {
    let parse = || {
        cataloger
            .parse(path, content, ctx)
            .map_err(|e| e.to_string())
    };
    // a file without a layer digest (a directory or archive read as a root) is parsed each time
    let Some(layer) = layer else { return parse() };
    let key = format!(
        "{}\0{path}\0{layer}\0{}\0{:?}",
        cataloger.name(),
        content.len(),
        ctx.distro
    );
    let hit = PARSED.lock().ok().and_then(|m| m.get(&key).cloned());
    if let Some(parsed) = hit {
        return (*parsed).clone();
    }
    let parsed = parse();
    if let Ok(mut m) = PARSED.lock() {
        if m.len() >= PARSED_KEPT {
            m.clear();
        }
        m.insert(key, std::sync::Arc::new(parsed.clone()));
    }
    parsed
}

fn with_layer(mut p: Package, layer: Option<&String>) -> Package {
    for loc in &mut p.locations {
        if loc.layer.is_none() {
            loc.layer = layer.cloned();
        }
    }
    p
}

/// Merges packages with the same purl (the same package found in several places: a Python
/// distribution in two virtual environments, one Go module in several binaries) into one with
/// every location and license, then sorts.
fn merge(packages: Vec<Package>) -> Vec<Package> {
    let mut by_purl: BTreeMap<String, Package> = BTreeMap::new();
    for p in packages {
        match by_purl.entry(p.purl.to_string()) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(p);
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let kept = o.get_mut();
                for loc in p.locations {
                    if !kept.locations.contains(&loc) {
                        kept.locations.push(loc);
                    }
                }
                for l in &p.licenses {
                    kept.add_license(l);
                }
                if kept.source_package.is_none() {
                    kept.source_package = p.source_package;
                }
            }
        }
    }
    let mut out: Vec<(String, Package)> = by_purl.into_iter().collect();
    for (_, p) in &mut out {
        p.locations.sort();
    }
    // the purl written once per package, not twice per comparison
    out.sort_by(|(pa, a), (pb, b)| {
        (a.ecosystem, &a.name, &a.version, pa).cmp(&(b.ecosystem, &b.name, &b.version, pb))
    });
    out.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rampart_sbom::catalog::{Cataloger, Dpkg};

    fn installed(name: &str, version: &str) -> Vec<u8> {
        format!(
            "Package: {name}\nStatus: install ok installed\nVersion: {version}\nArchitecture: amd64\n\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_package_database_parsed_once_answers_only_for_its_layer_path_and_release() {
        let ctx = |version: &str| CatalogContext {
            distro: Distro::from_os_release(
                format!("ID=debian\nVERSION_ID={version}\n").as_bytes(),
            ),
        };
        let (deb12, deb11) = (ctx("12"), ctx("11"));
        let path = "var/lib/dpkg/status";
        let bash = installed("bash", "5.2.15-2");
        let zsh = installed("zsh", "5.9-4");
        let direct = |content: &[u8], ctx: &CatalogContext| Dpkg.parse(path, content, ctx).unwrap();

        let first = os_packages(&Dpkg, path, &bash, Some("sha256:aa"), &deb12).unwrap();
        assert_eq!(first, direct(&bash, &deb12));
        // the same layer's file again: the same packages
        let again = os_packages(&Dpkg, path, &bash, Some("sha256:aa"), &deb12).unwrap();
        assert_eq!(again, first);
        // another layer's file at the same path: its own packages
        let other = os_packages(&Dpkg, path, &zsh, Some("sha256:bb"), &deb12).unwrap();
        assert_eq!(other, direct(&zsh, &deb12));
        assert_eq!(other[0].name, "zsh");
        // the same file under another release: that release's purls
        let older = os_packages(&Dpkg, path, &bash, Some("sha256:aa"), &deb11).unwrap();
        assert_eq!(older, direct(&bash, &deb11));
        assert_ne!(older, first);
        // a file without a layer digest is parsed each time
        let loose = os_packages(&Dpkg, path, &zsh, None, &deb12).unwrap();
        assert_eq!(loose, direct(&zsh, &deb12));
    }
}
