//! Windows of failures: how a host limits guesses (passwords, codes) across
//! every process that shares a store ([`Store::reserve_failures`]).
//!
//! A key (opaque to the store: the host builds it, and should hash anything
//! personal in it) may have at most so many failures within a window. An
//! attempt reserves a failure before it is checked, so parallel guesses
//! cannot all slip through; one that turns out right gives its reservation
//! back. A failure counts until `within` after it was reserved.
//!
//! [`FailureLedger`] is the in-process ledger: the embedded store's (one
//! process by construction) and the default of the contract.
//!
//! [`Store::reserve_failures`]: super::Store::reserve_failures

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A key's window: at most `failures` within `within`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureWindow {
    pub key: String,
    pub failures: u32,
    pub within: Duration,
}

impl FailureWindow {
    pub fn new(key: impl Into<String>, failures: u32, within: Duration) -> Self {
        Self {
            key: key.into(),
            failures,
            within,
        }
    }

    /// When a failure reserved at `at` stops counting.
    pub fn expiry(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + chrono::Duration::from_std(self.within).unwrap_or(chrono::Duration::MAX)
    }

    /// The most failures the window holds (a limit of 0 is taken as 1, so a
    /// window is never closed for good).
    pub fn capacity(&self) -> usize {
        self.failures.max(1) as usize
    }

    /// When a window holding failures that expire at `expiries` (ascending,
    /// all still counting) has room again, or `None` if it has room now.
    pub fn full_until(&self, expiries: &[DateTime<Utc>]) -> Option<DateTime<Utc>> {
        let capacity = self.capacity();
        (expiries.len() >= capacity).then(|| expiries[expiries.len() - capacity])
    }
}

/// One failure a reservation took in one key's window; the store's id for
/// it is only meaningful to that store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedFailure {
    pub key: String,
    pub id: i64,
}

/// The answer to [`Store::reserve_failures`](super::Store::reserve_failures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReservation {
    /// One failure in each window, in the order of the windows asked.
    Reserved(Vec<ReservedFailure>),
    /// A window is full; nothing was reserved. `until`: when every window
    /// asked for has room again.
    Refused { until: DateTime<Utc> },
}

/// Keys kept before keys with no failure left counting are swept out
/// (bounds memory under a spray); the next sweep waits until the ledger has
/// doubled, so a ledger of live keys is not rescanned on every failure.
const SWEEP_ABOVE: usize = 10_000;

/// The most keys the ledger keeps, live or not (a few hundred bytes each):
/// beyond it, after a sweep, the keys whose last failure expires first are
/// forgotten, down to nine tenths of it. Reaching it takes a spray of
/// 100,000 accounts or addresses within a window; forgetting the stalest of
/// them frees their budget early, which is the price of a bounded process.
const MAX_KEYS: usize = 100_000;

/// The in-process ledger of failures: a map of keys to the expiries of
/// their failures, behind one lock (so a reservation across several
/// windows is all or nothing).
#[derive(Debug)]
pub struct FailureLedger {
    inner: Mutex<Ledger>,
}

#[derive(Debug)]
struct Ledger {
    /// Per key, its failures (id, expiry) in the order reserved.
    failures: HashMap<String, VecDeque<(i64, DateTime<Utc>)>>,
    next_id: i64,
    sweep_above: usize,
    /// The size that starts the next sweep: twice what the last one kept.
    next_sweep: usize,
    max_keys: usize,
}

impl Default for FailureLedger {
    fn default() -> Self {
        Self::bounded(SWEEP_ABOVE, MAX_KEYS)
    }
}

impl FailureLedger {
    /// The ledger of this process, which the contract's default methods use
    /// (a store that several processes share overrides them).
    pub fn process() -> &'static FailureLedger {
        static PROCESS: OnceLock<FailureLedger> = OnceLock::new();
        PROCESS.get_or_init(FailureLedger::default)
    }

    /// A ledger that sweeps from `sweep_above` keys and keeps at most
    /// `max_keys`.
    pub fn bounded(sweep_above: usize, max_keys: usize) -> Self {
        let max_keys = max_keys.max(1);
        Self {
            inner: Mutex::new(Ledger {
                failures: HashMap::new(),
                next_id: 0,
                sweep_above,
                next_sweep: sweep_above.min(max_keys),
                max_keys,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves plain counters behind: usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// See [`Store::reserve_failures`](super::Store::reserve_failures).
    pub fn reserve(&self, windows: &[FailureWindow], now: DateTime<Utc>) -> FailureReservation {
        let mut ledger = self.lock();
        let mut until = None;
        for window in windows {
            let Some(failures) = ledger.failures.get_mut(&window.key) else {
                continue;
            };
            failures.retain(|&(_, expiry)| expiry > now);
            let mut expiries: Vec<_> = failures.iter().map(|&(_, e)| e).collect();
            expiries.sort_unstable();
            if let Some(at) = window.full_until(&expiries) {
                until = until.max(Some(at));
            }
        }
        if let Some(until) = until {
            return FailureReservation::Refused { until };
        }
        let reserved = windows
            .iter()
            .map(|window| {
                let id = ledger.record(&window.key, window.expiry(now), now);
                ReservedFailure {
                    key: window.key.clone(),
                    id,
                }
            })
            .collect();
        FailureReservation::Reserved(reserved)
    }

    /// See [`Store::release_failures`](super::Store::release_failures).
    pub fn release(&self, failures: &[ReservedFailure]) {
        let mut ledger = self.lock();
        for failure in failures {
            if let Some(kept) = ledger.failures.get_mut(&failure.key) {
                kept.retain(|&(id, _)| id != failure.id);
                if kept.is_empty() {
                    ledger.failures.remove(&failure.key);
                }
            }
        }
    }

    /// See [`Store::forget_failures`](super::Store::forget_failures).
    pub fn forget(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    /// How many keys the ledger holds (live or not yet swept).
    pub fn keys(&self) -> usize {
        self.lock().failures.len()
    }
}

impl Ledger {
    fn record(&mut self, key: &str, expiry: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
        if self.failures.len() >= self.next_sweep && !self.failures.contains_key(key) {
            self.sweep(now);
        }
        self.next_id += 1;
        self.failures
            .entry(key.to_owned())
            .or_default()
            .push_back((self.next_id, expiry));
        self.next_id
    }

    /// Drops keys with no failure left counting; if the ledger is still over
    /// its bound, the keys whose last failure expires first.
    fn sweep(&mut self, now: DateTime<Utc>) {
        self.failures
            .retain(|_, kept| kept.iter().any(|&(_, expiry)| expiry > now));
        if self.failures.len() >= self.max_keys {
            // Room for the key being recorded.
            let keep = (self.max_keys - self.max_keys / 10).saturating_sub(1);
            let mut last: Vec<(DateTime<Utc>, String)> = self
                .failures
                .iter()
                .filter_map(|(key, kept)| Some((kept.iter().map(|&(_, e)| e).max()?, key.clone())))
                .collect();
            last.sort_unstable();
            let drop = last.len().saturating_sub(keep);
            for (_, key) in last.into_iter().take(drop) {
                self.failures.remove(&key);
            }
        }
        self.next_sweep = (self.failures.len() * 2)
            .max(self.sweep_above)
            .min(self.max_keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 + secs, 0).expect("time")
    }

    fn window(key: &str, within_secs: u64) -> FailureWindow {
        FailureWindow::new(key, 3, Duration::from_secs(within_secs))
    }

    #[test]
    fn the_ledger_never_holds_more_keys_than_its_bound() {
        let ledger = FailureLedger::bounded(4, 10);
        for key in 0..1000 {
            // All live: a spray within the window.
            let reserved = ledger.reserve(&[window(&key.to_string(), 3600)], at(key));
            assert!(matches!(reserved, FailureReservation::Reserved(_)));
            assert!(ledger.keys() <= 10, "{} keys", ledger.keys());
        }
        let held = &ledger.lock().failures;
        assert!(held.contains_key("999"), "the newest is kept");
        assert!(!held.contains_key("0"), "the stalest went first");
    }

    #[test]
    fn keys_with_no_failure_left_counting_are_swept() {
        let ledger = FailureLedger::bounded(5, 1000);
        for key in 0..5 {
            let _ = ledger.reserve(&[window(&key.to_string(), 60)], at(0));
        }
        assert_eq!(ledger.keys(), 5);
        let _ = ledger.reserve(&[window("new", 60)], at(61));
        assert_eq!(
            ledger.lock().failures.keys().cloned().collect::<Vec<_>>(),
            vec!["new".to_owned()],
            "the expired keys went, the new one stays"
        );
    }

    #[test]
    fn a_sweep_keeps_live_keys_and_their_failures() {
        let ledger = FailureLedger::bounded(2, 1000);
        for _ in 0..3 {
            let _ = ledger.reserve(&[window("old", 60)], at(0));
        }
        let _ = ledger.reserve(&[window("a", 60)], at(61));
        let _ = ledger.reserve(&[window("b", 60)], at(62));
        assert_eq!(ledger.keys(), 2, "the expired key went");
        for _ in 0..2 {
            let _ = ledger.reserve(&[window("b", 60)], at(63));
        }
        assert!(
            matches!(
                ledger.reserve(&[window("b", 60)], at(64)),
                FailureReservation::Refused { .. }
            ),
            "a live key's failures survive sweeps"
        );
    }
}
