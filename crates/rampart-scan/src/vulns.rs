//! The vulnerability check in a scan: images and SBOMs are matched against the advisory
//! database, each scanned package set is recorded in the inventory, and the findings join the
//! image layer. A missing or empty database is an input error (the scan is incomplete), never
//! a silent "no vulnerabilities".

use std::path::PathBuf;

use rampart_core::{Assessment, ImageSummary, InputError, Vulnerability};
use rampart_sbom::{Distro, Package};
use rampart_vuln::assess::{Options, Target, assess};
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
            digest: self
                .describes
                .clone()
                .filter(|d| d.starts_with("sha256:") || d.starts_with("sha512:")),
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
            Ok(outcome) => {
                if let Some(inv) = inventory.as_mut() {
                    if let Err(e) = inv.record(
                        &set.inventory_id,
                        &set.name,
                        set.target.distro,
                        set.target.packages,
                        &outcome.vulnerabilities,
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
