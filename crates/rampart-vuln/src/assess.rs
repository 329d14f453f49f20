//! The vulnerability check as a rule of the image layer: each known vulnerability of an
//! installed package is a `VUL001` finding on the image (or SBOM) with the advisory's severity,
//! located at the file that declares the package; VEX statements waive findings.

use rampart_core::{
    Assessment, Finding, Layer, Location, RefKind, Reference, Rule, RuleTarget, Severity,
    Suppression, VulnCounts, Vulnerability,
};
use rampart_sbom::{Distro, Package};

use crate::matcher::match_packages;
use crate::store::{Database, DbError};
use crate::vex::Vex;

/// `VUL001`.
pub static KNOWN_VULNERABILITY: Rule = Rule {
    id: "VUL001",
    name: "known-vulnerability",
    title: "An installed package has a known vulnerability",
    severity: Severity::High,
    layer: Layer::Image,
    target: RuleTarget::Image,
    rationale: "Known vulnerabilities in installed packages are the most common way into a \
                container: exploits for them are public and automated. Each finding names the \
                advisory (CVE, GHSA, DSA...), the installed and fixed versions and the file that \
                installed the package; its severity is the advisory's CVSS rating.",
    remediation: "Upgrade the package to a fixed version (rebuild on an updated base image for \
                  OS packages). If the vulnerable code cannot be reached in this image, say so \
                  in an OpenVEX document (`--vex`) with a not_affected justification.",
    bad_example: "PACKAGE pypi jinja2 2.10\n",
    good_example: "PACKAGE pypi jinja2 3.1.6\n",
    references: &[Reference::new(
        RefKind::Docs,
        "OSV schema: affected ranges and versions",
        "https://ossf.github.io/osv-schema/",
    )],
};

/// What is checked: the packages of one image, root filesystem or SBOM.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// Subject of the findings (`Image shop/web:1.2`, `SBOM app.cdx.json`).
    pub subject: String,
    /// Where findings without a package file are located (the image name or SBOM path).
    pub file: String,
    /// Names VEX products may use for it: references, digests.
    pub ids: Vec<String>,
    /// Its operating system.
    pub distro: Option<&'a Distro>,
    /// Its packages.
    pub packages: &'a [Package],
}

/// How findings are filtered.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// VEX statements.
    pub vex: Vex,
    /// Leave out vulnerabilities without a known fix.
    pub ignore_unfixed: bool,
}

/// The check's result for one target.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// `VUL001` assessed on the subject, and its findings.
    pub assessment: Assessment,
    /// The vulnerabilities, worst first (waived ones marked).
    pub vulnerabilities: Vec<Vulnerability>,
    /// Counts for the image summary.
    pub counts: VulnCounts,
    /// The purls of the packages not checked (their ecosystem is missing from the database).
    pub unchecked: std::collections::BTreeSet<String>,
}

/// Checks `target` against `db`.
pub fn assess(db: &Database, target: &Target<'_>, opts: &Options) -> Result<Outcome, DbError> {
    let matches = match_packages(db, &target.subject, target.packages, target.distro)?;
    let mut out = Outcome::default();
    out.assessment
        .assessed(&KNOWN_VULNERABILITY, &target.subject, &target.file);
    out.counts.unmatched = matches.skips.counts.clone();
    out.counts.not_checked = matches.not_checked.clone();
    out.unchecked = matches.unchecked.clone();
    let ids: Vec<&str> = target.ids.iter().map(String::as_str).collect();
    for mut v in matches.findings {
        if opts.ignore_unfixed && v.fixed.is_empty() {
            out.counts.ignored_unfixed += 1;
            continue;
        }
        if let Some(s) = opts.vex.waiver(&v, &ids) {
            v.waived = Some(Suppression {
                kind: "vex",
                reason: if s.reason.is_empty() {
                    format!("{:?}", s.status)
                } else {
                    s.reason.clone()
                },
                source: s.source.clone(),
                expires: None,
            });
        }
        out.counts.total += 1;
        if !v.fixed.is_empty() {
            out.counts.fixable += 1;
        }
        if v.waived.is_some() {
            out.counts.waived += 1;
        } else {
            *out.counts.by_severity.entry(v.severity).or_default() += 1;
        }
        let file = v
            .package
            .locations
            .first()
            .map_or_else(|| target.file.clone(), |l| l.path.clone());
        let mut f = Finding::new(
            &KNOWN_VULNERABILITY,
            &target.subject,
            Location::new(&file, 0, 0),
            message(&v),
        );
        f.severity = v.severity;
        f.suppressed = v.waived.clone();
        out.assessment.push(f);
        out.vulnerabilities.push(v);
    }
    Ok(out)
}

/// What a scan says about packages it could not check: `npm: 10 packages not checked, no npm
/// advisories in the database` (with the releases it holds, for a distribution).
pub fn not_checked_message(
    ecosystem: &str,
    packages: usize,
    coverage: &crate::store::Coverage,
) -> String {
    let (base, _) = crate::ecosystem::split(ecosystem);
    let mut m = format!(
        "{ecosystem}: {packages} package{} not checked, no {ecosystem} advisories in the database",
        if packages == 1 { "" } else { "s" }
    );
    let others = coverage.of_base(base);
    if !others.is_empty() {
        m.push_str(&format!(" (it holds {})", others.join(", ")));
    }
    m
}

/// `CVE-2021-44228 in log4j-core 2.14.1 (maven): fixed in 2.15.0. Summary (also GHSA-...)`.
pub fn message(v: &Vulnerability) -> String {
    let fix = if !v.fixed.is_empty() {
        format!("fixed in {}", v.fixed.join(", "))
    } else if v.fixed_elsewhere.is_empty() {
        "no fix known".to_owned()
    } else {
        let other: Vec<String> = v
            .fixed_elsewhere
            .iter()
            .map(|f| format!("fixed in {} {}", f.stream, f.version))
            .collect();
        format!(
            "no fix in {}; {}",
            v.package.osv_ecosystem,
            other.join(", ")
        )
    };
    let also: Vec<&str> = v
        .aliases
        .iter()
        .map(String::as_str)
        .filter(|a| *a != v.id)
        .collect();
    let mut m = format!(
        "{} in {} {} ({}): {fix}",
        v.id, v.package.name, v.package.version, v.package.ecosystem
    );
    if let Some(src) = &v.package.matched_as {
        m.push_str(&format!(" [source package {src}]"));
    }
    if !v.summary.is_empty() {
        m.push_str(&format!(". {}", v.summary.trim_end_matches('.')));
    }
    if !also.is_empty() {
        m.push_str(&format!(" (also {})", also.join(", ")));
    }
    m
}
