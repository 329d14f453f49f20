//! A small TTL cache safe for concurrent use, and the clock it reads (a trait, so tests can
//! move time without sleeping).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A monotonic clock.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to (for tests of cache expiry).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    offset_ms: AtomicU64,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            start: Instant::now(),
            offset_ms: AtomicU64::new(0),
        }
    }
}

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let offset = Duration::from_millis(self.offset_ms.load(Ordering::SeqCst));
        self.start.checked_add(offset).unwrap_or(self.start)
    }
}

/// Entries that expire `ttl` after they were stored; at most `max` of them (when full, expired
/// entries are dropped first, then everything: a cache miss only costs a registry call).
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    max: usize,
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration, max: usize) -> Self {
        TtlCache {
            ttl,
            max: max.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value stored for `key`, unless it expired.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key)
            .filter(|(at, _)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Stores `value` for `key` at `now`.
    pub fn put(&self, key: K, value: V, now: Instant) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.max && !map.contains_key(&key) {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if map.len() >= self.max {
                map.clear();
            }
        }
        map.insert(key, (now, value));
    }

    /// How many entries are stored (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl_and_the_size_is_bounded() {
        let clock = ManualClock::default();
        let cache = TtlCache::new(Duration::from_secs(10), 2);
        cache.put("a", 1, clock.now());
        assert_eq!(cache.get(&"a", clock.now()), Some(1));
        clock.advance(Duration::from_secs(9));
        assert_eq!(cache.get(&"a", clock.now()), Some(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.get(&"a", clock.now()), None);
        cache.put("b", 2, clock.now());
        cache.put("c", 3, clock.now());
        assert!(cache.len() <= 2);
        assert_eq!(cache.get(&"c", clock.now()), Some(3));
    }
}
