//! Windows of failures on Postgres ([`Store::reserve_failures`]): one row
//! per failure in `failure_reservations`, so every server process on the
//! database counts the same failures.
//!
//! A reservation is one transaction: it takes a transaction-scoped advisory
//! lock per key (all of them in one statement, in hash order, so two
//! reservations never wait on each other in a cycle), deletes the keys'
//! expired rows, counts the rest, and inserts one row per key only if every
//! window has room. Two processes reserving the last slot of a key queue on
//! its lock, and the second counts the first's row. Now and then (one
//! reservation in [`SWEEP_EVERY`]) the expired rows of every key are
//! deleted too, a bounded batch at a time, so the table stays the size of
//! the failures still counting.
//!
//! [`Store::reserve_failures`]: regentra_core::store::Store::reserve_failures

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use regentra_core::error::{Error, Result};
use regentra_core::store::{FailureReservation, FailureWindow, ReservedFailure, Scope};

use super::{PostgresStore, storage};

/// The first key of every failure window's advisory lock ("RGFW"), so
/// other users of advisory locks on the database never meet ours; the
/// second is `hashtext(key)` (two keys may share it, rarely: they then
/// queue behind each other, nothing worse).
const FAILURE_LOCK_CLASS: i32 = 0x5247_4657;

/// One reservation in this many also sweeps expired rows of every key.
const SWEEP_EVERY: u64 = 64;

/// The most expired rows one sweep deletes.
const SWEEP_BATCH: i64 = 1000;

static RESERVATIONS: AtomicU64 = AtomicU64::new(0);

/// Microseconds since the epoch: times cross to the database as integers
/// (exact, and no time feature of the driver needed).
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(us: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| Error::storage(format!("time out of range: {us} µs")))
}

impl PostgresStore {
    pub(crate) async fn reserve_failures_in_db(
        &self,
        windows: &[FailureWindow],
        now: DateTime<Utc>,
    ) -> Result<FailureReservation> {
        if windows.is_empty() {
            return Ok(FailureReservation::Reserved(Vec::new()));
        }
        let keys: Vec<&str> = windows.iter().map(|w| w.key.as_str()).collect();
        let mut tx = self.begin(Scope::Platform).await?;
        sqlx::query(
            "SELECT pg_advisory_xact_lock($1, h) \
             FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS keys",
        )
        .bind(FAILURE_LOCK_CLASS)
        .bind(&keys)
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        sqlx::query(
            "DELETE FROM failure_reservations WHERE key = ANY($1) \
             AND expires_at <= 'epoch'::timestamptz + $2 * interval '1 microsecond'",
        )
        .bind(&keys)
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(storage)?;
        let live: Vec<(String, i64)> = sqlx::query_as(
            "SELECT key, (extract(epoch FROM expires_at) * 1000000)::bigint \
             FROM failure_reservations WHERE key = ANY($1) ORDER BY key, expires_at",
        )
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await
        .map_err(storage)?;
        let mut until = None;
        for window in windows {
            let expiries = live
                .iter()
                .filter(|(key, _)| *key == window.key)
                .map(|&(_, us)| from_micros(us))
                .collect::<Result<Vec<_>>>()?;
            if let Some(at) = window.full_until(&expiries) {
                until = until.max(Some(at));
            }
        }
        if let Some(until) = until {
            // Deleting the expired rows is worth keeping either way.
            tx.commit().await.map_err(storage)?;
            return Ok(FailureReservation::Refused { until });
        }
        let mut reserved = Vec::with_capacity(windows.len());
        for window in windows {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO failure_reservations (key, at, expires_at) \
                 VALUES ($1, 'epoch'::timestamptz + $2 * interval '1 microsecond', \
                         'epoch'::timestamptz + $3 * interval '1 microsecond') \
                 RETURNING id",
            )
            .bind(&window.key)
            .bind(micros(now))
            .bind(micros(window.expiry(now)))
            .fetch_one(&mut *tx)
            .await
            .map_err(storage)?;
            reserved.push(ReservedFailure {
                key: window.key.clone(),
                id,
            });
        }
        tx.commit().await.map_err(storage)?;
        if RESERVATIONS.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep_expired_failures(now).await?;
        }
        Ok(FailureReservation::Reserved(reserved))
    }

    /// Deletes up to [`SWEEP_BATCH`] expired rows, whatever their key.
    pub(crate) async fn sweep_expired_failures(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin(Scope::Platform).await?;
        let swept = sqlx::query(
            "DELETE FROM failure_reservations WHERE id IN \
             (SELECT id FROM failure_reservations \
              WHERE expires_at <= 'epoch'::timestamptz + $2 * interval '1 microsecond' LIMIT $1)",
        )
        .bind(SWEEP_BATCH)
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(storage)?
        .rows_affected();
        tx.commit().await.map_err(storage)?;
        Ok(swept)
    }

    pub(crate) async fn release_failures_in_db(&self, failures: &[ReservedFailure]) -> Result<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = failures.iter().map(|f| f.id).collect();
        let mut tx = self.begin(Scope::Platform).await?;
        sqlx::query("DELETE FROM failure_reservations WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)
    }

    pub(crate) async fn forget_failures_in_db(&self, key: &str) -> Result<()> {
        let mut tx = self.begin(Scope::Platform).await?;
        sqlx::query("DELETE FROM failure_reservations WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)
    }
}
