//! `rampart.toml`: project settings and suppressions, parsed with positions and validated with
//! every problem collected, unknown fields rejected.

use rampart_core::Severity;
use rampart_core::text::line_col;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The configuration file name looked up at the scan root.
pub const CONFIG_FILE: &str = "rampart.toml";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    fail_on: Option<Spanned<String>>,
    pss_level: Option<Spanned<String>>,
    pss_version: Option<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    images: Vec<Spanned<String>>,
    #[serde(default)]
    suppress: Vec<RawSuppression>,
    vulnerabilities: Option<RawVulns>,
    // Rule selection (`--rule` / `--skip-rule` in the file).
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    skip_rules: Vec<Spanned<String>>,
    // the supply chain: allowed registries and the trust policy (see `SupplyConfig`)
    registries: Option<RawRegistries>,
    policy: Option<Spanned<String>>,
    // images' intents (files or directories, relative to the configuration file)
    #[serde(default)]
    intents: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistries {
    allow: Spanned<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVulns {
    enabled: Option<bool>,
    db: Option<Spanned<String>>,
    #[serde(default)]
    advisories: Vec<Spanned<String>>,
    #[serde(default)]
    vex: Vec<Spanned<String>>,
    ignore_unfixed: Option<bool>,
    allow_partial_database: Option<bool>,
    #[serde(default)]
    ecosystems: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppression {
    rule: Option<Spanned<String>>,
    /// A vulnerability id (CVE, GHSA, OSV...): matches the finding's id or any alias.
    id: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    subject: Option<String>,
    expires: Option<Spanned<String>>,
}

/// A suppression from the configuration file.
#[derive(Debug, Clone)]
pub struct ConfigSuppression {
    /// The rule, resolved from the id or name written.
    pub rule: &'static rampart_core::Rule,
    pub reason: String,
    /// Globs on the finding's file path (relative to the scan root); empty means every file.
    pub paths: globset::GlobSet,
    pub path_text: Vec<String>,
    /// Exact subject (`Deployment shop/web`), when given.
    pub subject: Option<String>,
    pub expires: Option<jiff::civil::Date>,
    /// Line of the entry's `rule =` (or `id =`) in the file.
    pub line: u32,
    /// `id = "CVE-..."`: only the vulnerability with this id or alias (rule VUL001).
    pub vuln_id: Option<String>,
}

/// Validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where it was read from, if from a file.
    pub path: Option<PathBuf>,
    pub fail_on: Option<Severity>,
    pub pss_level: Option<rampart_pss::Level>,
    pub pss_version: Option<rampart_pss::Version>,
    pub exclude: Vec<String>,
    /// Images scanned with the paths (`images = [...]`), as written: registry references, or
    /// paths relative to the configuration file's directory.
    pub images: Vec<String>,
    pub suppressions: Vec<ConfigSuppression>,
    /// `[vulnerabilities]`.
    pub vulns: VulnConfig,
    /// `rules = [...]`: run only these (ids, names, globs such as `DF*`).
    pub rules: Vec<crate::select::RulePattern>,
    /// `skip-rules = [...]`: do not run these.
    pub skip_rules: Vec<crate::select::RulePattern>,
    /// `[registries]` and `policy`.
    pub supply: SupplyConfig,
    /// `intents = [...]`: intent files or directories, relative to the configuration file's
    /// directory, as written (workloads are checked against them: INT001).
    pub intents: Vec<String>,
}

/// The supply-chain settings: images must come from allowed registries (`[registries] allow =
/// [...]`, the patterns of the admission webhook's registries gate), and registry images are
/// verified against a trust policy (`policy = "trust.toml"`, the format of `rampart verify
/// --policy`; relative to the configuration file's directory, as written here).
#[derive(Debug, Clone, Default)]
pub struct SupplyConfig {
    pub registries: Option<rampart_sign::policy::ImageAllowList>,
    pub policy: Option<String>,
}

/// The `[vulnerabilities]` table: how images and SBOMs are checked for known vulnerabilities.
/// Paths are as written (relative to the configuration file's directory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VulnConfig {
    /// `enabled = false` turns the check off.
    pub enabled: Option<bool>,
    /// The advisory database file (default: the user's cache).
    pub db: Option<String>,
    /// OSV records (directories, archives, files) used instead of the database: imported into
    /// a temporary database for the scan (pinned or air-gapped advisories, the bundled example).
    pub advisories: Vec<String>,
    /// OpenVEX documents.
    pub vex: Vec<String>,
    /// Leave out vulnerabilities without a known fix.
    pub ignore_unfixed: Option<bool>,
    /// `allow-partial-database = true`: packages of ecosystems the advisory database does not
    /// cover are reported as not checked, and the scan is not incomplete for them.
    pub allow_partial_database: Option<bool>,
    /// `ecosystems = ["npm", "Debian:12"]`: the only ecosystems the database must cover (as
    /// `--vuln-ecosystems`, which replaces it).
    pub ecosystems: Vec<String>,
}

/// One problem in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// The configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {}", problems.iter().map(|p| format!("{}:{}: {}", p.line, p.column, p.message)).collect::<Vec<_>>().join("; "))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

impl Config {
    /// Reads and validates `path`. `known_rule` resolves a rule id or name to its id.
    pub fn load(
        path: &Path,
        known_rule: &dyn Fn(&str) -> Option<&'static rampart_core::Rule>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, known_rule)
            .map(|mut c| {
                c.path = Some(path.to_owned());
                c
            })
            .map_err(|problems| ConfigError::Invalid {
                path: path.to_owned(),
                problems,
            })
    }

    /// Parses and validates configuration text, collecting every problem.
    pub fn parse(
        text: &str,
        known_rule: &dyn Fn(&str) -> Option<&'static rampart_core::Rule>,
    ) -> Result<Config, Vec<ConfigProblem>> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            vec![ConfigProblem {
                line,
                column,
                message: e.message().to_owned(),
            }]
        })?;
        let mut problems = Vec::new();
        let mut problem = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_col(text, span.start);
            problems.push(ConfigProblem {
                line,
                column,
                message,
            });
        };
        let mut config = Config::default();
        if let Some(s) = &raw.fail_on {
            match s.get_ref().parse::<Severity>() {
                Ok(v) => config.fail_on = Some(v),
                Err(e) => problem(s.span(), format!("fail-on: {e}")),
            }
        }
        if let Some(s) = &raw.pss_level {
            match s.get_ref().parse::<rampart_pss::Level>() {
                Ok(v) => config.pss_level = Some(v),
                Err(_) => problem(
                    s.span(),
                    format!(
                        "pss-level: expected privileged, baseline or restricted, found `{}`",
                        s.get_ref()
                    ),
                ),
            }
        }
        if let Some(s) = &raw.pss_version {
            match s.get_ref().parse::<rampart_pss::Version>() {
                Ok(v) => config.pss_version = Some(v),
                Err(_) => problem(
                    s.span(),
                    format!(
                        "pss-version: expected a version like v1.33 or `latest`, found `{}`",
                        s.get_ref()
                    ),
                ),
            }
        }
        for e in &raw.exclude {
            match globset::Glob::new(e.get_ref()) {
                Ok(_) => config.exclude.push(e.get_ref().clone()),
                Err(err) => problem(e.span(), format!("exclude: invalid glob: {err}")),
            }
        }
        for i in &raw.images {
            if i.get_ref().trim().is_empty() {
                problem(
                    i.span(),
                    "images: expected an image reference or path, found an empty string".to_owned(),
                );
            } else {
                config.images.push(i.get_ref().trim().to_owned());
            }
        }
        for s in raw.suppress {
            let vuln_rule = &rampart_vuln::assess::KNOWN_VULNERABILITY;
            let vuln_id =
                s.id.as_ref()
                    .map(|i| (i.get_ref().trim().to_owned(), i.span()));
            let (rule, rule_span, what) = match (&s.rule, &vuln_id) {
                (None, None) => {
                    problem(
                        0..0,
                        "suppress: each entry needs a `rule` or a vulnerability `id`".to_owned(),
                    );
                    continue;
                }
                (None, Some((id, span))) => (vuln_rule, span.clone(), id.clone()),
                (Some(r), id) => {
                    let Some(rule) = known_rule(r.get_ref()) else {
                        problem(
                            r.span(),
                            format!(
                                "suppress: unknown rule `{}` (see `rampart rules`)",
                                r.get_ref()
                            ),
                        );
                        continue;
                    };
                    if id.is_some() && rule.id != vuln_rule.id {
                        problem(
                            r.span(),
                            format!(
                                "suppress: `id` names a vulnerability: its rule is {}, not `{}`",
                                vuln_rule.id,
                                r.get_ref()
                            ),
                        );
                        continue;
                    }
                    (rule, r.span(), r.get_ref().clone())
                }
            };
            if let Some((id, span)) = &vuln_id
                && id.is_empty()
            {
                problem(
                    span.clone(),
                    "suppress: empty vulnerability `id`".to_owned(),
                );
                continue;
            }
            let reason = match &s.reason {
                Some(r) if !r.get_ref().trim().is_empty() => r.get_ref().trim().to_owned(),
                _ => {
                    problem(
                        rule_span.clone(),
                        format!("suppress: `{what}` needs a `reason`"),
                    );
                    continue;
                }
            };
            let expires = match &s.expires {
                None => None,
                Some(d) => match d.get_ref().parse::<jiff::civil::Date>() {
                    Ok(date) => Some(date),
                    Err(_) => {
                        problem(
                            d.span(),
                            format!(
                                "suppress: expires must be a date like 2026-12-31, found `{}`",
                                d.get_ref()
                            ),
                        );
                        continue;
                    }
                },
            };
            let mut builder = globset::GlobSetBuilder::new();
            let mut path_text = Vec::new();
            let mut ok = true;
            for p in &s.paths {
                match globset::Glob::new(p.get_ref()) {
                    Ok(g) => {
                        builder.add(g);
                        path_text.push(p.get_ref().clone());
                    }
                    Err(err) => {
                        ok = false;
                        problem(p.span(), format!("suppress: invalid glob: {err}"));
                    }
                }
            }
            let Ok(paths) = builder.build() else { continue };
            if !ok {
                continue;
            }
            config.suppressions.push(ConfigSuppression {
                rule,
                reason,
                paths,
                path_text,
                subject: s.subject,
                expires,
                line: line_col(text, rule_span.start).0,
                vuln_id: vuln_id.map(|(id, _)| id),
            });
        }
        let catalog = crate::catalog();
        for (key, list, out) in [
            ("rules", &raw.rules, &mut config.rules),
            ("skip-rules", &raw.skip_rules, &mut config.skip_rules),
        ] {
            for p in list {
                match crate::select::RulePattern::parse(p.get_ref(), &catalog) {
                    Ok(pattern) => out.push(pattern),
                    Err(e) => problem(p.span(), format!("{key}: {e}")),
                }
            }
        }
        if let Some(v) = raw.vulnerabilities {
            let mut paths = |what: &str, list: Vec<Spanned<String>>| -> Vec<String> {
                let mut out = Vec::new();
                for p in list {
                    if p.get_ref().trim().is_empty() {
                        problem(p.span(), format!("vulnerabilities.{what}: empty path"));
                    } else {
                        out.push(p.get_ref().trim().to_owned());
                    }
                }
                out
            };
            config.vulns = VulnConfig {
                enabled: v.enabled,
                db: v.db.map(|d| d.into_inner()),
                advisories: paths("advisories", v.advisories),
                vex: paths("vex", v.vex),
                ignore_unfixed: v.ignore_unfixed,
                allow_partial_database: v.allow_partial_database,
                ecosystems: v
                    .ecosystems
                    .into_iter()
                    .map(|e| e.into_inner().trim().to_owned())
                    .filter(|e| !e.is_empty())
                    .collect(),
            };
        }
        if let Some(r) = raw.registries {
            let span = r.allow.span();
            match rampart_sign::policy::ImageAllowList::new(r.allow.into_inner()) {
                Ok(list) => config.supply.registries = Some(list),
                Err(list) => {
                    for e in list {
                        problem(span.clone(), format!("registries.allow: {e}"));
                    }
                }
            }
        }
        for i in raw.intents {
            if i.get_ref().trim().is_empty() {
                problem(i.span(), "intents: empty path".to_owned());
            } else {
                config.intents.push(i.get_ref().trim().to_owned());
            }
        }
        if let Some(p) = raw.policy {
            if p.get_ref().trim().is_empty() {
                problem(p.span(), "policy: empty path".to_owned());
            } else {
                config.supply.policy = Some(p.get_ref().trim().to_owned());
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static R: rampart_core::Rule = rampart_core::Rule {
        id: "K8S001",
        name: "resource-limits",
        title: "",
        severity: Severity::Medium,
        layer: rampart_core::Layer::Runtime,
        target: rampart_core::RuleTarget::Kubernetes,
        rationale: "",
        remediation: "",
        bad_example: "",
        good_example: "",
        references: &[],
    };

    fn known(id: &str) -> Option<&'static rampart_core::Rule> {
        matches!(id, "K8S001" | "resource-limits").then_some(&R)
    }

    #[test]
    fn collects_every_problem_with_positions() {
        let text = "fail-on = \"severe\"\n[[suppress]]\nrule = \"NOPE\"\nreason = \"x\"\n[[suppress]]\nrule = \"K8S001\"\n[[suppress]]\nrule = \"resource-limits\"\nreason = \"r\"\nexpires = \"soon\"\n";
        let problems = Config::parse(text, &known).err().unwrap_or_default();
        let lines: Vec<u32> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 3, 6, 10], "{problems:?}");
        assert!(problems[1].message.contains("unknown rule `NOPE`"));
        assert!(problems[2].message.contains("needs a `reason`"));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let problems = Config::parse("fail_on = \"high\"\n", &known)
            .err()
            .unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("unknown field"),
            "{problems:?}"
        );
    }

    #[test]
    fn registries_and_policy() {
        let text = "policy = \"trust.toml\"\n[registries]\nallow = [\"registry.example.com/**\", \"nginx\"]\n";
        let c = Config::parse(text, &known).ok().unwrap_or_default();
        assert_eq!(c.supply.policy.as_deref(), Some("trust.toml"));
        let allow = c.supply.registries.as_ref();
        assert_eq!(
            allow.map(|a| a.allows("docker.io", "library/nginx")),
            Some(true)
        );
        assert_eq!(
            allow.map(|a| a.allows("docker.io", "other/nginx")),
            Some(false)
        );
        let problems = Config::parse("[registries]\nallow = []\n", &known)
            .err()
            .unwrap_or_default();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].message.contains("at least one pattern"));
        let problems = Config::parse("[registries]\nallow = [\"a/[\"]\n", &known)
            .err()
            .unwrap_or_default();
        assert!(
            problems[0].message.contains("registries.allow: pattern"),
            "{problems:?}"
        );
    }

    #[test]
    fn valid_config() {
        let text = "fail-on = \"high\"\npss-level = \"baseline\"\nexclude = [\"vendor/**\"]\n[[suppress]]\nrule = \"resource-limits\"\nreason = \"batch jobs are bounded by the queue\"\npaths = [\"jobs/*.yaml\"]\nexpires = \"2030-01-31\"\n";
        let c = Config::parse(text, &known).ok();
        let c = c.as_ref();
        assert_eq!(c.and_then(|c| c.fail_on), Some(Severity::High));
        let s = c.and_then(|c| c.suppressions.first());
        assert_eq!(s.map(|s| s.rule.id), Some("K8S001"));
        assert_eq!(s.map(|s| s.paths.is_match("jobs/a.yaml")), Some(true));
        assert_eq!(s.and_then(|s| s.expires).map(|d| d.year()), Some(2030));
        assert_eq!(s.map(|s| s.line), Some(5));
    }
}
