use super::*;
use crate::portal::{HostnameClaim, HostnameStatus, VerifiedBy};

fn set_text(value: &str) -> Option<Option<String>> {
    Some(Some(value.to_owned()))
}

fn slug_update(slug: &str) -> PortalUpdate {
    PortalUpdate {
        slug: set_text(slug),
        ..Default::default()
    }
}

fn enabled_with_slug(slug: &str) -> PortalUpdate {
    PortalUpdate {
        enabled: Some(true),
        ..slug_update(slug)
    }
}

/// What the store holds of an org's portal: its settings record, its
/// platform route and its audit chain, to show that a call wrote nothing.
async fn portal_snapshot(
    r: &Regentra,
    org: OrgId,
) -> (Option<StoredRecord>, Option<StoredRecord>, usize) {
    let settings = r
        .store()
        .get(Scope::Org(org), "portal_settings", org.0)
        .await
        .expect("get");
    let route = r
        .store()
        .get(Scope::Platform, "portal_route", org.0)
        .await
        .expect("get");
    let chain = store::audit_chain(r.store(), org).await.expect("audit");
    (settings, route, chain.len())
}

fn expect_taken<T: std::fmt::Debug>(result: crate::Result<T>, field: &str) {
    match result {
        Err(Error::AlreadyExists { field: taken, .. }) => {
            assert_eq!(taken, field, "the error names the taken field")
        }
        other => panic!("expected AlreadyExists on {field}, got {other:?}"),
    }
}

pub async fn portal_settings_default_then_round_trip(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    let created = r
        .get_organization(&f.admin, c1)
        .await
        .expect("org")
        .created_at;
    let defaults = r.portal_settings(&f.admin, c1).await.expect("defaults");
    assert_eq!(defaults, PortalSettings::defaults(c1, created));
    assert_eq!(
        portal_snapshot(r, c1).await.0,
        None,
        "reading the defaults writes nothing"
    );

    let full = PortalUpdate {
        enabled: Some(true),
        slug: set_text("acme"),
        hostname: set_text("portal.acme.test"),
        branding: BrandingUpdate {
            display_name: set_text("Acme Help"),
            logo_url: set_text("https://cdn.acme.test/logo.png"),
            primary_color: set_text("#0A1B2C"),
            accent_color: set_text("#1e6b3a"),
            welcome_text: set_text("Welcome to Acme's portal."),
        },
        show_compliance_dashboard: Some(true),
    };
    let saved = r
        .update_portal_settings(&f.admin, c1, full)
        .await
        .expect("saved");
    assert!(saved.enabled && saved.show_compliance_dashboard);
    assert_eq!(saved.slug.as_deref(), Some("acme"));
    assert_eq!(saved.branding.primary_color.as_deref(), Some("#0a1b2c"));
    assert_eq!(saved.updated_at, at(0));
    assert_eq!(r.portal_settings(&f.admin, c1).await.expect("read"), saved);

    // A PATCH changes one field and keeps the rest; null clears.
    let patch = PortalUpdate {
        hostname: Some(None),
        branding: BrandingUpdate {
            accent_color: set_text("#123456"),
            ..Default::default()
        },
        ..Default::default()
    };
    let patched = r
        .update_portal_settings(&f.admin, c1, patch)
        .await
        .expect("patched");
    let mut expected = saved.clone();
    expected.hostname = None;
    expected.branding.accent_color = Some("#123456".into());
    assert_eq!(patched, expected);
    assert_eq!(
        r.portal_settings(&f.admin, c1).await.expect("read"),
        patched
    );

    // An update that changes nothing writes nothing.
    let before = portal_snapshot(r, c1).await;
    let same = r
        .update_portal_settings(&f.admin, c1, slug_update("acme"))
        .await
        .expect("no-op");
    assert_eq!(same, patched);
    assert_eq!(portal_snapshot(r, c1).await, before);

    // The other client still has its defaults.
    assert_eq!(
        r.portal_settings(&f.admin, f.clients[1])
            .await
            .expect("defaults"),
        PortalSettings::defaults(
            f.clients[1],
            r.get_organization(&f.admin, f.clients[1])
                .await
                .expect("org")
                .created_at
        )
    );
}

pub async fn portal_slugs_are_unique_across_tenants(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let (ours, theirs) = (f.clients[0], other.clients[0]);
    r.update_portal_settings(
        &f.admin,
        ours,
        PortalUpdate {
            hostname: set_text("portal.acme.test"),
            ..enabled_with_slug("acme")
        },
    )
    .await
    .expect("first claim");

    let before = portal_snapshot(r, theirs).await;
    expect_taken(
        r.update_portal_settings(&other.admin, theirs, enabled_with_slug("acme"))
            .await,
        "slug",
    );
    // (A host name is only claimed by saving it, and blocks nobody: see
    // the `portal_hostname_*` cases.)
    assert_eq!(
        portal_snapshot(r, theirs).await,
        before,
        "nothing is written for the org that lost"
    );
    assert_eq!(
        r.portal_settings(&other.admin, theirs)
            .await
            .expect("read")
            .slug,
        None
    );
    assert_eq!(
        r.portal_by_slug("acme")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(ours),
        "the address still leads to its owner"
    );
    // Saving the slug an org already holds is not a clash with itself.
    r.update_portal_settings(
        &f.admin,
        ours,
        PortalUpdate {
            show_compliance_dashboard: Some(true),
            ..slug_update("acme")
        },
    )
    .await
    .expect("own slug again");
    // Another slug is free for the other tenant.
    r.update_portal_settings(&other.admin, theirs, enabled_with_slug("acme-dental"))
        .await
        .expect("a free slug");
}

pub async fn portal_slug_change_frees_the_old_one(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    r.update_portal_settings(&f.admin, c1, enabled_with_slug("acme"))
        .await
        .expect("claimed");
    expect_taken(
        r.update_portal_settings(&f.admin, c2, slug_update("acme"))
            .await,
        "slug",
    );
    r.update_portal_settings(&f.admin, c1, slug_update("acme-dental"))
        .await
        .expect("moved");
    assert_eq!(r.portal_by_slug("acme").await.expect("lookup"), None);
    assert_eq!(
        r.portal_by_slug("acme-dental")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(c1)
    );
    r.update_portal_settings(&f.admin, c2, enabled_with_slug("acme"))
        .await
        .expect("the old slug is free");
    assert_eq!(
        r.portal_by_slug("acme")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(c2)
    );
    // Clearing a slug (on a disabled portal) releases the whole route.
    r.update_portal_settings(
        &f.admin,
        c1,
        PortalUpdate {
            enabled: Some(false),
            slug: Some(None),
            ..Default::default()
        },
    )
    .await
    .expect("released");
    assert_eq!(
        r.store()
            .get(Scope::Platform, "portal_route", c1.0)
            .await
            .expect("get"),
        None
    );
    r.update_portal_settings(&f.admin, c2, slug_update("acme-dental"))
        .await
        .expect("a released slug is free");
}

pub async fn portal_by_slug_shows_only_enabled_portals(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    for unknown in ["acme", "api", "Acme", "", "../etc"] {
        assert_eq!(r.portal_by_slug(unknown).await.expect("lookup"), None);
    }
    r.update_portal_settings(&f.admin, c1, slug_update("acme"))
        .await
        .expect("reserved, not enabled");
    assert_eq!(
        r.portal_by_slug("acme").await.expect("lookup"),
        None,
        "a disabled portal is not shown"
    );
    let enable = PortalUpdate {
        enabled: Some(true),
        branding: BrandingUpdate {
            primary_color: set_text("#112233"),
            welcome_text: set_text("Hello"),
            ..Default::default()
        },
        ..Default::default()
    };
    r.update_portal_settings(&f.admin, c1, enable)
        .await
        .expect("enabled");
    let public = r
        .portal_by_slug("acme")
        .await
        .expect("lookup")
        .expect("shown");
    assert_eq!(public.org, c1);
    assert_eq!(public.slug, "acme");
    assert!(!public.show_compliance_dashboard);
    assert_eq!(
        public.branding.display_name.as_deref(),
        Some("Acme Dental (Northwind IT)"),
        "the display name falls back to the org's name"
    );
    assert_eq!(public.branding.primary_color.as_deref(), Some("#112233"));
    assert_eq!(public.branding.welcome_text.as_deref(), Some("Hello"));
    let named = PortalUpdate {
        branding: BrandingUpdate {
            display_name: set_text("Acme Help Desk"),
            ..Default::default()
        },
        ..Default::default()
    };
    r.update_portal_settings(&f.admin, c1, named)
        .await
        .expect("named");
    assert_eq!(
        r.portal_by_slug("acme")
            .await
            .expect("lookup")
            .and_then(|p| p.branding.display_name),
        Some("Acme Help Desk".into())
    );
    let disable = PortalUpdate {
        enabled: Some(false),
        ..Default::default()
    };
    r.update_portal_settings(&f.admin, c1, disable)
        .await
        .expect("disabled");
    assert_eq!(r.portal_by_slug("acme").await.expect("lookup"), None);
}

pub async fn portal_settings_are_invisible_to_other_tenants(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let saved = r
        .update_portal_settings(
            &f.admin,
            c1,
            PortalUpdate {
                show_compliance_dashboard: Some(true),
                ..enabled_with_slug("acme")
            },
        )
        .await
        .expect("saved");
    let neighbour = member(&f, c2, "owner@bolt.test", Role::OrgAdmin).await;
    let outsider = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let employee = member(&f, c1, "clerk@acme.test", Role::Employee).await;
    let viewer = member(&f, c1, "exec@acme.test", Role::Viewer).await;
    let before = (portal_snapshot(r, c1).await, portal_snapshot(r, c2).await);
    for stranger in [&neighbour, &outsider.admin] {
        expect_not_found(
            r.portal_settings(stranger, c1).await,
            "reading another tenant's portal",
        );
        expect_not_found(
            r.update_portal_settings(stranger, c1, slug_update("hijacked"))
                .await,
            "changing another tenant's portal",
        );
        expect_not_found(
            r.portal_dashboard(stranger, c1).await,
            "another tenant's dashboard",
        );
    }
    // Inside the org, reading and managing follow the matrix.
    expect_denied(
        r.portal_settings(&employee, c1).await,
        "employee reading settings",
    );
    expect_denied(
        r.update_portal_settings(&viewer, c1, slug_update("viewer-was-here"))
            .await,
        "viewer changing settings",
    );
    assert_eq!(
        (portal_snapshot(r, c1).await, portal_snapshot(r, c2).await),
        before,
        "refused calls wrote nothing"
    );
    assert_eq!(r.portal_settings(&viewer, c1).await.expect("read"), saved);
}

pub async fn portal_dashboard_follows_the_settings(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let (r, org) = (f.r(), f.org);
    let admin = &f.msp.admin;
    let employee = member(&f.msp, org, "clerk@acme.test", Role::Employee).await;
    f.adopt("ftc-safeguards").await;
    f.adopt("hipaa").await;
    f.implement("GV-02").await;
    expect_not_found(r.portal_dashboard(&employee, org).await, "no portal yet");
    r.update_portal_settings(admin, org, enabled_with_slug("acme"))
        .await
        .expect("enabled");
    expect_not_found(
        r.portal_dashboard(&employee, org).await,
        "dashboard not shown",
    );
    let show = PortalUpdate {
        show_compliance_dashboard: Some(true),
        ..Default::default()
    };
    r.update_portal_settings(admin, org, show)
        .await
        .expect("shown");
    // Employees cannot read the gap analysis itself, only the dashboard.
    expect_denied(
        r.gap_analysis(&employee, org).await,
        "employee reading gaps",
    );
    let dashboard = r
        .portal_dashboard(&employee, org)
        .await
        .expect("employee sees the dashboard");
    let gaps = r.gap_analysis(&f.manager, org).await.expect("gaps");
    assert_eq!(dashboard.org, org);
    assert_eq!(
        dashboard
            .frameworks
            .iter()
            .map(|d| d.framework.as_str())
            .collect::<Vec<_>>(),
        gaps.frameworks
            .iter()
            .map(|g| g.framework.as_str())
            .collect::<Vec<_>>()
    );
    for (d, g) in dashboard.frameworks.iter().zip(&gaps.frameworks) {
        assert_eq!(d.name, g.name);
        assert_eq!(
            d.score, g.score,
            "{}: the gap analysis's score",
            d.framework
        );
        assert_eq!(d.implemented, g.totals.satisfied);
        assert_eq!(d.total, g.totals.total - g.totals.not_applicable);
    }
    assert!(
        dashboard.frameworks.iter().any(|d| d.implemented > 0),
        "the implemented control counts"
    );
    // Hiding the dashboard (or disabling the portal) takes it away again.
    r.update_portal_settings(
        admin,
        org,
        PortalUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("disabled");
    expect_not_found(r.portal_dashboard(&employee, org).await, "disabled portal");
}

pub async fn portal_invalid_update_writes_nothing(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    // Nothing saved yet: a rejected first update creates nothing.
    let empty = portal_snapshot(r, c1).await;
    expect_invalid(
        r.update_portal_settings(
            &f.admin,
            c1,
            PortalUpdate {
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await,
        "slug",
    );
    assert_eq!(portal_snapshot(r, c1).await, empty);

    let saved = r
        .update_portal_settings(&f.admin, c1, enabled_with_slug("acme"))
        .await
        .expect("saved");
    let before = portal_snapshot(r, c1).await;
    let bad = PortalUpdate {
        slug: set_text("admin"),
        hostname: set_text("Portal.Acme.test"),
        branding: BrandingUpdate {
            display_name: set_text("Fine name"),
            logo_url: set_text("http://cdn.acme.test/logo.png"),
            primary_color: set_text("#12345g"),
            ..Default::default()
        },
        ..Default::default()
    };
    match r.update_portal_settings(&f.admin, c1, bad).await {
        Err(Error::Validation(errors)) => assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            [
                "slug",
                "hostname",
                "branding.logo_url",
                "branding.primary_color"
            ],
            "every bad field is named, the good one is not"
        ),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(
        portal_snapshot(r, c1).await,
        before,
        "no settings, no route, no audit event"
    );
    assert_eq!(r.portal_settings(&f.admin, c1).await.expect("read"), saved);
}

pub async fn portal_updates_are_audited_in_the_org_chain(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, c1) = (&f.regentra, f.clients[0]);
    let owner = member(&f, c1, "owner@acme.test", Role::OrgAdmin).await;
    let before = store::audit_chain(r.store(), c1)
        .await
        .expect("audit")
        .len();
    let update = PortalUpdate {
        branding: BrandingUpdate {
            primary_color: set_text("#112233"),
            ..Default::default()
        },
        ..enabled_with_slug("acme")
    };
    r.update_portal_settings(&owner, c1, update)
        .await
        .expect("saved");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    assert_eq!(chain.len(), before + 1, "one event per update");
    let event = chain.last().expect("the update's event");
    assert_eq!(event.action, "portal.updated");
    assert_eq!(event.target, Target::new("portal_settings", c1));
    assert_eq!(event.actor.user, Some(owner.user));
    assert_eq!(
        event.details["changed"],
        json!(["enabled", "slug", "branding.primary_color"])
    );
    assert_eq!(event.details["to"]["slug"], "acme");
    // The MSP admin's change is recorded in the client's chain as delegated.
    r.update_portal_settings(&f.admin, c1, slug_update("acme-dental"))
        .await
        .expect("moved");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let event = chain.last().expect("the move's event");
    assert_eq!(event.details["changed"], json!(["slug"]));
    assert_eq!(event.actor.via, Some(Via::MspDelegation { msp: f.msp }));
    // Nothing lands in the MSP's chain or the other client's.
    assert!(!actions(&f, f.msp).await.contains(&"portal.updated".into()));
    assert!(
        !actions(&f, f.clients[1])
            .await
            .contains(&"portal.updated".into())
    );
    assert_eq!(
        actions(&f, c1)
            .await
            .iter()
            .filter(|a| *a == "portal.updated")
            .count(),
        2
    );
    let report = r
        .verify_audit_chain(&owner, c1, ChainVerification::Full)
        .await
        .expect("verify");
    assert_eq!(report.first_break, None);
    assert_eq!(report.events, chain.len() as u64);
}

pub async fn portal_by_hostname_serves_only_an_enabled_portal_with_that_host(
    store: Arc<dyn Store>,
) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let client = f.clients[0];
    r.update_portal_settings(
        &f.admin,
        client,
        PortalUpdate {
            hostname: set_text("help.acme.test"),
            ..enabled_with_slug("acme")
        },
    )
    .await
    .expect("enabled with a host name");
    prove(r, &f.admin, client).await;
    for host in ["help.acme.test", "HELP.acme.test:443", "help.acme.test."] {
        let found = r.portal_by_hostname(host).await.expect("lookup");
        assert_eq!(
            found.map(|p| (p.org, p.slug)),
            Some((client, "acme".to_owned())),
            "{host}"
        );
    }
    for host in ["", "other.acme.test", "acme", "help.acme.test:x"] {
        assert_eq!(
            r.portal_by_hostname(host).await.expect("lookup"),
            None,
            "{host:?}"
        );
    }
    r.update_portal_settings(
        &f.admin,
        client,
        PortalUpdate {
            enabled: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("disabled");
    assert_eq!(
        r.portal_by_hostname("help.acme.test")
            .await
            .expect("lookup"),
        None
    );
}

/// Publishes nothing, but hands the core the TXT value the org's claim
/// asks for, as a host that found it in DNS would: the claim is verified.
async fn prove(r: &Regentra, principal: &Principal, org: OrgId) -> HostnameClaim {
    let claim = r.hostname_claim(principal, org).await.expect("a claim");
    r.verify_hostname(principal, org, &[claim.record_value()])
        .await
        .expect("verified")
}

fn hostname_update(host: &str) -> PortalUpdate {
    PortalUpdate {
        hostname: set_text(host),
        ..enabled_with_slug("unused")
    }
}

/// The attack of issue 14, item 7: a tenant saves another company's host
/// name. Before verification it is served for nobody and blocks nobody.
pub async fn portal_an_unverified_hostname_is_not_served_and_blocks_nobody(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let (attacker, owner) = (other.clients[0], f.clients[0]);
    r.update_portal_settings(
        &other.admin,
        attacker,
        PortalUpdate {
            hostname: set_text("help.acme.test"),
            ..enabled_with_slug("totally-acme")
        },
    )
    .await
    .expect("anyone may claim a name");
    assert_eq!(
        r.portal_by_hostname("help.acme.test")
            .await
            .expect("lookup"),
        None,
        "an unverified claim is not served"
    );
    r.update_portal_settings(
        &f.admin,
        owner,
        PortalUpdate {
            hostname: set_text("help.acme.test"),
            ..enabled_with_slug("acme")
        },
    )
    .await
    .expect("the first claim blocks nobody");
    assert_eq!(
        r.portal_by_hostname("help.acme.test")
            .await
            .expect("lookup"),
        None
    );
}

pub async fn portal_hostname_verification_takes_the_name_once(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let (attacker, owner) = (other.clients[0], f.clients[0]);
    for (admin, org, slug) in [
        (&other.admin, attacker, "totally-acme"),
        (&f.admin, owner, "acme"),
    ] {
        r.update_portal_settings(
            admin,
            org,
            PortalUpdate {
                hostname: set_text("help.acme.test"),
                ..enabled_with_slug(slug)
            },
        )
        .await
        .expect("claimed");
    }
    let theirs = r
        .hostname_claim(&other.admin, attacker)
        .await
        .expect("claim");
    let ours = r.hostname_claim(&f.admin, owner).await.expect("claim");
    assert_eq!(ours.status, HostnameStatus::Pending);
    assert_eq!(ours.record_name(), "_regentra-challenge.help.acme.test");
    assert_ne!(ours.token, theirs.token, "a token per claim");
    assert_eq!(ours.token.len(), 64);

    // Not proven: nothing, or another claim's token, or a near miss.
    let before = portal_snapshot(r, owner).await;
    for observed in [
        vec![],
        vec![theirs.record_value()],
        vec![format!("{}x", ours.record_value())],
    ] {
        match r.verify_hostname(&f.admin, owner, &observed).await {
            Err(Error::Validation(errors)) => {
                assert_eq!(errors[0].field, "hostname");
                assert!(
                    errors[0].message.contains(&ours.record_value()),
                    "the error says what to publish: {}",
                    errors[0].message
                );
            }
            other => panic!("{observed:?}: expected a validation error, got {other:?}"),
        }
    }
    assert_eq!(portal_snapshot(r, owner).await, before, "nothing written");

    // Proven: verified, routed and served, audited, in one commit.
    let verified = r
        .verify_hostname(
            &f.admin,
            owner,
            &["v=spf1 -all".to_owned(), ours.record_value()],
        )
        .await
        .expect("verified");
    assert_eq!(verified.status, HostnameStatus::Verified);
    assert_eq!(verified.verified_by, Some(VerifiedBy::Dns));
    assert_eq!(
        r.portal_by_hostname("help.acme.test")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(owner)
    );
    let after = portal_snapshot(r, owner).await;
    assert_eq!(after.2, before.2 + 1, "one audit event");
    let event = store::audit_chain(r.store(), owner)
        .await
        .expect("audit")
        .pop()
        .expect("event");
    assert_eq!(event.action, "portal.hostname_verified");
    assert_eq!(event.details["hostname"], "help.acme.test");
    // Verifying again changes nothing.
    r.verify_hostname(&f.admin, owner, &[])
        .await
        .expect("still verified");
    assert_eq!(portal_snapshot(r, owner).await, after);

    // The other claim can no longer take the name, even with its own proof.
    let before = portal_snapshot(r, attacker).await;
    expect_taken(
        r.verify_hostname(&other.admin, attacker, &[theirs.record_value()])
            .await,
        "hostname",
    );
    assert_eq!(portal_snapshot(r, attacker).await, before);
    assert_eq!(
        r.hostname_claim(&other.admin, attacker)
            .await
            .expect("claim")
            .status,
        HostnameStatus::Pending
    );
    // Another tenant's claim is as unknown as a missing one.
    assert!(matches!(
        r.hostname_claim(&other.admin, owner).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        r.verify_hostname(&other.admin, owner, &[ours.record_value()])
            .await,
        Err(Error::NotFound { .. })
    ));

    // Moving to another name starts a new claim (new token) and releases
    // the old name, which the other claim may then prove.
    r.update_portal_settings(&f.admin, owner, hostname_update("portal.acme.test"))
        .await
        .expect("moved");
    let moved = r.hostname_claim(&f.admin, owner).await.expect("claim");
    assert_eq!(moved.status, HostnameStatus::Pending);
    assert_ne!(moved.token, ours.token);
    for host in ["help.acme.test", "portal.acme.test"] {
        assert_eq!(r.portal_by_hostname(host).await.expect("lookup"), None);
    }
    r.verify_hostname(&other.admin, attacker, &[theirs.record_value()])
        .await
        .expect("the name is free again");
    // Clearing the host name removes the claim.
    r.update_portal_settings(
        &f.admin,
        owner,
        PortalUpdate {
            hostname: Some(None),
            ..Default::default()
        },
    )
    .await
    .expect("cleared");
    assert!(matches!(
        r.hostname_claim(&f.admin, owner).await,
        Err(Error::NotFound { .. })
    ));
}

pub async fn portal_hostname_approval_is_for_platform_operators(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let client = f.clients[0];
    let owner = member(&f, client, "owner@acme.test", Role::OrgAdmin).await;
    assert!(
        matches!(
            r.approve_hostname(&f.operator, client).await,
            Err(Error::NotFound { .. })
        ),
        "no claim, nothing to approve"
    );
    r.update_portal_settings(&owner, client, hostname_update("help.acme.test"))
        .await
        .expect("claimed");
    for who in [&owner, &f.admin] {
        let before = portal_snapshot(r, client).await;
        assert!(matches!(
            r.approve_hostname(who, client).await,
            Err(Error::PermissionDenied { .. })
        ));
        assert_eq!(portal_snapshot(r, client).await, before);
    }
    let approved = r
        .approve_hostname(&f.operator, client)
        .await
        .expect("approved");
    assert_eq!(approved.verified_by, Some(VerifiedBy::Operator));
    assert_eq!(
        r.portal_by_hostname("help.acme.test")
            .await
            .expect("lookup")
            .map(|p| p.org),
        Some(client)
    );
}
