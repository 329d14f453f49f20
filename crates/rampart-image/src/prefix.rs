//! Squash states kept in this process by the chain of layers that led to them, for the stores
//! that keep records decoded ([`LayerStore::keep_decoded`](crate::LayerStore::keep_decoded)):
//! a fleet worker meets the same base layers in image after image, and applying a base's
//! records again (tens of thousands of entries through whiteouts, symlinked directories and
//! the collector's questions) was over 40% of its time on images whose layers were all cached.
//! With these, an image on a known base starts where the base left the squash and applies its
//! own layers only.
//!
//! A chain id names a prefix of an image's layers in a context: the analysis the records were
//! made for, the collector's type and the limits (which decide what a squash keeps), then each
//! layer's diff id (its content) and the digest its entries carry. Two images with the same
//! chain id have, after those layers, the same squash state, whatever comes above. A snapshot is
//! kept from the second squash that goes through a chain (a chain met once costs nothing to
//! copy), and held copies are bounded by the entries they hold.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::held::Held;
use crate::image::LayerInfo;
use crate::squash::Snapshot;

/// A prefix of an image's layers, in its context.
pub(crate) type ChainId = [u8; 32];

/// At most this many entries of squashed views held over all snapshots (each entry a path and
/// its metadata: a few hundred MB at most).
const KEPT_ENTRIES: usize = 1_000_000;

/// At most this many chains counted; the counts are forgotten past it.
const COUNTED: usize = 100_000;

/// How many squashes went through each chain.
static SEEN: LazyLock<Mutex<HashMap<ChainId, u32>>> = LazyLock::new(Default::default);

static SNAPSHOTS: LazyLock<Held<ChainId>> = LazyLock::new(|| Held::new(KEPT_ENTRIES));

/// The chain id of each prefix of `layers` (ending at that layer) in `context`; `None` from the
/// first layer without a diff id on (its content cannot be named).
pub(crate) fn chains(context: &str, layers: &[LayerInfo]) -> Vec<Option<ChainId>> {
    let mut h = Sha256::new();
    h.update(context.as_bytes());
    h.update([0]);
    let mut named = true;
    layers
        .iter()
        .map(|l| {
            named &= l.diff_id.is_some();
            let diff_id = l.diff_id.as_ref().filter(|_| named)?;
            h.update(diff_id.to_string().as_bytes());
            h.update([0]);
            h.update(l.id().map(Digest::to_string).unwrap_or_default().as_bytes());
            h.update([0]);
            Some(h.clone().finalize().into())
        })
        .collect()
}

/// Counts one more squash through `chain`; whether a snapshot of it is now worth taking (the
/// chain was met before and none is held).
pub(crate) fn met(chain: &ChainId) -> bool {
    let n = {
        let Ok(mut seen) = SEEN.lock() else {
            return false;
        };
        if seen.len() >= COUNTED && !seen.contains_key(chain) {
            seen.clear();
        }
        let n = seen.entry(*chain).or_default();
        *n = n.saturating_add(1);
        *n
    };
    n >= 2 && !SNAPSHOTS.holds(chain)
}

/// The snapshot held for `chain`, typed by the collector's output.
pub(crate) fn get<O: Send + Sync + 'static>(chain: &ChainId) -> Option<Arc<Snapshot<O>>> {
    SNAPSHOTS.get(chain)
}

/// Holds `snapshot` for `chain` (bounded by [`KEPT_ENTRIES`] over all snapshots).
pub(crate) fn keep<O: Send + Sync + 'static>(chain: &ChainId, snapshot: Snapshot<O>) {
    let n = snapshot.entries();
    SNAPSHOTS.keep(*chain, Arc::new(snapshot), n);
}
