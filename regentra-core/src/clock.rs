//! Time, identity and entropy are injected: services never read the system
//! clock or the operating system's random source themselves, so tests are
//! deterministic and replayable.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned clock still holds a valid instant.
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// Makes the ids of new records.
pub trait IdGen: Send + Sync {
    fn next_id(&self) -> Uuid;
}

/// uuid v7 from the system clock and OS randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn next_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Valid, strictly increasing uuid v7s from a seed and a counter: the same
/// seed gives the same sequence, which makes snapshots stable.
#[derive(Debug)]
pub struct DeterministicIds {
    seed: u64,
    counter: AtomicU64,
}

impl DeterministicIds {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl IdGen for DeterministicIds {
    fn next_id(&self) -> Uuid {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        // The counter stands in for the millisecond timestamp, so ids sort in
        // creation order exactly like real v7 ids; the seed fills the random bits.
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.seed.to_be_bytes());
        random[8..].copy_from_slice(&((n & 0xffff) as u16).to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(n, &random).into_uuid()
    }
}

/// Where secrets come from: token secrets and password salts.
pub trait Entropy: Send + Sync {
    /// Fills `bytes` with unpredictable bytes, or says why it cannot.
    fn fill(&self, bytes: &mut [u8]) -> crate::Result<()>;
}

/// The operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, bytes: &mut [u8]) -> crate::Result<()> {
        getrandom::fill(bytes)
            .map_err(|e| crate::Error::storage(format!("no randomness from the OS: {e}")))
    }
}

/// A repeatable stream for tests (SHA-256 of the seed and a counter): the
/// same seed gives the same secrets. Never for real secrets.
#[derive(Debug)]
pub struct SeededEntropy {
    seed: u64,
    counter: AtomicU64,
}

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, bytes: &mut [u8]) -> crate::Result<()> {
        use sha2::{Digest, Sha256};
        for chunk in bytes.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let block = Sha256::new()
                .chain_update(self.seed.to_be_bytes())
                .chain_update(n.to_be_bytes())
                .finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_ids_are_v7_increasing_and_repeatable() {
        let a = DeterministicIds::new(7);
        let b = DeterministicIds::new(7);
        let xs: Vec<Uuid> = (0..100).map(|_| a.next_id()).collect();
        let ys: Vec<Uuid> = (0..100).map(|_| b.next_id()).collect();
        assert_eq!(xs, ys);
        assert!(xs.windows(2).all(|w| w[0] < w[1]));
        assert!(xs.iter().all(|u| u.get_version_num() == 7));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).expect("valid instant");
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now(), start + Duration::minutes(5));
    }
}
