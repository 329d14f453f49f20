//! What changes between two revisions: connections added, removed, and changed (the same pair,
//! other ports). Pairs are matched by their endpoints' names, so a workload renamed is a
//! removal and an addition.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ports::ConnSet;
use crate::reach::{Connection, Endpoint};

/// How a pair's connections changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// allowed now, not before
    Added,
    /// allowed before, not now
    Removed,
    /// allowed before and now, with other connections
    Changed,
}

/// One pair whose connections differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// how
    pub kind: ChangeKind,
    /// from
    pub src: Endpoint,
    /// to
    pub dst: Endpoint,
    /// before (empty when added)
    pub before: ConnSet,
    /// after (empty when removed)
    pub after: ConnSet,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = match self.kind {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        };
        write!(
            f,
            "{mark} {} => {} : {} -> {}",
            self.src, self.dst, self.before, self.after
        )
    }
}

/// The changes from `before` to `after`, in the order of their endpoints.
pub fn diff(before: &[Connection], after: &[Connection]) -> Vec<Change> {
    let index = |v: &[Connection]| -> BTreeMap<(String, String), Connection> {
        v.iter()
            .map(|c| ((c.src.to_string(), c.dst.to_string()), c.clone()))
            .collect()
    };
    let (a, b) = (index(before), index(after));
    let mut out = Vec::new();
    for (k, c) in &a {
        match b.get(k) {
            None => out.push(Change {
                kind: ChangeKind::Removed,
                src: c.src.clone(),
                dst: c.dst.clone(),
                before: c.conns.clone(),
                after: ConnSet::none(),
            }),
            Some(n) if n.conns != c.conns => out.push(Change {
                kind: ChangeKind::Changed,
                src: c.src.clone(),
                dst: c.dst.clone(),
                before: c.conns.clone(),
                after: n.conns.clone(),
            }),
            Some(_) => {}
        }
    }
    for (k, c) in &b {
        if !a.contains_key(k) {
            out.push(Change {
                kind: ChangeKind::Added,
                src: c.src.clone(),
                dst: c.dst.clone(),
                before: ConnSet::none(),
                after: c.conns.clone(),
            });
        }
    }
    out.sort_by(|x, y| {
        (x.src.to_string(), x.dst.to_string()).cmp(&(y.src.to_string(), y.dst.to_string()))
    });
    out
}
