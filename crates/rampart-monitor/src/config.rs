//! `monitor.toml`: which rules, what to do when one matches, where alerts go.
//!
//! ```toml
//! rules = ["/etc/rampart/monitor/falco_rules.yaml", "local_rules.yaml"]  # default: Falco's stable set
//! mode = "enforce"            # or "audit": answers are recorded as would-have, nothing is killed
//! include-host = false        # default: derived from the rules (any rule that can match a host event)
//! ring-buffer = "16MiB"       # kernel ring buffer size
//! threads = 2                 # rule-evaluation threads (default: the CPUs, at most 4)
//! append-output = "..."       # added to every output (default: container and pod, as falco -pk)
//! rule-matching = "first"     # or "all": Falco's rule_matching (first: one alert per event)
//! state-roots = ["/run/k3s/containerd/runc"]  # runtime state roots besides the defaults
//!
//! [output]
//! format = "json"             # json (Falco's JSON lines) | text (Falco's one-line form)
//! file = "-"                  # or a path, appended
//!
//! [[webhook]]
//! url = "http://alerts.example:8080/falco"
//! queue = 1024                # alerts waiting; more are dropped and counted
//! retries = 3
//! timeout-ms = 2000
//!
//! [metrics]
//! listen = "127.0.0.1:9376"   # /metrics (Prometheus), /status, /healthz
//!
//! [[action]]                  # first match wins; no match: alert
//! rule = "Terminal shell in container"   # a rule name or a glob over names
//! do = "kill-process"         # alert | kill-process | kill-container
//!
//! [[action]]
//! priority = "critical"       # rules at or above this priority
//! do = "kill-container"
//!
//! [[enforce]]                 # the intent of an image, enforced in the kernel (`rampart intent compile`)
//! name = "web"                # its runtime rules' prefix: denials are alerts of `web: ...` rules
//! image = "registry.example/web:1.4@sha256:..."   # containers running this digest (or reference)
//! policy = "web.enforce.json" # relative to this file
//! mode = "audit"              # only report what would be denied (default: the policy's mode)
//!
//! [[image]]                   # drift: the image a container runs, by reference or digest
//! ref = "registry.example/app:1.0"
//! source = "images/app"       # OCI layout, docker archive or root directory (relative to this file)
//! ```

use rampart_core::text::line_col;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Largest `monitor.toml` read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: u32,
        column: u32,
        message: String,
    },
    /// A value is out of range or refers to nothing.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Whether answers are carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Answers are carried out.
    #[default]
    Enforce,
    /// Answers are only recorded (`"would": "kill-process"` in the alert).
    Audit,
}

/// What to do when a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Send the alert to the sinks.
    #[default]
    Alert,
    /// Alert, and kill the offending process before it runs another instruction.
    KillProcess,
    /// Alert, and kill every process of the container.
    KillContainer,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::KillProcess => "kill-process",
            Action::KillContainer => "kill-container",
        }
    }
}

/// Falco's `rule_matching`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleMatching {
    /// The first matching rule only (Falco's default).
    #[default]
    First,
    /// Every matching rule.
    All,
}

/// Alert line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Falco's JSON lines.
    #[default]
    Json,
    /// Falco's one-line text form.
    Text,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputConfig {
    #[serde(default)]
    pub format: Format,
    /// `-` (standard output, the default) or a file appended to.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default = "default_queue")]
    pub queue: usize,
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_queue() -> usize {
    1024
}
fn default_retries() -> u32 {
    3
}
fn default_timeout() -> u64 {
    2000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetricsConfig {
    pub listen: SocketAddr,
}

/// One `[[action]]`: which rules, and what to do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ActionConfig {
    /// A rule name, or a glob over rule names (`*`, `?`).
    pub rule: Option<String>,
    /// Rules at or above this priority (Falco's names, any case).
    pub priority: Option<String>,
    /// Rules carrying this tag.
    pub tag: Option<String>,
    #[serde(rename = "do")]
    pub action: Action,
}

/// One `[[image]]`: where to read an image that containers run (for drift).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageConfig {
    /// The reference or digest containers name it by.
    #[serde(rename = "ref")]
    pub reference: String,
    /// OCI layout, docker archive or root directory.
    pub source: PathBuf,
}

/// `[[enforce]]`: the containers of an image get its intent's compiled policy applied in the
/// kernel (files by fanotify permission events, connections by cgroup programs); each denial is
/// an alert under the intent's runtime rule of the same step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnforceConfig {
    /// the workload's name, the prefix of its runtime rules (`NAME: executable outside the intent`)
    pub name: String,
    /// the image: a reference with its digest (`repo:tag@sha256:...`), or a digest
    pub image: String,
    /// the compiled policy (`NAME.enforce.json`; relative to this file)
    pub policy: PathBuf,
    /// `enforce` (deny) or `audit` (only report); default: the policy's own `mode`. The
    /// monitor's top-level `mode` is the rules' answers, not this.
    pub mode: Option<Mode>,
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MonitorConfig {
    /// Rules files or directories (their `*.yaml`/`*.yml`, sorted), in load order. Empty: the
    /// embedded default (Falco's stable ruleset).
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    #[serde(default)]
    pub mode: Mode,
    pub include_host: Option<bool>,
    /// Ring buffer size (`"16MiB"`, `"4096KiB"`, bytes): a power of two of at least 4 KiB.
    pub ring_buffer: Option<String>,
    pub threads: Option<usize>,
    /// `first` (Falco's default: an event raises the alert of the first matching rule, in load
    /// order) or `all` (every matching rule alerts).
    #[serde(default)]
    pub rule_matching: RuleMatching,
    /// Appended to every syscall rule's output (Falco's `append_output`); default: the
    /// container and pod fields Falco's `-pk` adds; `""` appends nothing.
    pub append_output: Option<String>,
    #[serde(default)]
    pub output: OutputConfig,
    #[serde(default)]
    pub webhook: Vec<WebhookConfig>,
    pub metrics: Option<MetricsConfig>,
    #[serde(default, rename = "action")]
    pub actions: Vec<ActionConfig>,
    #[serde(default, rename = "image")]
    pub images: Vec<ImageConfig>,
    /// Intents enforced in the kernel on the containers of their images (see `enforce`).
    #[serde(default)]
    pub enforce: Vec<EnforceConfig>,
    /// Runtime state roots looked in besides the defaults (`/run/runc`, containerd's, Docker's,
    /// crun's): a runc started with `--root DIR`, k3s's containerd.
    #[serde(default)]
    pub state_roots: Vec<PathBuf>,
}

const PRIORITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// Falco's priority rank (0 = emergency): its names and the aliases it accepts.
pub fn priority_rank(name: &str) -> Option<usize> {
    let n = name.to_ascii_lowercase();
    let n = match n.as_str() {
        "info" => "informational",
        "warn" => "warning",
        "err" => "error",
        "crit" => "critical",
        "emerg" => "emergency",
        other => other,
    };
    PRIORITIES.iter().position(|p| *p == n)
}

/// Parses a size: bytes, or a number with KiB/MiB/GiB (KB/MB/GB, K/M/G read the same).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Matches `*` and `?` globs (rule names carry no path separators).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = ni;
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ni = mark;
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

impl MonitorConfig {
    /// Reads and validates `path`; relative paths in it are made relative to its directory.
    pub fn load(path: &Path) -> Result<MonitorConfig, ConfigError> {
        use std::io::Read;
        let io = |cause| ConfigError::Io {
            path: path.to_owned(),
            cause,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                message: format!("larger than {MAX_CONFIG_BYTES} bytes"),
            });
        }
        let mut config = Self::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for r in &mut config.rules {
            if r.is_relative() {
                *r = base.join(&*r);
            }
        }
        for i in &mut config.images {
            if i.source.is_relative() {
                i.source = base.join(&i.source);
            }
        }
        for e in &mut config.enforce {
            if e.policy.is_relative() {
                e.policy = base.join(&e.policy);
            }
        }
        if let Some(f) = &mut config.output.file
            && f.is_relative()
            && f.as_os_str() != "-"
        {
            *f = base.join(&*f);
        }
        Ok(config)
    }

    /// Parses and validates the text of a `monitor.toml` read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<MonitorConfig, ConfigError> {
        let config: MonitorConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ConfigError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        let mut problems = Vec::new();
        for (i, a) in config.actions.iter().enumerate() {
            if a.rule.is_none() && a.priority.is_none() && a.tag.is_none() {
                problems.push(format!(
                    "[[action]] #{}: give `rule`, `priority` or `tag` (an action for every rule is `priority = \"debug\"`)",
                    i + 1
                ));
            }
            if let Some(p) = &a.priority
                && priority_rank(p).is_none()
            {
                problems.push(format!(
                    "[[action]] #{}: unknown priority `{p}` (expected one of {})",
                    i + 1,
                    PRIORITIES.join(", ")
                ));
            }
        }
        if let Some(r) = &config.ring_buffer {
            match parse_size(r) {
                Some(n) if n >= 4096 && n.is_power_of_two() && n <= 1 << 30 => {}
                _ => problems.push(format!(
                    "ring-buffer `{r}`: expected a power of two between 4KiB and 1GiB"
                )),
            }
        }
        if config.threads == Some(0) {
            problems.push("threads: at least 1".to_owned());
        }
        for w in &config.webhook {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                problems.push(format!(
                    "webhook url `{}`: expected http:// or https://",
                    w.url
                ));
            }
            if w.queue == 0 {
                problems.push(format!("webhook `{}`: queue must be at least 1", w.url));
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                message: problems.join("; "),
            })
        }
    }

    /// The answer to a rule match: the first `[[action]]` that selects the rule, else alert.
    pub fn action_for(&self, rule: &str, priority: &str, tags: &[String]) -> Action {
        let rank = priority_rank(priority);
        for a in &self.actions {
            let by_rule = a.rule.as_deref().is_none_or(|g| glob_match(g, rule));
            let by_priority = a
                .priority
                .as_deref()
                .and_then(priority_rank)
                .is_none_or(|want| rank.is_some_and(|r| r <= want));
            let by_tag = a.tag.as_deref().is_none_or(|t| tags.iter().any(|x| x == t));
            if by_rule && by_priority && by_tag {
                return a.action;
            }
        }
        Action::Alert
    }

    /// Ring buffer bytes (validated by [`MonitorConfig::parse`]).
    pub fn ring_buffer_bytes(&self) -> Option<u64> {
        self.ring_buffer.as_deref().and_then(parse_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MonitorConfig, ConfigError> {
        MonitorConfig::parse(text, Path::new("monitor.toml"))
    }

    #[test]
    fn actions_first_match_by_rule_glob_priority_or_tag() {
        let c = parse(
            "[[action]]\nrule = \"Terminal shell*\"\ndo = \"kill-process\"\n\
             [[action]]\npriority = \"critical\"\ndo = \"kill-container\"\n\
             [[action]]\ntag = \"T1611\"\ndo = \"kill-process\"\n",
        )
        .unwrap_or_default();
        assert_eq!(
            c.action_for("Terminal shell in container", "NOTICE", &[]),
            Action::KillProcess
        );
        assert_eq!(c.action_for("X", "EMERGENCY", &[]), Action::KillContainer);
        assert_eq!(c.action_for("X", "Critical", &[]), Action::KillContainer);
        assert_eq!(c.action_for("X", "WARNING", &[]), Action::Alert);
        assert_eq!(
            c.action_for("X", "WARNING", &["T1611".to_owned()]),
            Action::KillProcess
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_position() {
        match parse("mode = \"enforce\"\nrulez = []\n") {
            Err(ConfigError::Parse { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("rulez"), "{message}");
            }
            other => unreachable!("{other:?}"),
        }
        match parse("ring-buffer = \"3MiB\"\n[[action]]\ndo = \"alert\"\npriority = \"loud\"\n") {
            Err(ConfigError::Invalid { message, .. }) => {
                assert!(message.contains("ring-buffer"), "{message}");
                assert!(message.contains("unknown priority `loud`"), "{message}");
            }
            other => unreachable!("{other:?}"),
        }
    }

    #[test]
    fn sizes_and_globs() {
        assert_eq!(parse_size("16MiB"), Some(16 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("2 G"), Some(2 << 30));
        assert_eq!(parse_size("lots"), None);
        assert!(glob_match("*shell*", "Run shell untrusted"));
        assert!(glob_match(
            "Read sensitive file ?ntrusted",
            "Read sensitive file untrusted"
        ));
        assert!(!glob_match(
            "Read*trusted",
            "Read sensitive file trusted after startup"
        ));
        assert!(glob_match("*", ""));
    }
}
