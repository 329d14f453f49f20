//! What was skipped and why: bad input never disappears silently.

use std::collections::BTreeMap;

/// How many examples of skipped input are kept (the counts are always complete).
const MAX_EXAMPLES: usize = 50;

/// Skipped input, counted by reason, with the first examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skips {
    /// Count per reason.
    pub counts: BTreeMap<String, u64>,
    /// The first skipped items.
    pub examples: Vec<Skip>,
}

/// One skipped item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skip {
    /// Why (one of a few fixed phrases: the key of [`Skips::counts`]).
    pub reason: String,
    /// The file, archive entry or package it was in.
    pub file: String,
    /// What exactly.
    pub detail: String,
}

impl Skips {
    /// Counts one skipped item.
    pub fn add(&mut self, reason: &str, file: &str, detail: &str) {
        *self.counts.entry(reason.to_owned()).or_default() += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(Skip {
                reason: reason.to_owned(),
                file: file.to_owned(),
                detail: detail.to_owned(),
            });
        }
    }

    /// All skipped items.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether nothing was skipped.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Adds `other`'s counts and examples.
    pub fn merge(&mut self, other: Skips) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        let room = MAX_EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}
