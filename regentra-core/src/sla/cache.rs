//! A small least-recently-used map with a fixed capacity, for the
//! process-global caches of compiled calendars and zone tables: anyone who
//! can save a calendar chooses what gets compiled, so what is kept must be
//! bounded, and what is used often should stay.
//!
//! Every entry carries the tick of its last use; inserting into a full map
//! drops the entry with the oldest tick. That scan is linear in the
//! capacity, which is small (hundreds) and only paid on a miss, which
//! compiles a calendar or zone table anyway and costs far more.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub(crate) struct Lru<K, V> {
    capacity: usize,
    tick: u64,
    entries: HashMap<K, (V, u64)>,
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    /// A map that holds at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// The value under `key`, marked as just used.
    pub(crate) fn get(&mut self, key: &K) -> Option<V> {
        let tick = self.next_tick();
        let (value, used) = self.entries.get_mut(key)?;
        *used = tick;
        Some(value.clone())
    }

    /// Keeps `value` under `key` as the most recently used, dropping the
    /// least recently used entry when the map is full.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        let tick = self.next_tick();
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (value, tick));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// An [`Lru`] behind a mutex, holding shared values.
pub(crate) type SharedLru<K, V> = Mutex<Lru<K, Arc<V>>>;

/// The value under `key` in `cache`, built by `make` (outside the lock, so
/// a slow compilation does not stall other lookups) when absent. Two callers
/// missing the same key at once both build it; the last one is kept, and
/// both answers are equal.
pub(crate) fn get_or_try_insert<K, V, E>(
    cache: &SharedLru<K, V>,
    key: K,
    make: impl FnOnce() -> Result<V, E>,
) -> Result<Arc<V>, E>
where
    K: Hash + Eq + Clone,
{
    // A panic while holding the lock leaves a consistent map behind: usable.
    let lock = || cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = lock().get(&key) {
        return Ok(found);
    }
    let made = Arc::new(make()?);
    lock().insert(key, Arc::clone(&made));
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_its_capacity_and_drops_the_least_recently_used() {
        let mut lru = Lru::new(3);
        for n in 0..3 {
            lru.insert(n, n * 10);
        }
        // 0 is used again, so 1 is now the least recently used.
        assert_eq!(lru.get(&0), Some(0));
        lru.insert(3, 30);
        assert_eq!(lru.len(), 3);
        assert_eq!(lru.get(&1), None, "the least recently used went");
        assert_eq!(lru.get(&0), Some(0));
        assert_eq!(lru.get(&2), Some(20));
        assert_eq!(lru.get(&3), Some(30));
        for n in 4..100 {
            lru.insert(n, n * 10);
            assert!(lru.len() <= 3);
        }
        assert_eq!(lru.get(&99), Some(990));
        assert_eq!(lru.get(&0), None);
    }

    #[test]
    fn inserting_a_present_key_replaces_it_without_evicting() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1);
        lru.insert("b", 2);
        lru.insert("a", 3);
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.get(&"a"), Some(3));
        assert_eq!(lru.get(&"b"), Some(2));
    }

    #[test]
    fn a_failed_build_keeps_nothing() {
        let cache: SharedLru<u32, u32> = Mutex::new(Lru::new(2));
        let failed: Result<_, &str> = get_or_try_insert(&cache, 1, || Err("no"));
        assert!(failed.is_err());
        assert_eq!(cache.lock().expect("lock").len(), 0);
        let built = get_or_try_insert(&cache, 1, || Ok::<_, &str>(7)).expect("built");
        let again = get_or_try_insert(&cache, 1, || Err("not called")).expect("cached");
        assert!(Arc::ptr_eq(&built, &again));
    }
}
