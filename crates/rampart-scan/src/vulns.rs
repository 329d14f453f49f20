//! The vulnerability check in a scan: images and SBOMs are matched against the advisory
//! database, each scanned package set is recorded in the inventory, and the findings join the
//! image layer. A missing or empty database is an input error (the scan is incomplete), never
//! a silent "no vulnerabilities".

use std::path::PathBuf;

use rampart_core::{Assessment, ImageSummary, InputError, Layer, Vulnerability};
use rampart_sbom::{Distro, Package};
use rampart_vuln::assess::{Options, Target, assess, not_checked_message};
use rampart_vuln::inventory::Inventory;
use rampart_vuln::{Database, DbError};

/// How a scan checks vulnerabilities.
#[derive(Debug, Clone, Default)]
pub struct VulnScan {
    /// The advisory database file.
    pub db: PathBuf,
    /// The inventory file every scanned package set is recorded in (none: not recorded).
    pub inventory: Option<PathBuf>,
    /// VEX statements and filters.
    pub options: Options,
    /// The database was built for this scan (advisories from the configuration): its build
    /// time says nothing about the advisories and is left out of the report.
    pub temporary: bool,
    /// Which ecosystems the database must cover for the scan to be complete.
    pub required: Required,
}

/// Which ecosystems the advisory database must cover: packages of an ecosystem (or
/// distribution release) it holds no advisory for are never "none known"; they are reported as
/// not checked, the image layer is partly assessed, and, when the ecosystem is required, the
/// scan is incomplete (exit 2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Required {
    /// Every ecosystem of the packages scanned (the default: fail closed).
    #[default]
    All,
    /// Only these (`--vuln-ecosystems go,pypi`): an OSV base (`Go`, `PyPI`, `Debian`), an OSV
    /// ecosystem with its release (`Debian:12`) or a purl type (`golang`, `deb`), any case.
    Only(Vec<String>),
    /// None (`allow-partial-database = true`).
    Nothing,
}

impl Required {
    /// Whether packages of the OSV ecosystem `ecosystem` (`npm`, `Debian:12`) must be checked.
    pub fn requires(&self, ecosystem: &str) -> bool {
        match self {
            Required::All => true,
            Required::Nothing => false,
            Required::Only(list) => {
                let (base, _) = rampart_vuln::ecosystem::split(ecosystem);
                list.iter().map(|e| e.trim()).any(|e| {
                    e.eq_ignore_ascii_case(ecosystem)
                        || e.eq_ignore_ascii_case(base)
                        || purl_type_bases(e)
                            .iter()
                            .any(|b| b.eq_ignore_ascii_case(base))
                })
            }
        }
    }
}

impl Required {
    /// The entries of an `Only` list that name no ecosystem rampart matches (a typo would
    /// otherwise silently require nothing).
    pub fn unknown_entries(&self) -> Vec<String> {
        const BASES: &[&str] = &[
            "Go",
            "PyPI",
            "npm",
            "crates.io",
            "Maven",
            "RubyGems",
            "Packagist",
            "NuGet",
            "Debian",
            "Ubuntu",
            "Alpine",
            "Wolfi",
            "Chainguard",
            "Red Hat",
            "Rocky Linux",
            "AlmaLinux",
            "openSUSE",
            "SUSE",
            "Mageia",
        ];
        let Required::Only(list) = self else {
            return Vec::new();
        };
        list.iter()
            .filter(|e| {
                let (base, _) = rampart_vuln::ecosystem::split(e.trim());
                !BASES.iter().any(|b| b.eq_ignore_ascii_case(base))
                    && purl_type_bases(base).is_empty()
            })
            .cloned()
            .collect()
    }
}

/// The OSV bases a purl type or a common short name stands for (`golang` → `Go`, `deb` →
/// `Debian` and `Ubuntu`).
fn purl_type_bases(name: &str) -> &'static [&'static str] {
    match name.to_ascii_lowercase().as_str() {
        "golang" => &["Go"],
        "cargo" | "rust" => &["crates.io"],
        "gem" | "ruby" => &["RubyGems"],
        "composer" | "php" => &["Packagist"],
        "deb" => &["Debian", "Ubuntu"],
        "apk" => &["Alpine", "Wolfi", "Chainguard"],
        "rpm" => &[
            "Red Hat",
            "Rocky Linux",
            "AlmaLinux",
            "openSUSE",
            "SUSE",
            "Mageia",
        ],
        _ => &[],
    }
}

/// The packages of an SBOM given to `scan`.
#[derive(Debug, Clone)]
pub struct SbomSubject {
    /// The SBOM file, as named.
    pub path: String,
    /// `CycloneDX 1.6`, `SPDX 2.3`.
    pub format: String,
    /// What it describes (an image reference or digest), when it says.
    pub describes: Option<String>,
    /// Its operating system.
    pub distro: Option<Distro>,
    /// Its packages.
    pub packages: Vec<Package>,
}

impl SbomSubject {
    /// The subject findings use.
    pub fn subject(&self) -> String {
        format!("SBOM {}", self.path)
    }

    /// The digest of the image it describes, when it names one (`sha256:...` or
    /// `name@sha256:...`).
    pub fn digest(&self) -> Option<String> {
        let d = self.describes.as_deref()?.trim();
        let d = d.rsplit_once('@').map_or(d, |(_, after)| after);
        let (alg, hex) = d.split_once(':')?;
        let ok = matches!((alg, hex.len()), ("sha256", 64) | ("sha512", 128))
            && hex.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| d.to_ascii_lowercase())
    }

    /// The report's summary.
    pub fn summary(&self) -> ImageSummary {
        let mut packages = std::collections::BTreeMap::new();
        for p in &self.packages {
            *packages
                .entry(p.ecosystem.purl_type().to_owned())
                .or_insert(0usize) += 1;
        }
        ImageSummary {
            name: self.path.clone(),
            kind: format!("sbom ({})", self.format),
            digest: self.digest(),
            os: self.distro.as_ref().map(|d| {
                format!("{} {}", d.id, d.version_id.clone().unwrap_or_default())
                    .trim()
                    .to_owned()
            }),
            user: String::from("unknown (SBOM)"),
            minimality: String::from("unknown"),
            packages,
            ..ImageSummary::default()
        }
    }
}

/// One package set to check.
pub(crate) struct Checked<'a> {
    pub target: Target<'a>,
    /// Inventory key: the image digest, else `path:<name>`.
    pub inventory_id: String,
    pub name: String,
    /// Index into the report's image summaries.
    pub summary: usize,
}

/// Runs the check on every set; returns findings, vulnerabilities and input errors.
pub(crate) fn run(
    scan: &VulnScan,
    sets: &[Checked<'_>],
    summaries: &mut [ImageSummary],
) -> (Assessment, Vec<Vulnerability>, Vec<InputError>) {
    let mut assessment = Assessment::new();
    let mut vulns = Vec::new();
    let mut errors = Vec::new();
    if sets.is_empty() {
        return (assessment, vulns, errors);
    }
    let db_file = scan.db.display().to_string();
    let db_error = |e: &dyn std::fmt::Display| InputError {
        file: db_file.clone(),
        line: 0,
        column: 0,
        message: format!("{e} (vulnerabilities were not checked; --no-vulns skips the check)"),
    };
    let db = match Database::open(&scan.db) {
        Ok(db) => db,
        Err(e) => {
            errors.push(db_error(&e));
            return (assessment, vulns, errors);
        }
    };
    match db.is_empty() {
        Ok(false) => {}
        Ok(true) => {
            errors.push(db_error(&"the vulnerability database holds no advisories"));
            return (assessment, vulns, errors);
        }
        Err(e) => {
            errors.push(db_error(&e));
            return (assessment, vulns, errors);
        }
    }
    let built = if scan.temporary {
        None
    } else {
        db.status().ok().and_then(|s| s.built_at)
    };
    let mut inventory = match scan.inventory.as_deref().map(Inventory::open).transpose() {
        Ok(i) => i,
        Err(e) => {
            errors.push(inventory_error(&e));
            None
        }
    };
    for set in sets {
        match assess(&db, &set.target, &scan.options) {
            Ok(mut outcome) => {
                if !outcome.counts.not_checked.is_empty() {
                    let coverage = db.coverage().cloned().unwrap_or_default();
                    for (ecosystem, n) in &outcome.counts.not_checked {
                        let message = not_checked_message(ecosystem, *n, &coverage);
                        outcome.assessment.partly(
                            Layer::Image,
                            &set.target.subject,
                            message.clone(),
                        );
                        if scan.required.requires(ecosystem) {
                            errors.push(InputError {
                                file: set.target.file.clone(),
                                line: 0,
                                column: 0,
                                message: format!(
                                    "{message}: the vulnerability check is incomplete (update \
                                     the database with that ecosystem, or accept it with \
                                     --vuln-ecosystems or allow-partial-database = true)"
                                ),
                            });
                        }
                    }
                }
                // Packages no advisory can be looked up for (OS release unknown, a
                // distribution or ecosystem without OSV data, a version that does not parse)
                // were not checked either: the layer is only partly assessed, said with why.
                for (why, n) in &outcome.counts.unmatched {
                    outcome.assessment.partly(
                        Layer::Image,
                        &set.target.subject,
                        format!(
                            "{n} package{} not checked: {why}",
                            if *n == 1 { "" } else { "s" }
                        ),
                    );
                }
                if let Some(inv) = inventory.as_mut() {
                    if let Err(e) = inv.record_checked(
                        &set.inventory_id,
                        &set.name,
                        set.target.distro,
                        set.target.packages,
                        &outcome.vulnerabilities,
                        &outcome.unchecked,
                    ) {
                        errors.push(inventory_error(&e));
                    }
                }
                let mut counts = outcome.counts;
                counts.database_built = built.clone();
                if let Some(s) = summaries.get_mut(set.summary) {
                    s.vulnerabilities = Some(counts);
                }
                assessment.extend(outcome.assessment);
                vulns.extend(outcome.vulnerabilities);
            }
            Err(e) => errors.push(db_error(&e)),
        }
    }
    (assessment, vulns, errors)
}

fn inventory_error(e: &DbError) -> InputError {
    InputError {
        file: String::from("inventory"),
        line: 0,
        column: 0,
        message: format!("the inventory could not be written: {e} (--no-inventory skips it)"),
    }
}

#[cfg(test)]
mod tests {
    use super::Required;

    #[test]
    fn required_ecosystems_by_base_release_or_purl_type() {
        let only = |l: &[&str]| Required::Only(l.iter().map(|s| (*s).to_owned()).collect());
        assert!(Required::All.requires("npm"));
        assert!(!Required::Nothing.requires("Debian:12"));
        let r = only(&["go", "pypi", "Debian:12"]);
        assert!(r.requires("Go") && r.requires("PyPI") && r.requires("Debian:12"));
        assert!(!r.requires("Debian:11") && !r.requires("npm"));
        let r = only(&["deb", "golang", "cargo"]);
        assert!(r.requires("Debian:12") && r.requires("Ubuntu:22.04:LTS"));
        assert!(r.requires("Go") && r.requires("crates.io"));
        assert!(!r.requires("Alpine:v3.19"));
        assert!(only(&["ubuntu"]).requires("Ubuntu:22.04:LTS"));
        assert_eq!(
            only(&["go", "nmp", "Debian:12", "deb", "Rocky Linux:9"]).unknown_entries(),
            ["nmp"]
        );
    }
}
