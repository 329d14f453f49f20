//! Flows declared by intents (`intent.toml`, rampart-intent): what each workload whose image
//! has an intent listens on and for whom, and whom it talks to, over the workloads of a
//! manifest tree, as flows for [`crate::generate`].
//!
//! The intent's own NetworkPolicies (as `rampart intent compile` writes them, placed on the
//! workload's pods) are handed to the engine with no other policy: a connection is declared
//! when both of its ends allow it, an end without an intent allowing everything. So a
//! connection between two workloads with intents needs the source's egress and the
//! destination's `listen`; a connection with one intent-bearing end needs that end's word; a
//! connection between two workloads without intents is declared by nobody and is no flow. One
//! source of truth for what an intent means to the network: the compiler's.

use std::collections::{BTreeMap, BTreeSet};

use rampart_intent::conform::IntentSet;

use crate::generate::{Flow, selector_of};
use crate::model::{Cluster, PeerName};
use crate::reach::{Endpoint, Engine};

/// What the intents declare over a cluster.
#[derive(Debug, Default)]
pub struct Declared {
    /// the flows, one per ordered pair
    pub flows: Vec<Flow>,
    /// each workload that has an intent, with the intents' origins
    pub workloads: BTreeMap<PeerName, Vec<String>>,
    /// what the user must know: intents that match no workload, several intents on one pod,
    /// what the engine could not model (IPv6 blocks, hosts by name)
    pub notes: Vec<String>,
    /// a workload that turns DNS off in its intent (`cluster-dns = false`)
    pub without_dns: Vec<PeerName>,
}

/// The flows the intents of `set` declare between the workloads of `cluster` and the
/// addresses outside it.
pub fn declared(cluster: &Cluster, set: &IntentSet) -> Declared {
    let mut out = Declared::default();
    let mut yaml = String::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut seen: BTreeSet<&PeerName> = BTreeSet::new();
    for m in &cluster.members {
        if !seen.insert(&m.peer) {
            continue; // one member per workload carries its intent (the pods share labels)
        }
        let mut intents = Vec::new();
        for image in &m.images {
            if let Some((intent, origin)) = set.for_image(image)
                && !intents.iter().any(|(_, o)| *o == origin)
            {
                intents.push((intent, origin));
            }
        }
        if intents.is_empty() {
            continue;
        }
        if intents.len() > 1 {
            out.notes.push(format!(
                "{}: its containers have {} intents ({}): the pod's network is shared, so the flows are what any of them declares",
                m.peer,
                intents.len(),
                intents.iter().map(|(_, o)| *o).collect::<Vec<_>>().join(", ")
            ));
        }
        let labels = selector_of(m);
        if labels.is_empty() {
            out.notes.push(format!(
                "{}: its pods have no labels: its intent's policies would select every pod of {}",
                m.peer, m.peer.namespace
            ));
        }
        for (intent, origin) in &intents {
            used.insert((*origin).to_owned());
            if !intent.network.cluster_dns && !out.without_dns.contains(&m.peer) {
                out.without_dns.push(m.peer.clone());
            }
            let mut notes = Vec::new();
            let docs = rampart_intent::compile::network_policies(
                intent,
                &format!("{}-{}", m.peer.kind.to_ascii_lowercase(), m.peer.name),
                Some(&m.peer.namespace),
                &labels,
                &mut notes,
            );
            for n in notes {
                out.notes
                    .push(format!("{} ({origin}): {}", m.peer, n.message));
            }
            for d in docs {
                yaml.push_str("---\n");
                yaml.push_str(&d.to_string()); // JSON is YAML
                yaml.push('\n');
            }
            out.workloads
                .entry(m.peer.clone())
                .or_default()
                .push((*origin).to_owned());
        }
    }
    for o in set.origins() {
        if !used.contains(o) {
            out.notes.push(format!(
                "{o}: its image runs in no workload of the manifests: no flows from it"
            ));
        }
    }
    let mut with = crate::read([("the intents' policies".to_owned(), yaml.as_str())]);
    for e in &with.errors {
        // the compiler's output is valid by construction: a failure here is a bug, said
        out.notes
            .push(format!("an intent's policy could not be read: {e}"));
    }
    for n in with.notes.drain(..) {
        out.notes.push(n);
    }
    with.members = cluster.members.clone();
    for (k, v) in &cluster.namespaces {
        with.namespaces
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    let workloads = &out.workloads;
    let has_intent = |e: &Endpoint| matches!(e, Endpoint::Workload(p) if workloads.contains_key(p));
    let flows = Engine::new(&with)
        .connections()
        .into_iter()
        .filter(|c| {
            !matches!(c.src, Endpoint::IngressController)
                && !matches!(c.dst, Endpoint::IngressController)
        })
        .filter(|c| has_intent(&c.src) || has_intent(&c.dst))
        .map(|c| Flow {
            src: c.src,
            dst: c.dst,
            conns: c.conns,
        })
        .collect();
    out.flows = flows;
    out
}
