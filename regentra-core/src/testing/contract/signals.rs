//! Signals between the processes sharing a store: sending never fails for
//! want of listeners, and a store that listens hears what it sends.

use super::*;
use crate::store::Heard;

/// Every store takes a signal (the default: nobody else to tell). A store
/// that offers a listener (one that several processes share) delivers to
/// it what is sent after it started listening, word for word; other
/// signals (other tests on the same database) may come first, and a gap
/// may be told, but ours arrives.
pub async fn a_signal_sent_reaches_the_stores_listeners(store: Arc<dyn Store>) {
    let listener = store.listen_signals().await.expect("listening");
    let ours = format!("contract {} chat {}", Uuid::now_v7(), Uuid::now_v7());
    store.send_signal(&ours).await.expect("a signal is taken");
    let Some(mut listener) = listener else {
        return;
    };
    loop {
        match listener.next().await.expect("heard") {
            Heard::Signal(signal) if signal == ours => break,
            Heard::Signal(_) | Heard::Gap => {}
        }
    }
}
