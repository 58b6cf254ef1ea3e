//! The inventory as staff keep it: one asset, edits, retiring, and the
//! assets a ticket concerns.

use super::*;
use crate::psa::records::{Asset, AssetStatus, AssetUpdate};

async fn asset_actions(r: &Regentra, org: OrgId) -> Vec<String> {
    store::audit_chain(r.store(), org)
        .await
        .expect("chain")
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("asset.") || a.starts_with("ticket.asset"))
        .collect()
}

fn laptop(name: &str, to: Option<crate::UserId>) -> NewAsset {
    NewAsset {
        name: name.into(),
        kind: "laptop".into(),
        serial: Some(format!("SN-{name}")),
        assigned_user: to,
        status: AssetStatus::InUse,
        attributes: [("recovery_key".to_owned(), "staff only".to_owned())].into(),
    }
}

/// The names of the assets `user` holds, as staff see them.
async fn held_by(r: &Regentra, who: &Principal, org: OrgId, user: crate::UserId) -> Vec<String> {
    r.assets_of(who, org, user, PageRequest::first(50))
        .await
        .expect("assets")
        .items
        .into_iter()
        .map(|a| a.name)
        .collect()
}

pub async fn staff_read_edit_and_retire_assets(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (org, [erin, frank]) = (f.c.org, &f.requesters);
    let pc = r
        .add_asset(&f.tech, org, laptop("Front desk PC", Some(erin.user)))
        .await
        .expect("asset");
    assert_eq!(r.asset(&f.tech, org, pc.id).await.expect("staff"), pc);

    // Its holder reads it where the portal shows people their assets,
    // without the inventory's notes; anyone else never.
    expect_not_found(r.asset(erin, org, pc.id).await, "no portal shows assets");
    r.update_portal_settings(
        &f.c.msp.admin,
        org,
        crate::portal::PortalUpdate {
            enabled: Some(true),
            slug: Some(Some("acme".into())),
            show_assets: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("portal");
    let own = r.asset(erin, org, pc.id).await.expect("her own");
    assert_eq!(own.name, pc.name);
    assert!(
        own.attributes.is_empty(),
        "the inventory's notes stay with staff"
    );
    expect_not_found(r.asset(frank, org, pc.id).await, "someone else's");

    // An edit changes what it names; who holds it follows.
    f.c.clock.set(utc("2025-06-16T13:00:00Z"));
    let edited = r
        .update_asset(
            &f.tech,
            org,
            pc.id,
            AssetUpdate {
                name: Some(" Reception PC ".into()),
                kind: Some("desktop".into()),
                serial: Some(None),
                assigned_user: Some(Some(frank.user)),
                status: Some(AssetStatus::InRepair),
                attributes: Some([("bios".to_owned(), "locked".to_owned())].into()),
            },
        )
        .await
        .expect("edited");
    assert_eq!(edited.name, "Reception PC");
    assert_eq!(edited.kind, "desktop");
    assert_eq!(edited.serial, None, "cleared");
    assert_eq!(edited.assigned_user, Some(frank.user));
    assert_eq!(edited.status, AssetStatus::InRepair);
    assert_eq!(edited.updated_at, utc("2025-06-16T13:00:00Z"));
    assert_eq!(r.asset(&f.tech, org, pc.id).await.expect("read"), edited);
    assert!(held_by(r, &f.tech, org, erin.user).await.is_empty());
    assert_eq!(held_by(r, &f.tech, org, frank.user).await, ["Reception PC"]);
    let events = asset_actions(r, org).await.len();
    let same = r
        .update_asset(
            &f.tech,
            org,
            pc.id,
            AssetUpdate {
                name: Some("Reception PC".into()),
                assigned_user: Some(Some(frank.user)),
                ..AssetUpdate::default()
            },
        )
        .await
        .expect("nothing to change");
    assert_eq!(same, edited);
    assert_eq!(asset_actions(r, org).await.len(), events, "nothing written");
    expect_invalid(
        r.update_asset(
            &f.tech,
            org,
            pc.id,
            AssetUpdate {
                name: Some("  ".into()),
                ..AssetUpdate::default()
            },
        )
        .await,
        "name",
    );
    expect_invalid(
        r.update_asset(
            &f.tech,
            org,
            pc.id,
            AssetUpdate {
                assigned_user: Some(Some(f.c.msp.admin.user)),
                ..AssetUpdate::default()
            },
        )
        .await,
        "assigned_user",
    );

    // Retired: kept on record, with nobody any more; retiring again
    // changes nothing.
    let retired = r.retire_asset(&f.tech, org, pc.id).await.expect("retired");
    assert_eq!(retired.status, AssetStatus::Retired);
    assert_eq!(retired.assigned_user, None);
    assert!(held_by(r, &f.tech, org, frank.user).await.is_empty());
    assert_eq!(
        r.asset(&f.tech, org, pc.id).await.expect("on record"),
        retired
    );
    assert_eq!(
        r.retire_asset(&f.tech, org, pc.id).await.expect("again"),
        retired
    );
    assert_eq!(
        asset_actions(r, org).await,
        ["asset.added", "asset.updated", "asset.retired"]
    );
    let chain = store::audit_chain(r.store(), org).await.expect("chain");
    let retire = chain
        .iter()
        .find(|e| e.action == "asset.retired")
        .expect("event");
    assert_eq!(retire.details["assigned_user"], json!(frank.user));
    let update = chain
        .iter()
        .find(|e| e.action == "asset.updated")
        .expect("event");
    assert_eq!(
        update.details["changed"],
        json!([
            "name",
            "kind",
            "serial",
            "assigned_user",
            "status",
            "attributes"
        ])
    );

    // Who may: staff; another tenant's asset is not found.
    for (who, what) in [
        (erin, "an employee"),
        (&f.c.manager, "a compliance manager"),
    ] {
        expect_denied(
            r.update_asset(who, org, pc.id, AssetUpdate::default())
                .await,
            what,
        );
        expect_denied(r.retire_asset(who, org, pc.id).await, what);
    }
    let other_client = f.c.clients_other();
    let elsewhere = member(&f.c.msp, other_client, "tess@bolt.test", Role::Technician).await;
    expect_not_found(
        r.asset(&elsewhere, other_client, pc.id).await,
        "the id in another org",
    );
    expect_not_found(
        r.update_asset(
            &elsewhere,
            other_client,
            pc.id,
            AssetUpdate {
                name: Some("Mine".into()),
                ..AssetUpdate::default()
            },
        )
        .await,
        "the id in another org",
    );
    let southwind = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.retire_asset(&southwind.admin, org, pc.id).await,
        "another MSP's client",
    );
    expect_not_found(
        r.asset(&southwind.admin, org, pc.id).await,
        "another MSP's client",
    );
}

pub async fn tickets_list_and_unlink_their_assets(store: Arc<dyn Store>) {
    let f = psa_fixture(store, Vec::new()).await;
    let r = f.c.r();
    let (org, erin) = (f.c.org, &f.requesters[0]);
    let ticket = r
        .create_ticket(erin, org, new_ticket("Screen flickers", Priority::Low))
        .await
        .expect("ticket");
    let [pc, screen]: [Asset; 2] = [
        r.add_asset(&f.tech, org, laptop("Erin PC", Some(erin.user)))
            .await
            .expect("asset"),
        r.add_asset(&f.tech, org, laptop("Erin screen", Some(erin.user)))
            .await
            .expect("asset"),
    ];
    assert!(
        r.ticket_assets(&f.tech, org, ticket.id)
            .await
            .expect("none yet")
            .is_empty()
    );
    for a in [&screen, &pc] {
        r.link_asset(&f.tech, org, ticket.id, a.id)
            .await
            .expect("linked");
    }
    let names = |assets: Vec<Asset>| assets.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            r.ticket_assets(&f.tech, org, ticket.id)
                .await
                .expect("both")
        ),
        ["Erin PC", "Erin screen"],
        "in the order they were added"
    );
    let after = r
        .unlink_asset(&f.tech, org, ticket.id, screen.id)
        .await
        .expect("unlinked");
    assert_eq!(after.assets, BTreeSet::from([pc.id]));
    assert_eq!(
        names(r.ticket_assets(&f.tech, org, ticket.id).await.expect("one")),
        ["Erin PC"]
    );
    expect_not_found(
        r.unlink_asset(&f.tech, org, ticket.id, screen.id).await,
        "an asset the ticket no longer names",
    );
    // A retired asset stays linked, as it was.
    r.retire_asset(&f.tech, org, pc.id).await.expect("retired");
    assert_eq!(
        r.ticket_assets(&f.tech, org, ticket.id).await.expect("one")[0].status,
        AssetStatus::Retired
    );
    assert_eq!(
        asset_actions(r, org)
            .await
            .into_iter()
            .filter(|a| a.starts_with("ticket."))
            .collect::<Vec<_>>(),
        [
            "ticket.asset_linked",
            "ticket.asset_linked",
            "ticket.asset_unlinked"
        ]
    );

    // Who may: the inventory is staff's, even on one's own ticket; taking
    // an asset off is working the ticket.
    expect_denied(
        r.ticket_assets(erin, org, ticket.id).await,
        "the requester reads the inventory",
    );
    expect_denied(
        r.unlink_asset(erin, org, ticket.id, pc.id).await,
        "the requester unlinks",
    );
    expect_not_found(
        r.ticket_assets(&f.requesters[1], org, ticket.id).await,
        "someone else's ticket",
    );
    let other_client = f.c.clients_other();
    let elsewhere = member(&f.c.msp, other_client, "tess@bolt.test", Role::Technician).await;
    expect_not_found(
        r.ticket_assets(&elsewhere, other_client, ticket.id).await,
        "the ticket's id in another org",
    );
    expect_not_found(
        r.unlink_asset(&elsewhere, other_client, ticket.id, pc.id)
            .await,
        "the ticket's id in another org",
    );
    let southwind = msp_in(r.clone(), f.c.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.unlink_asset(&southwind.admin, org, ticket.id, pc.id)
            .await,
        "another MSP's client",
    );
    assert_eq!(
        r.ticket(&f.tech, org, ticket.id)
            .await
            .expect("ticket")
            .assets,
        BTreeSet::from([pc.id]),
        "unchanged by the refusals"
    );
}
