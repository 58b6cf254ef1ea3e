//! Signals between the processes that share the database, through
//! Postgres `LISTEN`/`NOTIFY` ([`regentra_core::store::Store::send_signal`],
//! [`regentra_core::store::Store::listen_signals`]).
//!
//! A signal says what changed and where, in a few dozen bytes; listeners
//! read the change itself from the store. `NOTIFY` is not kept for a
//! listener that is not connected, so a listener that lost its connection
//! says [`Heard::Gap`] once it listens again, and its user reads again what
//! it shows.

use async_trait::async_trait;
use regentra_core::error::{Error, Result};
use regentra_core::store::{Heard, SignalListener};
use sqlx::postgres::{PgListener, PgPool};

use crate::{PostgresStore, pool_options, storage};

/// The one channel every process listens on.
pub const SIGNAL_CHANNEL: &str = "regentra_signals";

/// The longest signal sent: Postgres refuses a `NOTIFY` payload of 8,000
/// bytes or more, and a signal names what changed, not the change.
pub const MAX_SIGNAL_BYTES: usize = 1024;

impl PostgresStore {
    /// `pg_notify` on [`SIGNAL_CHANNEL`], outside any transaction, so it is
    /// delivered at once. It reads no table, so it needs no role or org.
    pub(crate) async fn send_signal_now(&self, signal: &str) -> Result<()> {
        if signal.len() > MAX_SIGNAL_BYTES {
            return Err(Error::invalid(
                "signal",
                format!("a signal is at most {MAX_SIGNAL_BYTES} bytes"),
            ));
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(SIGNAL_CHANNEL)
            .bind(signal)
            .execute(self.pool())
            .await
            .map_err(storage)?;
        Ok(())
    }

    /// A listener on a connection of its own (a pool of one, so that it
    /// never takes a connection requests need, and can connect again).
    pub(crate) async fn listen_for_signals(&self) -> Result<Box<dyn SignalListener>> {
        let pool: PgPool =
            pool_options(1).connect_lazy_with((*self.pool().connect_options()).clone());
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot listen to Postgres: {e}")))?;
        listener.listen(SIGNAL_CHANNEL).await.map_err(storage)?;
        Ok(Box::new(Listening { listener }))
    }
}

/// A listener with its own pool of one connection (dropped with it).
struct Listening {
    listener: PgListener,
}

#[async_trait]
impl SignalListener for Listening {
    async fn next(&mut self) -> Result<Heard> {
        // `try_recv` answers `None` once after the connection was lost and
        // made again (and `LISTEN` issued again): what was sent meanwhile
        // is gone.
        match self.listener.try_recv().await {
            Ok(Some(notification)) => Ok(Heard::Signal(notification.payload().to_owned())),
            Ok(None) => Ok(Heard::Gap),
            Err(e) => Err(Error::Unavailable(format!("listening to Postgres: {e}"))),
        }
    }
}
