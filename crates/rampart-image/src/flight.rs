//! Layers being read from their blobs in this process, for a long-lived process whose store
//! keeps records decoded (a fleet worker): an image meeting a layer that another thread is
//! reading waits for that thread's record instead of reading the blob a second time (the base
//! under every image of a fleet, met by every worker thread at start).
//!
//! A squash claims all the layers it will read at once, and waits only while it holds no claim:
//! two squashes never wait for each other. A claim is let go when its layer's record is kept, or
//! when the squash ends whatever way (a failed read, a panic); a wait is bounded, after which
//! the squash reads the layer itself.
//!
//! The claim is also asked of the store ([`LayerStore::claim_reading`]): the workers of a fleet
//! sharing a PostgreSQL cache, starting together, read each base once between them. A layer
//! another process is reading is waited for by asking the store again, every
//! [`SHARED_POLL`], until its record is there or its claim is let go.

use std::collections::HashSet;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::record::LayerStore;

/// How often a squash waiting for another process's record looks for it.
pub(crate) const SHARED_POLL: Duration = Duration::from_millis(200);

/// A layer being read: its diff id and the analysis its record is made for.
type Key = (String, String);

struct Flights {
    reading: Mutex<HashSet<Key>>,
    landed: Condvar,
}

static FLIGHTS: LazyLock<Flights> = LazyLock::new(|| Flights {
    reading: Mutex::new(HashSet::new()),
    landed: Condvar::new(),
});

fn reading() -> MutexGuard<'static, HashSet<Key>> {
    // the set stays consistent whatever panicked while holding it (one insert or remove)
    FLIGHTS
        .reading
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The layers one squash is reading; let go when dropped.
#[derive(Default)]
pub(crate) struct Claim<'s> {
    keys: Vec<Key>,
    /// the store that holds the claim against other processes too
    store: Option<&'s dyn LayerStore>,
}

impl std::fmt::Debug for Claim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("keys", &self.keys)
            .field("shared", &self.store.is_some())
            .finish()
    }
}

impl Claim<'_> {
    /// The layer `diff_id` has its record (kept decoded): a squash waiting for it may go on.
    pub(crate) fn land(&mut self, diff_id: &str, analysis: &str) {
        let Some(at) = self
            .keys
            .iter()
            .position(|(d, a)| d == diff_id && a == analysis)
        else {
            return;
        };
        let key = self.keys.swap_remove(at);
        if let Some(store) = self.store {
            store.release_reading(&key.0, &key.1);
        }
        reading().remove(&key);
        FLIGHTS.landed.notify_all();
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        if let Some(store) = self.store {
            for (diff_id, analysis) in &self.keys {
                store.release_reading(diff_id, analysis);
            }
        }
        let mut reading = reading();
        for key in self.keys.drain(..) {
            reading.remove(&key);
        }
        drop(reading);
        FLIGHTS.landed.notify_all();
    }
}

/// What [`claim`] did.
#[derive(Debug)]
pub(crate) enum Flight<'s> {
    /// none of the layers was being read: they are this squash's to read now
    Claimed(Claim<'s>),
    /// another squash was reading one of them and has let it go, or another process is
    /// reading one and a while has passed: look again (its record may be there now)
    Landed,
    /// waited until `until` and one of them is still being read: read it here
    Late,
}

/// Claims `layers` (diff id, analysis) for reading, in this process and in `store`, or waits
/// (holding nothing) until one that another squash is reading is let go, at most until `until`.
pub(crate) fn claim<'s>(
    layers: &[(String, String)],
    until: Instant,
    store: &'s dyn LayerStore,
) -> Flight<'s> {
    let mut reading = reading();
    if layers.iter().all(|k| !reading.contains(k)) {
        reading.extend(layers.iter().cloned());
        drop(reading);
        let mut claim = Claim {
            keys: layers.to_vec(),
            store: None,
        };
        match store.claim_reading(layers) {
            Ok(true) => claim.store = Some(store),
            // the store cannot tell: read here
            Err(_) => {}
            Ok(false) => {
                // another process is reading one of them: let go here too (the squashes of
                // this process waiting for them look again), and look again in a while
                drop(claim);
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Flight::Late;
                }
                std::thread::sleep(left.min(SHARED_POLL));
                return Flight::Landed;
            }
        }
        return Flight::Claimed(claim);
    }
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Flight::Late;
        }
        let (guard, _) = FLIGHTS
            .landed
            .wait_timeout(reading, left.min(Duration::from_secs(1)))
            .unwrap_or_else(PoisonError::into_inner);
        reading = guard;
        if layers.iter().all(|k| !reading.contains(k)) {
            return Flight::Landed;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::Digest;

    /// A store that claims nothing against other processes.
    struct NoStore;

    impl LayerStore for NoStore {
        fn get(&self, _: &Digest, _: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(None)
        }
        fn put(&self, _: &Digest, _: &str, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
    }

    /// A store shared with another process that reads `busy` until told otherwise; it notes
    /// what this process claims and lets go.
    #[derive(Default)]
    struct Shared {
        busy: Mutex<Vec<String>>,
        held: Mutex<Vec<String>>,
        released: Mutex<Vec<String>>,
    }

    impl LayerStore for Shared {
        fn get(&self, _: &Digest, _: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(None)
        }
        fn put(&self, _: &Digest, _: &str, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn claim_reading(&self, layers: &[(String, String)]) -> Result<bool, String> {
            let busy = self.busy.lock().unwrap();
            if layers.iter().any(|(d, _)| busy.contains(d)) {
                return Ok(false);
            }
            self.held
                .lock()
                .unwrap()
                .extend(layers.iter().map(|(d, _)| d.clone()));
            Ok(true)
        }
        fn release_reading(&self, diff_id: &str, _: &str) {
            self.released.lock().unwrap().push(diff_id.to_owned());
        }
    }

    #[test]
    fn a_layer_another_process_reads_is_looked_for_again_and_claims_are_let_go_in_the_store() {
        let store = Shared::default();
        store.busy.lock().unwrap().push(String::from("x2"));
        let started = Instant::now();
        let far = started + Duration::from_secs(30);
        // another process reads x2: nothing is held, here or in the store; looked for again
        assert!(matches!(
            claim(&[key("w2"), key("x2")], far, &store),
            Flight::Landed
        ));
        assert!(started.elapsed() >= SHARED_POLL);
        assert!(store.held.lock().unwrap().is_empty());
        assert!(matches!(
            claim(&[key("w2")], Instant::now(), &NoStore),
            Flight::Claimed(_)
        ));
        // past the deadline: read here
        assert!(matches!(
            claim(&[key("x2")], Instant::now(), &store),
            Flight::Late
        ));
        // the other process is done: claimed in the store, and let go there as each lands
        store.busy.lock().unwrap().clear();
        let Flight::Claimed(mut mine) = claim(&[key("w2"), key("x2")], far, &store) else {
            panic!("nothing is being read");
        };
        assert_eq!(*store.held.lock().unwrap(), ["w2", "x2"]);
        mine.land("x2", "flight-test");
        assert_eq!(*store.released.lock().unwrap(), ["x2"]);
        drop(mine);
        assert_eq!(*store.released.lock().unwrap(), ["x2", "w2"]);
    }

    fn key(d: &str) -> Key {
        (d.to_owned(), String::from("flight-test"))
    }

    #[test]
    fn a_claimed_layer_is_waited_for_until_it_lands_or_the_claim_ends() {
        let Flight::Claimed(mut first) = claim(&[key("a1"), key("b1")], Instant::now(), &NoStore)
        else {
            panic!("nothing was being read");
        };
        // another layer set that meets the claim: late when the other does not let go in time
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(matches!(
            claim(&[key("b1"), key("c1")], soon, &NoStore),
            Flight::Late
        ));
        // a set apart is claimed at once
        assert!(matches!(
            claim(&[key("c1")], Instant::now(), &NoStore),
            Flight::Claimed(_)
        ));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                claim(
                    &[key("b1")],
                    Instant::now() + Duration::from_secs(30),
                    &NoStore,
                )
            });
            std::thread::sleep(Duration::from_millis(50));
            first.land("b1", "flight-test");
            assert!(matches!(waiter.join().unwrap(), Flight::Landed));
        });
        // a1 is still being read; dropping the claim (a failed read) lets it go
        let waiter = std::thread::spawn(|| {
            claim(
                &[key("a1")],
                Instant::now() + Duration::from_secs(30),
                &NoStore,
            )
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(first);
        assert!(matches!(waiter.join().unwrap(), Flight::Landed));
        assert!(matches!(
            claim(&[key("a1"), key("b1")], Instant::now(), &NoStore),
            Flight::Claimed(_)
        ));
    }
}
