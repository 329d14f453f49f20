//! The evaluator: a check and what its audits printed → PASS, FAIL, WARN or INFO, with the
//! sentences kube-bench prints.
//!
//! kube-bench's order, kept here: a scored check with neither type nor tests warns; `skip` is
//! INFO; `manual` is WARN; a check without test items fails (WARN when unscored); an audit that
//! could not run fails (WARN when unscored); otherwise each test item looks for its value in the
//! command line first and, only when the flag is not there and the check has a configuration
//! source, in the configuration, then in the environment: **a flag on the command line
//! overrides the configuration**. Items combine with `and` or `or`; a failing scored check is
//! FAIL, a failing unscored one WARN.

use crate::compare::compare;
use crate::jsonpath;
use crate::model::{BinOp, Check, CheckType, TestItem};
use rampart_k8s::yaml::Node;
use regex::Regex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::{LazyLock, Mutex};

/// What a check is judged on: the text its audits printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Input<'a> {
    /// The command line (or any `word=value` / `word: value` text) flags are looked up in:
    /// what the check's `audit` printed, e.g. `kube-apiserver --anonymous-auth=false ...` or
    /// `permissions=600`.
    pub command: &'a str,
    /// The configuration (JSON or YAML) `path` items are looked up in, when the check has a
    /// source for one (kube-bench: an `audit_config` command). `None`: paths are not looked
    /// at, as kube-bench does for a check without `audit_config`.
    pub config: Option<&'a str>,
    /// `NAME=value` lines `env` items are looked up in.
    pub env: &'a str,
    /// An audit that could not be run (kube-bench: a command that failed): the check fails
    /// (warns when unscored) with this reason, unless its type decides first.
    pub error: Option<&'a str>,
}

/// A check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Pass,
    Fail,
    Warn,
    Info,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pass => "PASS",
            State::Fail => "FAIL",
            State::Warn => "WARN",
            State::Info => "INFO",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a test item's value was looked up last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Command,
    Config,
    Env,
}

/// One test item's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    /// Where the value was looked up last (the command line, then the configuration, then the
    /// environment, as far as the value was not found).
    pub source: Source,
    /// Was the flag, path or variable found there?
    pub found: bool,
    /// The value found (`true` for a `--flag` without value); empty when not found.
    pub value: String,
    pub passed: bool,
    /// The item's sentence, e.g. `'--anonymous-auth' is equal to 'false'`.
    pub expected: String,
    /// Why the item could not be judged (a configuration that is not JSON or YAML, a path
    /// kube-bench's JSONPath rejects, an invalid flag pattern).
    pub error: Option<String>,
}

/// A check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub state: State,
    /// kube-bench's `expected_result`: the items' sentences joined with ` AND ` or ` OR `.
    pub expected: String,
    /// kube-bench's `actual_value`: the text the first item was judged on.
    pub actual: String,
    /// Why the state did not come from the tests (manual, skip, no tests, an audit error, an
    /// unknown `bin_op`).
    pub reason: Option<String>,
    /// Each test item's result, in order (empty when the tests were not run).
    pub items: Vec<ItemResult>,
}

impl Outcome {
    /// Why items could not be judged (a configuration that is neither JSON nor YAML, a path
    /// outside the supported JSONPath, an invalid flag pattern): input errors to report beside
    /// the state, which counts such an item as failed, as kube-bench does.
    pub fn errors(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|i| i.error.as_deref())
    }

    fn decided(state: State, reason: impl Into<String>) -> Outcome {
        Outcome {
            state,
            expected: String::new(),
            actual: String::new(),
            reason: Some(reason.into()),
            items: Vec::new(),
        }
    }
}

/// Judges `check` on `input`.
pub fn evaluate(check: &Check, input: &Input<'_>) -> Outcome {
    let failed = if check.scored {
        State::Fail
    } else {
        State::Warn
    };
    if check.scored && check.kind == CheckType::Automated && check.tests.is_none() {
        return Outcome::decided(State::Warn, "There are no tests");
    }
    match check.kind {
        CheckType::Skip => return Outcome::decided(State::Info, "Test marked as skip"),
        CheckType::Manual => return Outcome::decided(State::Warn, "Test marked as a manual test"),
        CheckType::Automated | CheckType::Other(_) => {}
    }
    let Some(tests) = check.tests.as_ref().filter(|t| !t.test_items.is_empty()) else {
        return Outcome::decided(failed, "No tests defined");
    };
    if let Some(error) = input.error {
        return Outcome::decided(failed, error);
    }
    let configs = Configs::default();
    let items: Vec<Run> = tests
        .test_items
        .iter()
        .map(|item| run_item(item, input, check.use_multiple_values, &configs))
        .collect();
    let actual = items.first().map(|i| i.actual.clone()).unwrap_or_default();
    let expected: Vec<&str> = items.iter().map(|i| i.result.expected.as_str()).collect();
    let (passed, expected) = match &tests.bin_op {
        BinOp::And => (
            items.iter().all(|i| i.result.passed),
            expected.join(" AND "),
        ),
        BinOp::Or => (items.iter().any(|i| i.result.passed), expected.join(" OR ")),
        BinOp::Other(op) => {
            let mut o = Outcome::decided(failed, format!("unknown binary operator for tests {op}"));
            o.actual = format!("unknown binary operator for tests {op}\n");
            return o;
        }
    };
    Outcome {
        state: if passed { State::Pass } else { failed },
        expected,
        actual,
        reason: None,
        items: items.into_iter().map(|i| i.result).collect(),
    }
}

struct Run {
    result: ItemResult,
    actual: String,
}

/// The configuration texts read while judging one check, each read once (every `path` item of
/// a check looks into the same text).
#[derive(Default)]
struct Configs {
    read: RefCell<HashMap<String, Rc<Result<Node, String>>>>,
}

impl Configs {
    fn get(&self, text: &str) -> Rc<Result<Node, String>> {
        if let Some(read) = self.read.borrow().get(text) {
            return Rc::clone(read);
        }
        let read = Rc::new(jsonpath::parse_config(text));
        self.read
            .borrow_mut()
            .insert(text.to_owned(), Rc::clone(&read));
        read
    }
}

fn run_item(item: &TestItem, input: &Input<'_>, multiple: bool, configs: &Configs) -> Run {
    let execute = |source, text| execute(item, source, text, multiple, configs);
    let mut run = execute(Source::Command, input.command);
    if !run.result.found {
        if let Some(config) = input.config {
            run = execute(Source::Config, config);
            if !run.result.found && !item.env.is_empty() {
                run = execute(Source::Env, input.env);
            }
        }
    }
    if !run.result.found && !item.env.is_empty() {
        run = execute(Source::Env, input.env);
    }
    run
}

/// One item on one source: each line on its own when `multiple`, stopping at the first that
/// fails.
fn execute(item: &TestItem, source: Source, text: &str, multiple: bool, configs: &Configs) -> Run {
    let text = text.trim_end_matches([' ', '\n']);
    // A flag or variable name is a regular expression: compiled once for all the lines.
    let lookup = match source {
        Source::Command => Lookup::Flag(flag_regex(&item.flag)),
        Source::Config => Lookup::Path(configs),
        Source::Env => Lookup::Env(env_regex(&item.env)),
    };
    let mut rows = if multiple {
        text.split('\n').collect()
    } else {
        vec![text]
    }
    .into_iter();
    // `split` yields at least one line, so there is always a first result.
    let mut result = evaluate_row(item, source, rows.next().unwrap_or(""), &lookup);
    for row in rows {
        if !result.passed {
            break;
        }
        result = evaluate_row(item, source, row, &lookup);
    }
    Run {
        result,
        actual: text.to_owned(),
    }
}

type Pattern = Result<Regex, String>;

/// How an item finds its value in one source.
enum Lookup<'c> {
    Flag(Pattern),
    Path(&'c Configs),
    Env(Pattern),
}

fn evaluate_row(item: &TestItem, source: Source, row: &str, lookup: &Lookup<'_>) -> ItemResult {
    let (name, found) = match lookup {
        Lookup::Flag(re) => (&item.flag, find_flag(&item.flag, re, row)),
        Lookup::Path(configs) => (&item.path, find_path(&item.path, &configs.get(row))),
        Lookup::Env(re) => (&item.env, Ok(find_env(&item.env, re, row))),
    };
    let (found, value) = match found {
        Ok(f) => f,
        Err(error) => {
            return ItemResult {
                source,
                found: false,
                value: String::new(),
                passed: false,
                expected: String::new(),
                error: Some(error),
            };
        }
    };
    let (expected, passed) = if item.set {
        match &item.compare {
            Some(c) if found && !c.op.as_str().is_empty() => compare(&c.op, &value, &c.value, name),
            _ => (format!("'{name}' is present"), found),
        }
    } else {
        (format!("'{name}' is not present"), !found)
    };
    ItemResult {
        source,
        found,
        value,
        passed,
        expected,
        error: None,
    }
}

/// Compiled patterns kept for reuse (the same flags recur in every check of every component);
/// at most this many, then patterns are compiled each time.
const MAX_CACHED_PATTERNS: usize = 4096;

static PATTERNS: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(Mutex::default);

/// A regular expression from a test item or a check, compiled within bounds (hostile
/// patterns fail to compile instead of growing without limit).
pub(crate) fn bounded_regex(pattern: &str) -> Result<Regex, regex::Error> {
    if let Some(re) = PATTERNS.lock().ok().and_then(|m| m.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .nest_limit(64)
        .build()?;
    if let Ok(mut cache) = PATTERNS.lock()
        && cache.len() < MAX_CACHED_PATTERNS
    {
        cache.insert(pattern.to_owned(), re.clone());
    }
    Ok(re)
}

/// kube-bench's flag pattern: `(FLAG)(=|: *)*(\S*) *`, the flag itself a regular expression
/// (Go's `\s` is [\t\n\f\r ]).
fn flag_regex(flag: &str) -> Pattern {
    bounded_regex(&format!("({flag})(=|: *)*([^\\t\\n\\x0C\\r ]*) *"))
        .map_err(|e| format!("invalid flag in testItem definition: {e}"))
}

fn env_regex(env: &str) -> Pattern {
    bounded_regex(&format!("{env}=.*(?:$|\\n)")).map_err(|e| e.to_string())
}

/// kube-bench's flag lookup: the flag is a substring of the text, then the first match of
/// its pattern gives the value; a `--flag` without value is `true`, another word without value
/// is the word itself (`root:root`).
fn find_flag(flag: &str, re: &Pattern, text: &str) -> Result<(bool, String), String> {
    if text.is_empty() || flag.is_empty() || !text.contains(flag) {
        return Ok((false, String::new()));
    }
    let re = re.as_ref().map_err(Clone::clone)?;
    let caps = re
        .captures(text)
        .ok_or_else(|| format!("invalid flag in testItem definition: {text}"))?;
    let value = caps.get(3).map_or("", |m| m.as_str());
    if !value.is_empty() {
        return Ok((true, value.to_owned()));
    }
    if flag.starts_with("--") {
        return Ok((true, "true".to_owned()));
    }
    Ok((true, caps.get(1).map_or("", |m| m.as_str()).to_owned()))
}

fn find_path(path: &str, config: &Result<Node, String>) -> Result<(bool, String), String> {
    let config = config.as_ref().map_err(Clone::clone)?;
    let value = jsonpath::execute(path, config)
        .map_err(|e| format!("unable to parse path expression \"{path}\": {e}"))?;
    Ok((!value.is_empty(), value))
}

/// kube-bench's environment lookup: the first `NAME=...` up to the end of its line.
fn find_env(env: &str, re: &Pattern, text: &str) -> (bool, String) {
    if text.is_empty() || env.is_empty() {
        return (false, String::new());
    }
    let Ok(re) = re else {
        return (false, String::new());
    };
    let Some(m) = re.find(text) else {
        return (false, String::new());
    };
    let out = m
        .as_str()
        .replacen('\n', "", 1)
        .replacen(&format!("{env}="), "", 1);
    (!out.is_empty(), out)
}
