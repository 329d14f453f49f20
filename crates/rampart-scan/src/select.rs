//! Rule selection: `--rule` / `--skip-rule` and `rules` / `skip-rules` of `rampart.toml`. Rules
//! not selected still run (their cost is small), but their controls and findings are taken out
//! of the assessment and the layers they would have assessed say so (`partly assessed`, or `not
//! assessed` because of the selection), never `holds` because a rule was skipped.

use rampart_core::{Assessment, Layer, Rule};
use std::collections::{BTreeMap, BTreeSet};

/// One pattern: a rule id or name, or a glob on ids (`DF*`, `K8S00?`), case-insensitive.
#[derive(Debug, Clone)]
pub struct RulePattern {
    /// As written.
    pub text: String,
    /// The ids it matches, resolved against the catalog once.
    ids: BTreeSet<&'static str>,
}

impl RulePattern {
    /// Resolves `text` against `catalog`; a pattern that matches no rule is an error (a typo
    /// must not silently select nothing).
    pub fn parse(text: &str, catalog: &[&'static Rule]) -> Result<RulePattern, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty rule pattern".to_owned());
        }
        let ids: BTreeSet<&'static str> = if t.contains(['*', '?', '[']) {
            let glob = globset::GlobBuilder::new(&t.to_ascii_uppercase())
                .literal_separator(false)
                .build()
                .map_err(|e| format!("invalid rule glob `{t}`: {e}"))?
                .compile_matcher();
            catalog
                .iter()
                .filter(|r| glob.is_match(r.id))
                .map(|r| r.id)
                .collect()
        } else {
            catalog
                .iter()
                .filter(|r| r.id.eq_ignore_ascii_case(t) || r.name == t)
                .map(|r| r.id)
                .collect()
        };
        if ids.is_empty() {
            return Err(format!("`{t}` matches no rule (see `rampart rules`)"));
        }
        Ok(RulePattern {
            text: t.to_owned(),
            ids,
        })
    }

    fn matches(&self, id: &str) -> bool {
        self.ids.contains(id)
    }
}

/// Which rules a scan runs: all, or only `only` (when not empty), minus `skip`.
#[derive(Debug, Clone, Default)]
pub struct RuleSelection {
    pub only: Vec<RulePattern>,
    pub skip: Vec<RulePattern>,
}

impl RuleSelection {
    /// Whether the rule with this id is run.
    pub fn selects(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|p| p.matches(id)))
            && !self.skip.iter().any(|p| p.matches(id))
    }

    /// Whether every rule is run.
    pub fn is_all(&self) -> bool {
        self.only.is_empty() && self.skip.is_empty()
    }

    /// Takes the controls and findings of rules not selected out of `assessment`; returns, per
    /// layer, the rules that had controls there (what the layer map must name as not run).
    pub fn apply(&self, assessment: &mut Assessment) -> BTreeMap<Layer, BTreeSet<&'static str>> {
        let mut skipped: BTreeMap<Layer, BTreeSet<&'static str>> = BTreeMap::new();
        if self.is_all() {
            return skipped;
        }
        assessment.controls.retain(|c| {
            let keep = self.selects(c.rule_id);
            if !keep {
                skipped.entry(c.layer).or_default().insert(c.rule_id);
            }
            keep
        });
        assessment.findings.retain(|f| {
            let keep = self.selects(f.rule_id);
            if !keep {
                skipped.entry(f.layer).or_default().insert(f.rule_id);
            }
            keep
        });
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_names_and_globs() {
        let catalog = crate::catalog();
        let p = |t: &str| RulePattern::parse(t, &catalog);
        let df = p("df*").map_err(|e| e.to_string());
        assert!(
            df.as_ref()
                .is_ok_and(|p| p.matches("DF001") && !p.matches("K8S001"))
        );
        assert!(p("privileged").is_ok_and(|p| p.matches("PSS001")));
        assert!(p("pss001").is_ok_and(|p| p.matches("PSS001")));
        assert!(p("NOPE*").is_err_and(|e| e.contains("matches no rule")));
        assert!(p("DF999").is_err());
        let sel = RuleSelection {
            only: vec![p("DF*").unwrap_or_else(|e| panic!("{e}"))],
            skip: vec![p("DF001").unwrap_or_else(|e| panic!("{e}"))],
        };
        assert!(sel.selects("DF002") && !sel.selects("DF001") && !sel.selects("PSS001"));
    }
}
