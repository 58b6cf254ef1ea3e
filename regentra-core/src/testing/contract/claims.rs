//! Claims: a sweep's, one holder per org at a time, orgs independent; the
//! email outbox's, one holder at a time, apart from the sweeps'.

use super::*;

/// A fresh org id: the default claims are shared by the whole process,
/// where other cases (and other stores' runs of this one) claim too.
fn fresh_org() -> OrgId {
    OrgId(Uuid::now_v7())
}

pub async fn a_sweep_claim_is_held_by_one_claimant_at_a_time(store: Arc<dyn Store>) {
    let (a, b) = (fresh_org(), fresh_org());
    let first = store
        .try_claim_sweep(a)
        .await
        .expect("claim")
        .expect("an unclaimed org is granted");
    assert_eq!(first.org(), a);
    assert!(
        store.try_claim_sweep(a).await.expect("claim").is_none(),
        "a second claim on the org is refused while the first is held"
    );
    let other = store
        .try_claim_sweep(b)
        .await
        .expect("claim")
        .expect("a claim on another org is not blocked by the first");
    first.release().await;
    let again = store
        .try_claim_sweep(a)
        .await
        .expect("claim")
        .expect("granted again once the first is released");
    assert!(
        store.try_claim_sweep(b).await.expect("claim").is_none(),
        "releasing A's claim did not release B's"
    );
    drop(other);
    drop(again);
    // A dropped claim is released too, as soon as the store learns of it
    // (a database: when the connection goes back to its pool, a moment
    // later), so a claimant that fails mid-sweep blocks no one for long.
    // Each try is a round trip to the store, in which that work gets done.
    for org in [a, b] {
        let mut granted = None;
        for _ in 0..1000 {
            granted = store.try_claim_sweep(org).await.expect("claim");
            if granted.is_some() {
                break;
            }
        }
        assert!(granted.is_some(), "a dropped claim is released");
    }
}

/// The claim on the platform's email outbox (one per store): one holder at
/// a time, free again once released or dropped, and apart from the sweep
/// claims (an org's sweep and the outbox's delivery never wait for each
/// other).
pub async fn the_email_outbox_claim_is_held_by_one_claimant_at_a_time(store: Arc<dyn Store>) {
    let first = store
        .try_claim_email_outbox()
        .await
        .expect("claim")
        .expect("an unclaimed outbox is granted");
    assert!(
        store
            .try_claim_email_outbox()
            .await
            .expect("claim")
            .is_none(),
        "a second claim on the outbox is refused while the first is held"
    );
    let org = fresh_org();
    let sweep = store
        .try_claim_sweep(org)
        .await
        .expect("claim")
        .expect("an org's sweep is not blocked by the outbox's claim");
    first.release().await;
    let again = store
        .try_claim_email_outbox()
        .await
        .expect("claim")
        .expect("granted again once the first is released, while an org's sweep is claimed");
    assert!(
        store.try_claim_sweep(org).await.expect("claim").is_none(),
        "releasing the outbox's claim did not release the org's"
    );
    sweep.release().await;
    assert!(
        store
            .try_claim_email_outbox()
            .await
            .expect("claim")
            .is_none(),
        "releasing the org's claim did not release the outbox's"
    );
    // Dropped, the claim is released as soon as the store learns of it (a
    // database: a moment later, see the sweep claim's case).
    drop(again);
    let mut granted = None;
    for _ in 0..1000 {
        granted = store.try_claim_email_outbox().await.expect("claim");
        if granted.is_some() {
            break;
        }
    }
    assert!(granted.is_some(), "a dropped claim is released");
}
