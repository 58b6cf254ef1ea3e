//! Login rate limits, per account and per client address (governor's GCRA
//! limiters). Every attempt counts, so guessing one account's password from
//! many addresses, or many accounts' from one, both run into a wall.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::problem::Problem;

/// How many attempts a key may make at once, and how fast they come back.
#[derive(Debug, Clone, Copy)]
pub struct LoginQuota {
    pub burst: u32,
    pub replenish_every: Duration,
}

impl LoginQuota {
    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(self.replenish_every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }
}

/// Keys kept before stale ones are dropped (bounds memory under a spray).
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginLimiter {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl LoginLimiter {
    /// 5 attempts per account then one a minute; 20 per address then one
    /// every 6 seconds.
    pub fn standard() -> Self {
        Self::new(
            LoginQuota {
                burst: 5,
                replenish_every: Duration::from_secs(60),
            },
            LoginQuota {
                burst: 20,
                replenish_every: Duration::from_secs(6),
            },
        )
    }

    pub fn new(account: LoginQuota, address: LoginQuota) -> Self {
        Self {
            accounts: RateLimiter::keyed(account.quota()),
            addresses: RateLimiter::keyed(address.quota()),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt; a 429 problem when either limit is spent.
    pub fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), Problem> {
        self.prune();
        if let Some(ip) = address {
            self.addresses
                .check_key(&ip)
                .map_err(|wait| self.refusal(wait.wait_time_from(self.clock.now())))?;
        }
        let account = email.trim().to_lowercase();
        self.accounts
            .check_key(&account)
            .map_err(|wait| self.refusal(wait.wait_time_from(self.clock.now())))
    }

    fn refusal(&self, wait: Duration) -> Problem {
        tracing::warn!(wait_seconds = wait.as_secs(), "login rate limit hit");
        Problem::too_many_requests(wait.as_secs().max(1))
    }

    fn prune(&self) {
        if self.accounts.len() > PRUNE_ABOVE {
            self.accounts.retain_recent();
        }
        if self.addresses.len() > PRUNE_ABOVE {
            self.addresses.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_limited_whatever_the_address() {
        let limiter = LoginLimiter::new(
            LoginQuota {
                burst: 3,
                replenish_every: Duration::from_secs(3600),
            },
            LoginQuota {
                burst: 100,
                replenish_every: Duration::from_secs(3600),
            },
        );
        for i in 0..3u8 {
            let ip = IpAddr::from([10, 0, 0, i]);
            assert!(limiter.check("A@example.com", Some(ip)).is_ok());
        }
        let refused = limiter
            .check(" a@example.com ", Some(IpAddr::from([10, 0, 0, 9])))
            .expect_err("fourth attempt on the account");
        assert_eq!(refused.status, 429);
        assert!(refused.retry_after.is_some_and(|s| s >= 1));
        assert!(limiter.check("b@example.com", None).is_ok());
    }

    #[test]
    fn an_address_is_limited_whatever_the_account() {
        let limiter = LoginLimiter::new(
            LoginQuota {
                burst: 100,
                replenish_every: Duration::from_secs(3600),
            },
            LoginQuota {
                burst: 2,
                replenish_every: Duration::from_secs(3600),
            },
        );
        let ip = Some(IpAddr::from([192, 0, 2, 1]));
        assert!(limiter.check("one@example.com", ip).is_ok());
        assert!(limiter.check("two@example.com", ip).is_ok());
        assert!(limiter.check("three@example.com", ip).is_err());
        assert!(
            limiter
                .check("three@example.com", Some(IpAddr::from([192, 0, 2, 2])))
                .is_ok()
        );
    }
}
