//! Campaign exports (person, role, status, signed time, version hash),
//! pinned as snapshots.

use std::collections::BTreeSet;
use std::sync::Arc;

use regentra_core::policies::Audience;
use regentra_core::policies::campaign::NewCampaign;
use regentra_core::rbac::Role;
use regentra_core::store::Store;
use regentra_core::testing::services::{compliance_fixture, published_policy};
use regentra_store_embedded::EmbeddedStore;

#[tokio::test]
async fn campaign_exports_in_csv_and_json() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory().await.expect("store"));
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, _frank]) = published_policy(&f).await;
    let due = regentra_core::Clock::now(f.clock.as_ref()) + chrono::Duration::days(14);
    let c = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            NewCampaign {
                title: Some("Annual acceptable use acknowledgment".into()),
                audience: Audience::Roles(BTreeSet::from([
                    Role::Employee,
                    Role::ComplianceOfficer,
                ])),
                due,
                cadence: Default::default(),
            },
        )
        .await
        .expect("launched");
    f.clock.advance(chrono::Duration::hours(5));
    r.sign_acknowledgment(&erin, f.org, c.id, "Erin Example")
        .await
        .expect("signed");
    insta::assert_snapshot!(
        "campaign.csv",
        r.campaign_csv(&f.manager, f.org, c.id).await.expect("csv")
    );
    let rows = r
        .campaign_rows(&f.manager, f.org, c.id)
        .await
        .expect("rows");
    insta::assert_json_snapshot!("campaign.json", rows);
    insta::assert_json_snapshot!(
        "campaign_completion.json",
        r.campaign_completion(&f.manager, f.org, c.id).await.expect("completion"),
        { ".pending" => "[users]", ".campaign" => "[id]" }
    );
}
