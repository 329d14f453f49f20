//! Policy levels and policy versions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Pod Security Standards level.
///
/// Levels are cumulative: `Restricted` includes every `Baseline` control, and
/// `Privileged` allows everything. The ordering follows strictness
/// (`Privileged < Baseline < Restricted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Unrestricted: every pod is allowed.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Current pod hardening best practices.
    Restricted,
}

impl Level {
    /// The lowercase name used in namespace labels (`"baseline"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when parsing a [`Level`] or a [`Version`] fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    what: &'static str,
    input: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}", self.what, self.input)?;
        match self.what {
            "level" => f.write_str(r#" (expected "privileged", "baseline" or "restricted")"#),
            _ => f.write_str(r#" (expected "latest" or "v1.<minor>")"#),
        }
    }
}

impl std::error::Error for ParseError {}

impl FromStr for Level {
    type Err = ParseError;

    /// Parses the exact lowercase label values, like the admission controller.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "privileged" => Ok(Self::Privileged),
            "baseline" => Ok(Self::Baseline),
            "restricted" => Ok(Self::Restricted),
            _ => Err(ParseError {
                what: "level",
                input: s.to_owned(),
            }),
        }
    }
}

/// A Pod Security Standards policy version (`v1.<minor>` or `latest`).
///
/// Checks are versioned by Kubernetes minor release: evaluating at `v1.M`
/// applies, for each check, the newest variant introduced at or before `M`.
///
/// * [`Version::LATEST`] is a sentinel (`u32::MAX.u32::MAX`) that displays
///   and parses as `latest` and evaluates like the newest known policy.
/// * Any version newer than [`Version::NEWEST_POLICY`] evaluates like it.
/// * Versions with major `0` evaluate like `v1.0`, and majors above `1` like
///   the newest policy, so a hand-built version never disables checks.
///
/// Serialized as its display string (`"v1.29"` or `"latest"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Version {
    /// Major version; always 1 for parsed versions.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl Version {
    /// The `latest` version: always the newest policy this crate knows.
    pub const LATEST: Self = Self {
        major: u32::MAX,
        minor: u32::MAX,
    };

    /// The newest minor version at which any check changed (`v1.37`).
    pub const NEWEST_POLICY: Self = Self::v1(37);

    /// Creates a version from its parts.
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Creates the version `v1.<minor>`.
    pub const fn v1(minor: u32) -> Self {
        Self::new(1, minor)
    }

    /// Whether this is the [`Version::LATEST`] sentinel.
    pub const fn is_latest(self) -> bool {
        self.major == Self::LATEST.major && self.minor == Self::LATEST.minor
    }

    /// The `v1` minor whose policy this version evaluates with, clamped to
    /// `0..=NEWEST_POLICY.minor`.
    pub const fn policy_minor(self) -> u32 {
        let newest = Self::NEWEST_POLICY.minor;
        if self.major == 0 {
            0
        } else if self.major > 1 || self.minor > newest {
            newest
        } else {
            self.minor
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_latest() {
            f.write_str("latest")
        } else {
            write!(f, "v{}.{}", self.major, self.minor)
        }
    }
}

impl FromStr for Version {
    type Err = ParseError;

    /// Accepts `latest`, `v1.<minor>` and `1.<minor>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseError {
            what: "version",
            input: s.to_owned(),
        };
        if s == "latest" {
            return Ok(Self::LATEST);
        }
        let rest = s.strip_prefix('v').unwrap_or(s);
        let (major, minor) = rest.split_once('.').ok_or_else(err)?;
        let number = |part: &str| -> Option<u32> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        match (number(major), number(minor)) {
            (Some(1), Some(minor)) => Ok(Self::v1(minor)),
            _ => Err(err()),
        }
    }
}

impl From<Version> for String {
    fn from(v: Version) -> Self {
        v.to_string()
    }
}

impl TryFrom<String> for Version {
    type Error = ParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}
