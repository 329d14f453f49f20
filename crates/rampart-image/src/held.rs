//! What this process holds between images for the stores that keep records decoded
//! ([`LayerStore::keep_decoded`](crate::LayerStore::keep_decoded)): values of any type by key,
//! weighed in file entries, everything let go when the weight held would pass its bound. The
//! decoded layer records and the squash states by chain of layers are both held so.

use std::any::Any;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

type Kept = Arc<dyn Any + Send + Sync>;

/// Values by key, at most `limit` entries of weight over all of them.
pub(crate) struct Held<K> {
    limit: usize,
    inner: Mutex<Inner<K>>,
}

struct Inner<K> {
    weight: usize,
    values: HashMap<K, (usize, Kept)>,
}

impl<K: Hash + Eq> Held<K> {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            inner: Mutex::new(Inner {
                weight: 0,
                values: HashMap::new(),
            }),
        }
    }

    /// The value held for `key`, when it is a `T`.
    pub(crate) fn get<T: Any + Send + Sync>(&self, key: &K) -> Option<Arc<T>> {
        let m = self.inner.lock().ok()?;
        let (_, kept) = m.values.get(key)?;
        Arc::clone(kept).downcast::<T>().ok()
    }

    /// Whether a value is held for `key`.
    pub(crate) fn holds(&self, key: &K) -> bool {
        self.inner.lock().is_ok_and(|m| m.values.contains_key(key))
    }

    /// Holds `value` (weighing `weight` entries) for `key`, in place of what was held for it;
    /// everything held is let go first when the bound would be passed. A value heavier than the
    /// bound is not held.
    pub(crate) fn keep<T: Any + Send + Sync>(&self, key: K, value: Arc<T>, weight: usize) {
        if weight > self.limit {
            return;
        }
        let Ok(mut m) = self.inner.lock() else { return };
        if let Some((old, _)) = m.values.remove(&key) {
            m.weight -= old;
        }
        if m.weight + weight > self.limit {
            m.values.clear();
            m.weight = 0;
        }
        m.weight += weight;
        m.values.insert(key, (weight, value as Kept));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_replaced_and_let_go_past_the_bound() {
        let held: Held<u8> = Held::new(10);
        held.keep(1, Arc::new(String::from("one")), 4);
        assert_eq!(*held.get::<String>(&1).unwrap(), "one");
        assert!(
            held.get::<u32>(&1).is_none(),
            "another type is not this value"
        );
        held.keep(1, Arc::new(String::from("uno")), 6);
        held.keep(2, Arc::new(String::from("two")), 4);
        assert_eq!(
            *held.get::<String>(&1).unwrap(),
            "uno",
            "replaced, weight 6 + 4"
        );
        held.keep(3, Arc::new(String::from("three")), 1);
        assert!(
            !held.holds(&1) && !held.holds(&2),
            "past the bound: all let go"
        );
        assert!(held.holds(&3));
        held.keep(4, Arc::new(String::from("heavy")), 11);
        assert!(!held.holds(&4) && held.holds(&3));
    }
}
