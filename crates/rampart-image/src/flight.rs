//! Layers being read from their blobs in this process, for a long-lived process whose store
//! keeps records decoded (a fleet worker): an image meeting a layer that another thread is
//! reading waits for that thread's record instead of reading the blob a second time (the base
//! under every image of a fleet, met by every worker thread at start).
//!
//! A squash claims all the layers it will read at once, and waits only while it holds no claim:
//! two squashes never wait for each other. A claim is let go when its layer's record is kept, or
//! when the squash ends whatever way (a failed read, a panic); a wait is bounded, after which
//! the squash reads the layer itself.

use std::collections::HashSet;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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
#[derive(Debug, Default)]
pub(crate) struct Claim {
    keys: Vec<Key>,
}

impl Claim {
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
        reading().remove(&key);
        FLIGHTS.landed.notify_all();
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
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
pub(crate) enum Flight {
    /// none of the layers was being read: they are this squash's to read now
    Claimed(Claim),
    /// another squash was reading one of them and has let it go: look again (its record may
    /// be there now)
    Landed,
    /// waited until `until` and one of them is still being read: read it here
    Late,
}

/// Claims `layers` (diff id, analysis) for reading, or waits (holding nothing) until one that
/// another squash is reading is let go, at most until `until`.
pub(crate) fn claim(layers: &[(String, String)], until: Instant) -> Flight {
    let mut reading = reading();
    if layers.iter().all(|k| !reading.contains(k)) {
        reading.extend(layers.iter().cloned());
        return Flight::Claimed(Claim {
            keys: layers.to_vec(),
        });
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

    fn key(d: &str) -> Key {
        (d.to_owned(), String::from("flight-test"))
    }

    #[test]
    fn a_claimed_layer_is_waited_for_until_it_lands_or_the_claim_ends() {
        let Flight::Claimed(mut first) = claim(&[key("a1"), key("b1")], Instant::now()) else {
            panic!("nothing was being read");
        };
        // another layer set that meets the claim: late when the other does not let go in time
        let soon = Instant::now() + Duration::from_millis(50);
        assert!(matches!(claim(&[key("b1"), key("c1")], soon), Flight::Late));
        // a set apart is claimed at once
        assert!(matches!(
            claim(&[key("c1")], Instant::now()),
            Flight::Claimed(_)
        ));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| claim(&[key("b1")], Instant::now() + Duration::from_secs(30)));
            std::thread::sleep(Duration::from_millis(50));
            first.land("b1", "flight-test");
            assert!(matches!(waiter.join().unwrap(), Flight::Landed));
        });
        // a1 is still being read; dropping the claim (a failed read) lets it go
        let waiter =
            std::thread::spawn(|| claim(&[key("a1")], Instant::now() + Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        drop(first);
        assert!(matches!(waiter.join().unwrap(), Flight::Landed));
        assert!(matches!(
            claim(&[key("a1"), key("b1")], Instant::now()),
            Flight::Claimed(_)
        ));
    }
}
