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

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::image::LayerInfo;
use crate::squash::Snapshot;

/// A prefix of an image's layers, in its context.
pub(crate) type ChainId = [u8; 32];

/// At most this many entries of squashed views held over all snapshots (each entry a path and
/// its metadata: a few hundred MB at most).
pub(crate) const KEPT_ENTRIES: usize = 1_000_000;

/// At most this many chains counted; the counts are forgotten past it.
const COUNTED: usize = 100_000;

type Kept = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
struct Memory {
    entries: usize,
    /// how many squashes went through each chain
    seen: HashMap<ChainId, u32>,
    snapshots: HashMap<ChainId, (usize, Kept)>,
}

static MEMORY: LazyLock<Mutex<Memory>> = LazyLock::new(Default::default);

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
    let Ok(mut m) = MEMORY.lock() else {
        return false;
    };
    if m.seen.len() >= COUNTED && !m.seen.contains_key(chain) {
        m.seen.clear();
    }
    let n = m.seen.entry(*chain).or_default();
    *n = n.saturating_add(1);
    *n >= 2 && !m.snapshots.contains_key(chain)
}

/// The snapshot held for `chain`, typed by the collector's output.
pub(crate) fn get<O: Send + Sync + 'static>(chain: &ChainId) -> Option<Arc<Snapshot<O>>> {
    let m = MEMORY.lock().ok()?;
    let (_, kept) = m.snapshots.get(chain)?;
    Arc::clone(kept).downcast::<Snapshot<O>>().ok()
}

/// Holds `snapshot` for `chain`; everything held is let go first when it would pass
/// [`KEPT_ENTRIES`].
pub(crate) fn keep<O: Send + Sync + 'static>(chain: &ChainId, snapshot: Snapshot<O>) {
    let n = snapshot.entries();
    if n > KEPT_ENTRIES {
        return;
    }
    let Ok(mut m) = MEMORY.lock() else { return };
    if let Some((old, _)) = m.snapshots.remove(chain) {
        m.entries -= old;
    }
    if m.entries + n > KEPT_ENTRIES {
        m.snapshots.clear();
        m.entries = 0;
    }
    m.entries += n;
    let kept: Kept = Arc::new(snapshot);
    m.snapshots.insert(*chain, (n, kept));
}
