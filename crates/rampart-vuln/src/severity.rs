//! Severity of an advisory: computed from its CVSS vector when it has one (the `cvss` crate,
//! RustSec's implementation of the v3.0/v3.1/v4.0 specifications), else the word its database
//! gives (GHSA's `database_specific.severity`, Ubuntu's priority).

use std::str::FromStr;

use rampart_core::Severity;
use serde::Serialize;

use crate::osv::SeverityEntry;

/// The severity rampart gives an advisory, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rating {
    /// The rating.
    pub severity: Severity,
    /// The CVSS base score, when computed from a vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The vector or word it was computed from.
    pub from: String,
}

/// The rating of `entries` (package-level entries first, then the record's), else of the
/// database's word. CVSS v3.x is preferred (what NVD, GHSA and the peer scanners report), then
/// v4.0, then v2. `None` when nothing usable is there.
pub fn rate(entries: &[&SeverityEntry], db_word: Option<&str>) -> Option<Rating> {
    for kind in ["CVSS_V3", "CVSS_V4", "CVSS_V2"] {
        for e in entries.iter().filter(|e| e.kind == kind) {
            if let Ok(cvss) = cvss::Cvss::from_str(e.score.trim()) {
                let score = cvss.score();
                return Some(Rating {
                    severity: from_score(score),
                    score: Some(score),
                    from: e.score.trim().to_owned(),
                });
            }
        }
    }
    for e in entries
        .iter()
        .filter(|e| e.kind.eq_ignore_ascii_case("ubuntu"))
    {
        if let Some(s) = from_word(&e.score) {
            return Some(Rating {
                severity: s,
                score: None,
                from: e.score.clone(),
            });
        }
    }
    let word = db_word?;
    from_word(word).map(|s| Rating {
        severity: s,
        score: None,
        from: word.to_owned(),
    })
}

/// The qualitative rating of a CVSS score (the same bands in v3 and v4).
pub fn from_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// A severity word as databases spell it (GHSA `MODERATE`, Ubuntu `negligible`, Debian urgency).
pub fn from_word(word: &str) -> Option<Severity> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" | "important" => Severity::High,
        "medium" | "moderate" => Severity::Medium,
        "low" => Severity::Low,
        "negligible" | "unimportant" | "none" | "info" => Severity::Info,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn e(kind: &str, score: &str) -> SeverityEntry {
        SeverityEntry {
            kind: kind.into(),
            score: score.into(),
        }
    }

    /// Scores from FIRST's calculators for these vectors.
    #[test]
    fn cvss_vectors_are_scored() {
        let v3 = e("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        let r = rate(&[&v3], None).unwrap();
        assert_eq!((r.severity, r.score), (Severity::Critical, Some(9.8)));
        let v3m = e("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N");
        assert_eq!(rate(&[&v3m], None).unwrap().score, Some(6.1));
        let v4 = e(
            "CVSS_V4",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        );
        let r = rate(&[&v4], None).unwrap();
        assert_eq!((r.severity, r.score), (Severity::Critical, Some(9.3)));
        // v3 preferred when both are there.
        assert_eq!(rate(&[&v4, &v3m], None).unwrap().score, Some(6.1));
    }

    #[test]
    fn words_when_no_vector() {
        assert_eq!(
            rate(&[], Some("MODERATE")).unwrap().severity,
            Severity::Medium
        );
        let bad = e("CVSS_V3", "CVSS:3.1/garbage");
        assert_eq!(rate(&[&bad], Some("LOW")).unwrap().severity, Severity::Low);
        assert_eq!(
            rate(&[&e("Ubuntu", "negligible")], None).unwrap().severity,
            Severity::Info
        );
        assert!(rate(&[], Some("whatever")).is_none());
        assert!(rate(&[], None).is_none());
    }
}
