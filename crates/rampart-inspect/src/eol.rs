//! End of security support of the distributions images are built on.
//!
//! Dates are the end of the last publicly available security support each project announces:
//! Debian's LTS end (wiki.debian.org/LTS), Ubuntu's end of standard support
//! (ubuntu.com/about/release-cycle), Alpine's per-branch end of security support
//! (alpinelinux.org/releases), RHEL's end of maintenance (shared by its rebuilds Rocky, Alma,
//! Oracle and UBI), CentOS's announced ends, Amazon Linux's announced ends, Fedora's release
//! schedule. Checked against endoflife.date and Trivy's tables when written (2026-11). A version
//! missing here is reported as unknown, never as supported. Rolling distributions (Wolfi,
//! Chainguard, Arch, openSUSE Tumbleweed, Debian sid) have no end.

use serde::Serialize;

/// The support status of an OS release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eol {
    /// the last day of security support (`None` for rolling releases)
    pub date: Option<String>,
    /// whether that day has passed
    pub ended: bool,
    /// days until it (negative once passed; `None` for rolling releases)
    pub days_left: Option<i64>,
}

type Table = &'static [(&'static str, &'static str)];

const DEBIAN: Table = &[
    ("6", "2016-02-29"),
    ("7", "2018-05-31"),
    ("8", "2020-06-30"),
    ("9", "2022-06-30"),
    ("10", "2024-06-30"),
    ("11", "2026-08-31"),
    ("12", "2028-06-30"),
    ("13", "2030-06-30"),
];
const UBUNTU: Table = &[
    ("12.04", "2017-04-28"),
    ("14.04", "2019-04-30"),
    ("16.04", "2021-04-30"),
    ("18.04", "2023-05-31"),
    ("20.04", "2025-05-31"),
    ("20.10", "2021-07-22"),
    ("21.04", "2022-01-20"),
    ("21.10", "2022-07-14"),
    ("22.04", "2027-06-01"),
    ("22.10", "2023-07-20"),
    ("23.04", "2024-01-25"),
    ("23.10", "2024-07-11"),
    ("24.04", "2029-05-31"),
    ("24.10", "2025-07-10"),
    ("25.04", "2026-01-15"),
];
const ALPINE: Table = &[
    ("3.10", "2021-05-01"),
    ("3.11", "2021-11-01"),
    ("3.12", "2022-05-01"),
    ("3.13", "2022-11-01"),
    ("3.14", "2023-05-01"),
    ("3.15", "2023-11-01"),
    ("3.16", "2024-05-23"),
    ("3.17", "2024-11-22"),
    ("3.18", "2025-05-09"),
    ("3.19", "2025-11-01"),
    ("3.20", "2026-04-01"),
    ("3.21", "2026-11-01"),
    ("3.22", "2027-05-01"),
    ("3.23", "2027-11-01"),
];
/// RHEL and its rebuilds, by major version.
const RHEL: Table = &[
    ("6", "2020-11-30"),
    ("7", "2024-06-30"),
    ("8", "2029-05-31"),
    ("9", "2032-05-31"),
    ("10", "2035-05-31"),
];
const CENTOS: Table = &[
    ("6", "2020-11-30"),
    ("7", "2024-06-30"),
    ("8", "2021-12-31"),
];
const AMAZON: Table = &[
    ("2018.03", "2023-12-31"),
    ("2", "2026-06-30"),
    ("2023", "2029-06-30"),
];
const FEDORA: Table = &[
    ("36", "2023-05-16"),
    ("37", "2023-12-05"),
    ("38", "2024-05-21"),
    ("39", "2024-11-26"),
    ("40", "2025-05-13"),
];

const ROLLING: [&str; 6] = [
    "wolfi",
    "chainguard",
    "arch",
    "opensuse-tumbleweed",
    "gentoo",
    "void",
];

/// The release key a table uses for a `VERSION_ID`: Debian, RHEL and rebuilds by major
/// version; Alpine by `major.minor`; the others as written.
fn key<'v>(id: &str, version: &'v str) -> &'v str {
    match id {
        "debian" | "rhel" | "rocky" | "almalinux" | "ol" | "centos" => {
            version.split('.').next().unwrap_or(version)
        }
        "alpine" => match version.match_indices('.').nth(1) {
            Some((i, _)) => version.get(..i).unwrap_or(version),
            None => version,
        },
        _ => version,
    }
}

fn table(id: &str) -> Option<Table> {
    Some(match id {
        "debian" => DEBIAN,
        "ubuntu" => UBUNTU,
        "alpine" => ALPINE,
        "rhel" | "rocky" | "almalinux" | "ol" => RHEL,
        "centos" => CENTOS,
        "amzn" => AMAZON,
        "fedora" => FEDORA,
        _ => return None,
    })
}

/// The support status of `id` `version` on `today`, when known.
pub fn lookup(id: &str, version: Option<&str>, today: jiff::civil::Date) -> Option<Eol> {
    if ROLLING.contains(&id) || (id == "debian" && version.is_none()) {
        return Some(Eol {
            date: None,
            ended: false,
            days_left: None,
        });
    }
    let version = version?;
    let wanted = key(id, version);
    let (_, date) = table(id)?.iter().find(|(v, _)| *v == wanted)?;
    let end: jiff::civil::Date = date.parse().ok()?;
    let days = today.until(end).ok()?.get_days();
    Some(Eol {
        date: Some((*date).to_owned()),
        ended: end < today,
        days_left: Some(i64::from(days)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        let today = jiff::civil::date(2026, 11, 27);
        let ended = |id, v| lookup(id, Some(v), today).map(|e| e.ended);
        assert_eq!(ended("debian", "10"), Some(true));
        assert_eq!(ended("debian", "12"), Some(false));
        assert_eq!(ended("debian", "11.11"), Some(true));
        assert_eq!(ended("alpine", "3.21.3"), Some(true));
        assert_eq!(ended("alpine", "3.22.1"), Some(false));
        assert_eq!(ended("ubuntu", "22.04"), Some(false));
        assert_eq!(ended("ubuntu", "20.04"), Some(true));
        assert_eq!(ended("rocky", "8.10"), Some(false));
        assert_eq!(ended("centos", "7"), Some(true));
        assert_eq!(ended("amzn", "2"), Some(true));
        assert_eq!(ended("plan9", "4"), None);
        assert_eq!(ended("ubuntu", "99.04"), None);
        let w = lookup("wolfi", None, today);
        assert_eq!(w.map(|e| (e.ended, e.date)), Some((false, None)));
        let d = lookup("debian", Some("12"), today);
        assert_eq!(d.and_then(|e| e.days_left), Some(581));
    }
}
