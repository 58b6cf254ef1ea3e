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
//!
//! The windows live in the store ([`Store::reserve_failures`]): on
//! Postgres every server process behind a load balancer counts the same
//! failures, so N processes allow the guesses of one; the embedded store,
//! one process by construction, keeps them in its memory. Keys name the
//! limiter, the window and a SHA-256 of the account and address, so no
//! email or address sits in the store in clear. Time is the core's clock.
//!
//! [`Store::reserve_failures`]: regentra_core::store::Store::reserve_failures

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use regentra_core::Regentra;
use regentra_core::store::{FailureReservation, FailureWindow, ReservedFailure};
use sha2::{Digest, Sha256};

use super::problem::{ApiError, Problem};

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

/// Checks attempts against [`LoginLimits`] kept in the core's store.
pub struct LoginLimiter {
    regentra: Arc<Regentra>,
    limits: LoginLimits,
    /// What this limiter's keys start with (`login`, `reset`), so limiters
    /// sharing a store count apart.
    purpose: &'static str,
}

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("purpose", &self.purpose)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One login attempt that passed the limits. Unless [`Attempt::succeeded`]
/// is called, it counts as a failure (a dropped request too): the failures
/// it reserved are already in the store.
#[must_use = "an attempt counts as a failure unless it succeeded"]
#[derive(Debug)]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    /// The key of the (account, address) window.
    account_address: String,
    reserved: Vec<ReservedFailure>,
}

impl Attempt<'_> {
    /// The password was right: the reserved failures are given back and the
    /// (account, address)'s earlier failures are forgotten. A store that
    /// fails here is logged, not answered: the person did sign in.
    pub async fn succeeded(self) {
        let store = self.limiter.regentra.store();
        let others: Vec<ReservedFailure> = self
            .reserved
            .into_iter()
            .filter(|f| f.key != self.account_address)
            .collect();
        let forgot = store.forget_failures(&self.account_address).await;
        let released = store.release_failures(&others).await;
        if let Err(e) = forgot.and(released) {
            tracing::warn!(error = %e, "a right attempt's failures were not given back");
        }
    }
}

impl LoginLimiter {
    /// The login limiter: [`LoginLimits::default`] over `regentra`'s store.
    pub fn standard(regentra: Arc<Regentra>) -> Self {
        Self::new(regentra, "login", LoginLimits::default())
    }

    /// A limiter over `regentra`'s store whose keys start with `purpose`.
    pub fn new(regentra: Arc<Regentra>, purpose: &'static str, limits: LoginLimits) -> Self {
        Self {
            regentra,
            limits,
            purpose,
        }
    }

    /// A window's key: the limiter, the window, and a hash of what it
    /// counts (no email or address in clear in the store).
    fn key(&self, window: &str, counted: &str) -> String {
        let digest = Sha256::digest(counted.as_bytes());
        format!("{}:{window}:{}", self.purpose, hex::encode(digest))
    }

    /// Checks an attempt on `email` from `address` before the password is
    /// verified: a 429 problem when any of its windows is full of failures;
    /// otherwise the attempt, holding one reserved failure in each.
    pub async fn attempt(
        &self,
        email: &str,
        address: Option<IpAddr>,
    ) -> Result<Attempt<'_>, ApiError> {
        let account = email.trim().to_lowercase();
        let address_text = address.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let account_address = self.key("account-address", &format!("{account}\n{address_text}"));
        let window = |key: String, limit: FailureLimit| {
            FailureWindow::new(key, limit.failures, limit.within)
        };
        let mut windows = vec![
            window(account_address.clone(), self.limits.account_address),
            window(self.key("account", &account), self.limits.account),
        ];
        if address.is_some() {
            windows.push(window(
                self.key("address", &address_text),
                self.limits.address,
            ));
        }
        let now = self.regentra.now();
        match self
            .regentra
            .store()
            .reserve_failures(&windows, now)
            .await?
        {
            FailureReservation::Reserved(reserved) => Ok(Attempt {
                limiter: self,
                account_address,
                reserved,
            }),
            FailureReservation::Refused { until } => {
                let wait = (until - now).to_std().unwrap_or(Duration::ZERO);
                // Whole seconds, rounded up: never an answer to come back
                // before the window has room.
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                tracing::warn!(
                    limiter = self.purpose,
                    wait_seconds = seconds,
                    "login failure limit hit"
                );
                Err(ApiError::from(Problem::too_many_requests(seconds.max(1))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regentra_core::ManualClock;
    use regentra_store_embedded::EmbeddedStore;

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

    async fn limiter_on(limits: LoginLimits) -> (LoginLimiter, Arc<ManualClock>) {
        let store = EmbeddedStore::in_memory().await.expect("store");
        let start = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("time");
        let clock = Arc::new(ManualClock::new(start));
        let regentra = Regentra::new(Arc::new(store)).with_clock(clock.clone());
        (
            LoginLimiter::new(Arc::new(regentra), "login", limits),
            clock,
        )
    }

    async fn limiter(limits: LoginLimits) -> LoginLimiter {
        limiter_on(limits).await.0
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    async fn fail(limiter: &LoginLimiter, email: &str, address: Option<IpAddr>) -> bool {
        match limiter.attempt(email, address).await {
            Ok(attempt) => {
                drop(attempt);
                true
            }
            Err(_) => false,
        }
    }

    fn retry_after(refused: ApiError) -> Option<u64> {
        match refused {
            ApiError::Http(problem) => {
                assert_eq!(problem.status, 429);
                problem.retry_after
            }
            ApiError::Core(e) => panic!("not a limit: {e}"),
        }
    }

    #[tokio::test]
    async fn failures_from_one_address_do_not_lock_the_owner_out() {
        let limiter = limiter(limits(5, 50, 1000)).await;
        for _ in 0..5 {
            assert!(fail(&limiter, "victim@example.com", ip(1)).await);
        }
        let refused = limiter
            .attempt(" Victim@Example.com ", ip(1))
            .await
            .expect_err("the attacker's address is limited");
        assert!(retry_after(refused).is_some_and(|s| s >= 1));
        for _ in 0..100 {
            assert!(limiter.attempt("victim@example.com", ip(1)).await.is_err());
        }
        limiter
            .attempt("victim@example.com", ip(2))
            .await
            .expect("the owner, from elsewhere, may try")
            .succeeded()
            .await;
    }

    #[tokio::test]
    async fn successes_do_not_spend_the_budget() {
        let limiter = limiter(limits(2, 3, 3)).await;
        for _ in 0..20 {
            limiter
                .attempt("user@example.com", ip(1))
                .await
                .expect("successes are not counted")
                .succeeded()
                .await;
        }
        assert!(fail(&limiter, "user@example.com", ip(1)).await);
        limiter
            .attempt("user@example.com", ip(1))
            .await
            .expect("one failure is under the limit")
            .succeeded()
            .await;
        assert!(fail(&limiter, "user@example.com", ip(1)).await);
        assert!(fail(&limiter, "user@example.com", ip(1)).await);
        assert!(limiter.attempt("user@example.com", ip(1)).await.is_err());
    }

    #[tokio::test]
    async fn the_account_ceiling_stops_many_addresses() {
        let limiter = limiter(limits(5, 12, 1000)).await;
        for n in 0..4u8 {
            for _ in 0..3 {
                assert!(fail(&limiter, "victim@example.com", ip(n)).await);
            }
        }
        assert!(
            limiter.attempt("victim@example.com", ip(99)).await.is_err(),
            "12 failures across addresses reach the ceiling"
        );
        assert!(limiter.attempt("other@example.com", ip(99)).await.is_ok());
    }

    #[tokio::test]
    async fn an_address_spraying_accounts_is_limited() {
        let limiter = limiter(limits(5, 50, 3)).await;
        for n in 0..3 {
            assert!(fail(&limiter, &format!("user{n}@example.com"), ip(7)).await);
        }
        assert!(limiter.attempt("user9@example.com", ip(7)).await.is_err());
        assert!(limiter.attempt("user9@example.com", ip(8)).await.is_ok());
    }

    #[tokio::test]
    async fn failures_age_out_of_their_window() {
        let (limiter, clock) = limiter_on(LoginLimits::default()).await;
        for _ in 0..5 {
            assert!(fail(&limiter, "user@example.com", ip(1)).await);
        }
        let refused = limiter
            .attempt("user@example.com", ip(1))
            .await
            .expect_err("limited");
        assert_eq!(retry_after(refused), Some(15 * 60));
        clock.advance(chrono::Duration::minutes(15));
        assert!(limiter.attempt("user@example.com", ip(1)).await.is_ok());
    }

    #[tokio::test]
    async fn limiters_of_different_purposes_count_apart() {
        let (login, _) = limiter_on(limits(1, 1, 1)).await;
        let reset = LoginLimiter::new(Arc::clone(&login.regentra), "reset", limits(1, 1, 1));
        assert!(fail(&login, "user@example.com", ip(1)).await);
        assert!(login.attempt("user@example.com", ip(1)).await.is_err());
        assert!(
            reset.attempt("user@example.com", ip(1)).await.is_ok(),
            "the same store, another limiter's windows"
        );
    }

    #[tokio::test]
    async fn keys_hold_no_email_or_address_in_clear() {
        let limiter = limiter(LoginLimits::default()).await;
        let key = limiter.key("account", "victim@example.com");
        assert!(key.starts_with("login:account:"), "{key}");
        assert!(!key.contains("victim"), "{key}");
    }
}
