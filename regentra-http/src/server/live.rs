//! Live chat across processes: who is told that a chat changed.
//!
//! A chat's sockets (`routes::chat::socket`) never carry what another
//! part of the server hands them: each is told only *that* its chat
//! changed (a message stored, the chat closed), then reads what it has not
//! sent yet through the core, as its own caller. So a message stored by
//! another process reaches them the same way as one stored here; only the
//! telling differs:
//!
//! - in this process, [`ChatHub::changed`] wakes the chat's sockets at once;
//! - for the others, it sends a store signal ([`Store::send_signal`]:
//!   Postgres `NOTIFY`, a few dozen bytes naming the chat), which the hub of
//!   each process hears on its listener ([`Store::listen_signals`]) and
//!   passes to its own sockets.
//!
//! Signals are not kept. When the listener was cut off and listens again
//! (and when it first starts listening), every socket of the process is
//! woken to read again, so a missed signal delays a message, never loses
//! it; each socket also reads again at its periodic access check.
//!
//! On a store that one process opens (the embedded store) there is nothing
//! to listen to: the hub wakes its own sockets only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use regentra_core::Regentra;
use regentra_core::ids::ChatId;
use regentra_core::store::Heard;
use tokio::sync::broadcast;
use uuid::Uuid;

/// How long the listener waits before listening again after it failed,
/// at first; it doubles with each failure in a row, up to
/// [`LISTEN_AGAIN_AT_MOST`], so a database that is down is not asked (nor
/// the log written to) every moment.
const LISTEN_AGAIN_AFTER: Duration = Duration::from_secs(2);
const LISTEN_AGAIN_AT_MOST: Duration = Duration::from_secs(30);

/// Wakes the sockets of each chat, in this process and (through the
/// store's signals) in every process sharing the store. Cheap to clone.
#[derive(Clone)]
pub struct ChatHub {
    inner: Arc<Hub>,
}

impl std::fmt::Debug for ChatHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatHub")
            .field("origin", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Hub {
    regentra: Arc<Regentra>,
    /// The wake-up channel of each chat some socket of this process watches.
    chats: Mutex<HashMap<ChatId, broadcast::Sender<()>>>,
    /// This process in the signals it sends: its own, heard back, are
    /// skipped (its sockets were woken already).
    origin: Uuid,
    /// Whether the listener was started (on the first socket).
    listening: AtomicBool,
    /// The listener's task, ended with the hub (an embedding's or a
    /// test's server dropped, its connection with it).
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(task) = self.listener.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// A socket's watch on its chat: it wakes when the chat changed. Dropping
/// it forgets the chat's channel once nobody watches it.
#[derive(Debug)]
pub struct Watch {
    chat: ChatId,
    receiver: Option<broadcast::Receiver<()>>,
    hub: Arc<Hub>,
}

impl Watch {
    /// Waits until the chat changed. Several changes may wake it once
    /// (the socket reads everything new either way).
    pub async fn changed(&mut self) {
        let Some(receiver) = self.receiver.as_mut() else {
            return std::future::pending().await;
        };
        match receiver.recv().await {
            // Lagged: it missed wake-ups, which is one more wake-up. Those
            // still queued are the same wake-up too: one read catches up
            // with them all.
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                while let Ok(()) | Err(broadcast::error::TryRecvError::Lagged(_)) =
                    receiver.try_recv()
                {}
            }
            // The hub dropped the channel: never while a watch holds a
            // receiver, but a socket must not spin if it did.
            Err(broadcast::error::RecvError::Closed) => {
                self.receiver = None;
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        drop(self.receiver.take());
        self.hub.forget_if_idle(self.chat);
    }
}

impl ChatHub {
    /// The hub of a server over `regentra`'s store.
    pub fn new(regentra: Arc<Regentra>) -> Self {
        Self {
            inner: Arc::new(Hub {
                regentra,
                chats: Mutex::default(),
                origin: Uuid::new_v4(),
                listening: AtomicBool::new(false),
                listener: Mutex::default(),
            }),
        }
    }

    /// Watches a chat for a socket. The first watch of the process starts
    /// listening to the other processes' signals.
    pub fn watch(&self, chat: ChatId) -> Watch {
        let receiver = {
            let mut chats = self.inner.lock();
            chats
                .entry(chat)
                .or_insert_with(|| broadcast::channel(16).0)
                .subscribe()
        };
        self.start_listening();
        Watch {
            chat,
            receiver: Some(receiver),
            hub: Arc::clone(&self.inner),
        }
    }

    /// Tells every socket of the chat, in every process, that it changed:
    /// a message was stored, or the chat closed.
    /// Called after the change committed. A signal that cannot be sent is
    /// logged: the change is stored, and the other processes' sockets
    /// read it at their next periodic check.
    pub async fn changed(&self, chat: ChatId) {
        self.inner.wake(chat);
        let signal = format!("{} chat {chat}", self.inner.origin);
        if let Err(e) = self.inner.regentra.store().send_signal(&signal).await {
            tracing::warn!(%chat, error = %e, "cannot tell the other processes of a chat's change");
        }
    }

    fn start_listening(&self) {
        if self.inner.listening.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let task = runtime.spawn(listen(Arc::downgrade(&self.inner)));
                if let Ok(mut held) = self.inner.listener.lock() {
                    *held = Some(task.abort_handle());
                }
            }
            // No runtime (never in a server): try again on the next watch.
            Err(_) => self.inner.listening.store(false, Ordering::Release),
        }
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChatId, broadcast::Sender<()>>> {
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self, chat: ChatId) {
        let mut chats = self.lock();
        if let Some(sender) = chats.get(&chat)
            && sender.send(()).is_err()
        {
            // Nobody is watching any more.
            chats.remove(&chat);
        }
    }

    /// Wakes every socket of this process: signals may have been missed.
    fn wake_all(&self) {
        let chats = self.lock();
        for sender in chats.values() {
            let _ = sender.send(());
        }
    }

    fn forget_if_idle(&self, chat: ChatId) {
        let mut chats = self.lock();
        if chats.get(&chat).is_some_and(|s| s.receiver_count() == 0) {
            chats.remove(&chat);
        }
    }

    /// A signal heard from the store: another process's chat changed.
    fn heard(&self, signal: &str) {
        match parse(signal) {
            Some((origin, _)) if origin == self.origin => {}
            Some((_, chat)) => self.wake(chat),
            None => tracing::debug!(signal, "a signal this server does not know, ignored"),
        }
    }
}

/// `"{origin} chat {chat}"`.
fn parse(signal: &str) -> Option<(Uuid, ChatId)> {
    let mut words = signal.split(' ');
    let origin = words.next()?.parse().ok()?;
    (words.next()? == "chat").then_some(())?;
    let chat = words.next()?.parse().ok().map(ChatId)?;
    words.next().is_none().then_some((origin, chat))
}

/// Listens to the store's signals for as long as the hub lives, listening
/// again after a failure; every time it (re)starts listening, all the
/// process's sockets read again what they may have missed.
async fn listen(hub: Weak<Hub>) {
    let mut wait = LISTEN_AGAIN_AFTER;
    loop {
        let Some(regentra) = hub.upgrade().map(|h| Arc::clone(&h.regentra)) else {
            return;
        };
        match regentra.store().listen_signals().await {
            // A store one process opens: nothing to hear from elsewhere.
            Ok(None) => return,
            Ok(Some(mut listener)) => {
                drop(regentra);
                let Some(live) = hub.upgrade() else { return };
                live.wake_all();
                drop(live);
                wait = LISTEN_AGAIN_AFTER;
                loop {
                    let heard = listener.next().await;
                    let Some(live) = hub.upgrade() else { return };
                    match heard {
                        Ok(Heard::Signal(signal)) => live.heard(&signal),
                        Ok(Heard::Gap) => live.wake_all(),
                        Err(e) => {
                            tracing::warn!(error = %e, "stopped hearing the other processes' chat signals; listening again");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot hear the other processes' chat signals; trying again");
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(LISTEN_AGAIN_AT_MOST);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_name_their_process_and_chat_and_nothing_else() {
        let origin = Uuid::new_v4();
        let chat = ChatId(Uuid::new_v4());
        assert_eq!(
            parse(&format!("{origin} chat {chat}")),
            Some((origin, chat))
        );
        for bad in [
            String::new(),
            format!("{origin} ticket {chat}"),
            format!("{origin} chat"),
            format!("{origin} chat {chat} more"),
            format!("nobody chat {chat}"),
            format!("{origin} chat not-an-id"),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }
}
