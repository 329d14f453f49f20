//! The benchmark's data: a controls file (one section of a benchmark: master, etcd,
//! controlplane, node or policies), its groups, checks and test items, as kube-bench reads them
//! from `cfg/<benchmark>/*.yaml`.

use std::fmt;

/// One controls file: a section of a benchmark.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Controls {
    /// The benchmark, e.g. `cis-1.12` (`version:`).
    pub version: String,
    /// The section number, e.g. `1` (`id:`).
    pub id: String,
    /// The section title (`text:`).
    pub text: String,
    /// The node type the section applies to: `master`, `etcd`, `controlplane`, `node`,
    /// `policies` (`type:`).
    pub node_type: String,
    pub groups: Vec<Group>,
}

impl Controls {
    /// Every check of every group, in file order.
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.groups.iter().flat_map(|g| g.checks.iter())
    }

    /// The check with this id, if any.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks().find(|c| c.id == id)
    }
}

/// A group of checks (`1.2 API Server`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    pub id: String,
    pub text: String,
    /// `type: skip` skips every check of the group (kube-bench gives them the type; the loader
    /// does the same).
    pub kind: CheckType,
    pub checks: Vec<Check>,
}

/// One check (`1.2.1 Ensure that the --anonymous-auth argument is set to false`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Check {
    pub id: String,
    pub text: String,
    /// `type:` manual, skip, or nothing (an automated check).
    pub kind: CheckType,
    /// The shell command whose output flags are looked up in (kube-bench runs it; rampart gives
    /// the text itself in [`crate::Input`]).
    pub audit: String,
    /// The shell command printing the configuration `path` items are looked up in. A check
    /// without one never looks into a configuration.
    pub audit_config: String,
    /// The shell command printing `NAME=value` lines `env` items are looked up in.
    pub audit_env: String,
    pub tests: Option<Tests>,
    pub remediation: String,
    /// A failing scored check is FAIL, a failing unscored one WARN.
    pub scored: bool,
    /// Each line of the output is tested on its own and all must pass
    /// (`use_multiple_values`).
    pub use_multiple_values: bool,
}

/// A check's `type:`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CheckType {
    /// No type: the tests decide.
    #[default]
    Automated,
    /// `manual`: always WARN, a person must judge.
    Manual,
    /// `skip`: always INFO.
    Skip,
    /// Any other word (kube-bench runs the tests, as for [`CheckType::Automated`], except that a
    /// scored check without tests fails instead of warning).
    Other(String),
}

impl CheckType {
    pub fn parse(s: &str) -> CheckType {
        match s {
            "manual" => CheckType::Manual,
            "skip" => CheckType::Skip,
            s if s.trim().is_empty() => CheckType::Automated,
            s => CheckType::Other(s.to_owned()),
        }
    }
}

/// The tests of a check: items combined with `and` (the default) or `or`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tests {
    pub bin_op: BinOp,
    pub test_items: Vec<TestItem>,
}

/// How test items combine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BinOp {
    /// `and`, or no `bin_op`.
    #[default]
    And,
    Or,
    /// Anything else: kube-bench fails the check ("unknown binary operator").
    Other(String),
}

impl BinOp {
    pub fn parse(s: &str) -> BinOp {
        match s {
            "" | "and" => BinOp::And,
            "or" => BinOp::Or,
            s => BinOp::Other(s.to_owned()),
        }
    }
}

/// One test item: where to look (`flag` in the command line, `path` in the configuration,
/// `env` in the environment) and what must hold (`set`, `compare`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestItem {
    /// Looked up in the command line (`--anonymous-auth`, or any word such as `permissions`
    /// or `root:root` in an audit's output).
    pub flag: String,
    /// A JSONPath template into the configuration (`{.authentication.anonymous.enabled}`).
    pub path: String,
    /// A variable name looked up in `NAME=value` lines.
    pub env: String,
    /// Must the value be present (the default) or absent?
    pub set: bool,
    pub compare: Option<Compare>,
}

impl Default for TestItem {
    fn default() -> Self {
        TestItem {
            flag: String::new(),
            path: String::new(),
            env: String::new(),
            set: true,
            compare: None,
        }
    }
}

/// A comparison of the value found with `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub op: Op,
    /// As written in the file (kube-bench reads it into a string: `value: no` is `no`,
    /// `value: 0600` is `0600`).
    pub value: String,
}

/// A comparison operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    Has,
    NotHave,
    Regex,
    ValidElements,
    Bitmask,
    /// An unknown or empty operator: the comparison is false and says nothing.
    Other(String),
}

impl Op {
    pub fn parse(s: &str) -> Op {
        match s {
            "eq" => Op::Eq,
            "noteq" => Op::NotEq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "has" => Op::Has,
            "nothave" => Op::NotHave,
            "regex" => Op::Regex,
            "valid_elements" => Op::ValidElements,
            "bitmask" => Op::Bitmask,
            s => Op::Other(s.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Op::Eq => "eq",
            Op::NotEq => "noteq",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Has => "has",
            Op::NotHave => "nothave",
            Op::Regex => "regex",
            Op::ValidElements => "valid_elements",
            Op::Bitmask => "bitmask",
            Op::Other(s) => s,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
