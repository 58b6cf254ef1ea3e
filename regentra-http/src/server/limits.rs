//! Login limits that count failed attempts only, so that nobody can lock an
//! account out by failing on purpose.
//!
//! Three windows of failures:
//! - strict, per account and client address: one address guessing one
//!   account's password is stopped after a few failures;
//! - a looser ceiling per account, across addresses: many addresses
//!   guessing one account are stopped too, and one address alone cannot
//!   reach it (it hits its strict limit first), so the owner, signing in
//!   from elsewhere, still gets in;
//! - per address, across accounts: one address spraying many accounts.
//!
//! An attempt is checked before the password is verified and reserves a
//! failure in each window (so parallel guesses cannot all slip through);
//! a success gives the reservation back and clears the strict window of
//! its (account, address), so a user who got in is not punished for the
//! typos before.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::problem::Problem;

/// How many failures a key may have within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    pub failures: u32,
    pub within: Duration,
}

/// The limits of a [`LoginLimiter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Per (account, address).
    pub account_address: FailureLimit,
    /// Per account, across addresses; above `account_address`, so one
    /// address cannot spend it alone.
    pub account: FailureLimit,
    /// Per address, across accounts.
    pub address: FailureLimit,
}

impl Default for LoginLimits {
    /// 5 failures per 15 minutes per account and address; 50 per hour per
    /// account; 30 per hour per address.
    fn default() -> Self {
        Self {
            account_address: FailureLimit {
                failures: 5,
                within: Duration::from_secs(15 * 60),
            },
            account: FailureLimit {
                failures: 50,
                within: Duration::from_secs(3600),
            },
            address: FailureLimit {
                failures: 30,
                within: Duration::from_secs(3600),
            },
        }
    }
}

/// Keys kept before keys with no failure left in their window are swept out
/// (bounds memory under a spray); the next sweep waits until the map has
/// doubled, so a map of live keys is not rescanned on every failure.
const SWEEP_ABOVE: usize = 10_000;

/// The most keys a window keeps, live or not (a few hundred bytes each):
/// beyond it, after a sweep, the keys whose last failure is oldest are
/// forgotten first, down to nine tenths of it. Reaching it takes a spray
/// of 100,000 accounts or addresses within a window; forgetting the
/// stalest of them then frees their budget early, which is the price of a
/// bounded server.
const MAX_KEYS: usize = 100_000;

/// Failure times per key, at most `limit.failures` of them each.
#[derive(Debug)]
struct Window<K> {
    limit: FailureLimit,
    failures: HashMap<K, VecDeque<Instant>>,
    /// The fewest keys that start a sweep.
    sweep_above: usize,
    /// The size that starts the next sweep: twice what the last one kept.
    next_sweep: usize,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> Window<K> {
    fn new(limit: FailureLimit) -> Self {
        Self::bounded(limit, SWEEP_ABOVE, MAX_KEYS)
    }

    fn bounded(limit: FailureLimit, sweep_above: usize, max_keys: usize) -> Self {
        let max_keys = max_keys.max(1);
        Self {
            limit,
            failures: HashMap::new(),
            sweep_above,
            next_sweep: sweep_above.min(max_keys),
            max_keys,
        }
    }

    /// Drops keys with no failure left in their window; if the map is still
    /// over its bound, the keys whose last failure is oldest.
    fn sweep(&mut self, now: Instant) {
        let within = self.limit.within;
        self.failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|&last| now.saturating_duration_since(last) < within)
        });
        if self.failures.len() >= self.max_keys {
            // Room for the key being recorded.
            let keep = (self.max_keys - self.max_keys / 10).saturating_sub(1);
            let mut last: Vec<(Instant, K)> = self
                .failures
                .iter()
                .filter_map(|(k, times)| Some((*times.back()?, k.clone())))
                .collect();
            last.sort_unstable_by_key(|(at, _)| *at);
            let drop = last.len().saturating_sub(keep);
            for (_, key) in last.into_iter().take(drop) {
                self.failures.remove(&key);
            }
        }
        self.next_sweep = (self.failures.len() * 2)
            .max(self.sweep_above)
            .min(self.max_keys);
    }

    /// How long until `key` may fail again, when its window is full.
    fn wait(&mut self, key: &K, now: Instant) -> Option<Duration> {
        let within = self.limit.within;
        let times = self.failures.get_mut(key)?;
        while times
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= within)
        {
            times.pop_front();
        }
        let full = times.len() >= self.limit.failures.max(1) as usize;
        full.then(|| {
            let oldest = times.front().copied().unwrap_or(now);
            (oldest + within).saturating_duration_since(now)
        })
    }

    fn record(&mut self, key: K, at: Instant) {
        if self.failures.len() >= self.next_sweep && !self.failures.contains_key(&key) {
            self.sweep(at);
        }
        let times = self.failures.entry(key).or_default();
        times.push_back(at);
        while times.len() > self.limit.failures.max(1) as usize {
            times.pop_front();
        }
    }

    /// Gives back the failure reserved at `at`.
    fn release(&mut self, key: &K, at: Instant) {
        if let Some(times) = self.failures.get_mut(key) {
            if let Some(i) = times.iter().rposition(|&t| t == at) {
                times.remove(i);
            }
            if times.is_empty() {
                self.failures.remove(key);
            }
        }
    }

    fn clear(&mut self, key: &K) {
        self.failures.remove(key);
    }
}

type AccountAddress = (String, Option<IpAddr>);

#[derive(Debug)]
struct Windows {
    account_address: Window<AccountAddress>,
    account: Window<String>,
    address: Window<IpAddr>,
}

/// Where the limiter's time comes from (tests move it by hand).
pub type Now = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct LoginLimiter {
    windows: Mutex<Windows>,
    now: Now,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter").finish_non_exhaustive()
    }
}

/// One login attempt that passed the limits. Unless [`Attempt::succeeded`]
/// is called, it counts as a failure (a dropped request too).
#[must_use = "an attempt counts as a failure unless it succeeded"]
#[derive(Debug)]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    account: String,
    address: Option<IpAddr>,
    at: Instant,
}

impl Attempt<'_> {
    /// The password was right: the reserved failure is given back and the
    /// (account, address)'s earlier failures are forgotten.
    pub fn succeeded(self) {
        let mut w = self.limiter.lock();
        let key = (self.account.clone(), self.address);
        w.account_address.clear(&key);
        w.account.release(&self.account, self.at);
        if let Some(ip) = self.address {
            w.address.release(&ip, self.at);
        }
    }
}

impl LoginLimiter {
    /// [`LoginLimits::default`] on the system's monotonic clock.
    pub fn standard() -> Self {
        Self::new(LoginLimits::default())
    }

    pub fn new(limits: LoginLimits) -> Self {
        Self::with_clock(limits, Arc::new(Instant::now))
    }

    pub fn with_clock(limits: LoginLimits, now: Now) -> Self {
        Self {
            windows: Mutex::new(Windows {
                account_address: Window::new(limits.account_address),
                account: Window::new(limits.account),
                address: Window::new(limits.address),
            }),
            now,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        // A panic while holding the lock leaves plain counters behind: usable.
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks an attempt on `email` from `address` before the password is
    /// verified: a 429 problem when any of its windows is full of failures;
    /// otherwise the attempt, holding one reserved failure.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> Result<Attempt<'_>, Problem> {
        let account = email.trim().to_lowercase();
        let now = (self.now)();
        let mut w = self.lock();
        let key = (account.clone(), address);
        let wait = [
            w.account_address.wait(&key, now),
            w.account.wait(&account, now),
            address.and_then(|ip| w.address.wait(&ip, now)),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            drop(w);
            tracing::warn!(wait_seconds = wait.as_secs(), "login failure limit hit");
            return Err(Problem::too_many_requests(wait.as_secs().max(1)));
        }
        w.account_address.record(key, now);
        w.account.record(account.clone(), now);
        if let Some(ip) = address {
            w.address.record(ip, now);
        }
        Ok(Attempt {
            limiter: self,
            account,
            address,
            at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn limits(pair: u32, account: u32, address: u32) -> LoginLimits {
        let hour = Duration::from_secs(3600);
        LoginLimits {
            account_address: FailureLimit {
                failures: pair,
                within: hour,
            },
            account: FailureLimit {
                failures: account,
                within: hour,
            },
            address: FailureLimit {
                failures: address,
                within: hour,
            },
        }
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    fn fail(limiter: &LoginLimiter, email: &str, address: Option<IpAddr>) -> bool {
        match limiter.attempt(email, address) {
            Ok(attempt) => {
                drop(attempt);
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn failures_from_one_address_do_not_lock_the_owner_out() {
        let limiter = LoginLimiter::new(limits(5, 50, 1000));
        for _ in 0..5 {
            assert!(fail(&limiter, "victim@example.com", ip(1)));
        }
        let refused = limiter
            .attempt(" Victim@Example.com ", ip(1))
            .expect_err("the attacker's address is limited");
        assert_eq!(refused.status, 429);
        assert!(refused.retry_after.is_some_and(|s| s >= 1));
        for _ in 0..100 {
            assert!(limiter.attempt("victim@example.com", ip(1)).is_err());
        }
        limiter
            .attempt("victim@example.com", ip(2))
            .expect("the owner, from elsewhere, may try")
            .succeeded();
    }

    #[test]
    fn successes_do_not_spend_the_budget() {
        let limiter = LoginLimiter::new(limits(2, 3, 3));
        for _ in 0..20 {
            limiter
                .attempt("user@example.com", ip(1))
                .expect("successes are not counted")
                .succeeded();
        }
        assert!(fail(&limiter, "user@example.com", ip(1)));
        limiter
            .attempt("user@example.com", ip(1))
            .expect("one failure is under the limit")
            .succeeded();
        assert!(fail(&limiter, "user@example.com", ip(1)));
        assert!(fail(&limiter, "user@example.com", ip(1)));
        assert!(limiter.attempt("user@example.com", ip(1)).is_err());
    }

    #[test]
    fn the_account_ceiling_stops_many_addresses() {
        let limiter = LoginLimiter::new(limits(5, 12, 1000));
        for n in 0..4u8 {
            for _ in 0..3 {
                assert!(fail(&limiter, "victim@example.com", ip(n)));
            }
        }
        assert!(
            limiter.attempt("victim@example.com", ip(99)).is_err(),
            "12 failures across addresses reach the ceiling"
        );
        assert!(limiter.attempt("other@example.com", ip(99)).is_ok());
    }

    #[test]
    fn an_address_spraying_accounts_is_limited() {
        let limiter = LoginLimiter::new(limits(5, 50, 3));
        for n in 0..3 {
            assert!(fail(&limiter, &format!("user{n}@example.com"), ip(7)));
        }
        assert!(limiter.attempt("user9@example.com", ip(7)).is_err());
        assert!(limiter.attempt("user9@example.com", ip(8)).is_ok());
    }

    #[test]
    fn failures_age_out_of_their_window() {
        let offset = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let clock = Arc::clone(&offset);
        let limiter = LoginLimiter::with_clock(
            LoginLimits::default(),
            Arc::new(move || start + Duration::from_secs(clock.load(Ordering::SeqCst))),
        );
        for _ in 0..5 {
            assert!(fail(&limiter, "user@example.com", ip(1)));
        }
        let refused = limiter
            .attempt("user@example.com", ip(1))
            .expect_err("limited");
        assert_eq!(refused.retry_after, Some(15 * 60));
        offset.store(15 * 60, Ordering::SeqCst);
        assert!(limiter.attempt("user@example.com", ip(1)).is_ok());
    }

    fn window(within_secs: u64, sweep_above: usize, max_keys: usize) -> Window<u32> {
        let limit = FailureLimit {
            failures: 3,
            within: Duration::from_secs(within_secs),
        };
        Window::bounded(limit, sweep_above, max_keys)
    }

    #[test]
    fn a_window_never_holds_more_keys_than_its_bound() {
        let mut w = window(3600, 4, 10);
        let start = Instant::now();
        for key in 0..1000u32 {
            // All live: a spray within the window.
            w.record(key, start + Duration::from_millis(u64::from(key)));
            assert!(w.failures.len() <= 10, "{} keys", w.failures.len());
        }
        assert!(w.failures.contains_key(&999), "the newest is kept");
        assert!(!w.failures.contains_key(&0), "the stalest went first");
    }

    #[test]
    fn keys_with_no_failure_left_in_their_window_are_swept() {
        let mut w = window(60, 5, 1000);
        let start = Instant::now();
        for key in 0..5u32 {
            w.record(key, start);
        }
        assert_eq!(w.failures.len(), 5);
        w.record(100, start + Duration::from_secs(61));
        assert_eq!(
            w.failures.keys().copied().collect::<Vec<_>>(),
            vec![100],
            "the expired keys went, the new one stays"
        );
    }

    #[test]
    fn a_sweep_keeps_live_keys_and_their_failures() {
        let mut w = window(60, 2, 1000);
        let start = Instant::now();
        for _ in 0..3 {
            w.record(1, start);
        }
        w.record(2, start + Duration::from_secs(61));
        w.record(3, start + Duration::from_secs(62));
        assert!(!w.failures.contains_key(&1));
        assert_eq!(w.failures.len(), 2);
        for _ in 0..2 {
            w.record(3, start + Duration::from_secs(63));
        }
        assert!(
            w.wait(&3, start + Duration::from_secs(64)).is_some(),
            "a live key's failures survive sweeps"
        );
    }
}
