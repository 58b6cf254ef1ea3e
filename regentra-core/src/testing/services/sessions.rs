use super::*;
use crate::tenancy::{OrgSecurity, SecuritySettings};

fn session_hours(hours: u32) -> SecuritySettings {
    SecuritySettings {
        session_hours: Some(hours),
        ..SecuritySettings::default()
    }
}

async fn security_record(r: &Regentra, org: OrgId) -> Option<StoredRecord> {
    r.store()
        .get(Scope::Org(org), "org_security", org.0)
        .await
        .expect("get")
}

pub async fn org_security_defaults_then_round_trip_audited(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let (r, org, admin) = (f.r(), f.org, &f.msp.admin);
    let defaults = r.org_security(&f.officer, org).await.expect("defaults");
    assert_eq!(defaults, OrgSecurity::defaults(org));
    assert_eq!(
        security_record(r, org).await,
        None,
        "reading writes nothing"
    );

    let wanted = SecuritySettings {
        session_hours: Some(8),
        mfa_required: true,
        mfa_grace_days: 14,
    };
    let saved = r.set_org_security(admin, org, wanted).await.expect("saved");
    assert_eq!(saved.settings(), wanted);
    assert_eq!(saved.mfa_required_since, Some(at(0)));
    assert_eq!(
        saved.mfa_deadline(),
        Some(at(0) + chrono::Duration::days(14))
    );
    assert_eq!(
        r.org_security(&f.officer, org).await.expect("read back"),
        saved,
        "any member who reads the org reads them"
    );
    assert_eq!(
        r.security_of(org).await.expect("host read"),
        saved,
        "the host reads the same"
    );
    let events = actions(&f.msp, org).await;
    assert_eq!(
        events
            .iter()
            .filter(|a| *a == "org.security_updated")
            .count(),
        1
    );
    let event = store::audit_chain(r.store(), org)
        .await
        .expect("chain")
        .into_iter()
        .rfind(|e| e.action == "org.security_updated")
        .expect("event");
    assert_eq!(event.details["before"]["session_hours"], json!(null));
    assert_eq!(event.details["after"]["session_hours"], json!(8));

    // Saving the same again writes nothing, not even an event.
    let record = security_record(r, org).await;
    f.clock.advance(chrono::Duration::hours(1));
    r.set_org_security(admin, org, wanted).await.expect("same");
    assert_eq!(security_record(r, org).await, record);
    assert_eq!(actions(&f.msp, org).await, events);

    // Back to the server's lifetime and no MFA.
    let cleared = r
        .set_org_security(admin, org, SecuritySettings::default())
        .await
        .expect("cleared");
    assert_eq!(cleared.session_hours, None);
    assert_eq!(cleared.mfa_deadline(), None);
}

pub async fn org_security_is_changed_by_org_managers_only_and_checked(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let (r, org) = (f.r(), f.org);
    // A compliance manager reads, but managing the org is an admin's.
    r.org_security(&f.manager, org).await.expect("readable");
    expect_denied(
        r.set_org_security(&f.manager, org, session_hours(8)).await,
        "a compliance manager",
    );
    // Another tenant's admin cannot even see it.
    let other = msp_in(r.clone(), f.msp.operator.clone(), "Other IT").await;
    expect_not_found(
        r.org_security(&other.admin, org).await,
        "another MSP's admin reading",
    );
    expect_not_found(
        r.set_org_security(&other.admin, org, session_hours(8))
            .await,
        "another MSP's admin writing",
    );
    // Out of range: every field named, nothing written.
    for (settings, field) in [
        (session_hours(0), "session_hours"),
        (session_hours(721), "session_hours"),
        (
            SecuritySettings {
                mfa_grace_days: 91,
                ..SecuritySettings::default()
            },
            "mfa_grace_days",
        ),
    ] {
        expect_invalid(r.set_org_security(&f.msp.admin, org, settings).await, field);
    }
    match r
        .set_org_security(
            &f.msp.admin,
            org,
            SecuritySettings {
                session_hours: Some(0),
                mfa_required: true,
                mfa_grace_days: 200,
            },
        )
        .await
    {
        Err(Error::Validation(errors)) => assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["session_hours", "mfa_grace_days"]
        ),
        other => panic!("both fields are named, got {other:?}"),
    }
    assert_eq!(security_record(r, org).await, None, "nothing written");
    // The bounds themselves are fine.
    for hours in [1, 720] {
        r.set_org_security(&f.msp.admin, org, session_hours(hours))
            .await
            .expect("in range");
    }
}

async fn session_end(r: &Regentra, user: &Principal) -> DateTime<Utc> {
    let (token, _) = r.issue_login_token(user).await.expect("signed in");
    token.expires_at.expect("a login session always ends")
}

pub async fn sign_in_sessions_end_at_the_shortest_org_limit(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let lifetimes =
        crate::TokenLifetimes::new(chrono::Duration::hours(2), chrono::Duration::days(7))
            .expect("valid lifetimes");
    let r = &f.r().clone().with_token_lifetimes(lifetimes);
    let (msp, client) = (f.msp.msp, f.org);
    let admin = &f.msp.admin;
    let tech = member(&f.msp, msp, "tech@northwind.test", Role::Technician).await;
    let week = at(0) + chrono::Duration::days(7);

    // No org sets a limit: the server's absolute lifetime.
    assert_eq!(session_end(r, &f.officer).await, week);
    // The client's limit binds its members, not the MSP's staff.
    r.set_org_security(admin, client, session_hours(8))
        .await
        .expect("saved");
    assert_eq!(
        session_end(r, &f.officer).await,
        at(0) + chrono::Duration::hours(8)
    );
    assert_eq!(session_end(r, &tech).await, week);
    // The MSP's limit binds its staff, wherever they act.
    r.set_org_security(admin, msp, session_hours(4))
        .await
        .expect("saved");
    assert_eq!(
        session_end(r, &tech).await,
        at(0) + chrono::Duration::hours(4)
    );
    assert_eq!(
        session_end(r, admin).await,
        at(0) + chrono::Duration::hours(4)
    );
    // Assigned to a client, staff are bound by the shorter of the two; an
    // org cannot lengthen the server's lifetime.
    r.assign_staff(admin, msp, client, tech.user, Role::Technician)
        .await
        .expect("the tech is assigned to the client");
    r.set_org_security(admin, client, session_hours(1))
        .await
        .expect("saved");
    assert_eq!(
        session_end(r, &tech).await,
        at(0) + chrono::Duration::hours(1)
    );
    r.set_org_security(admin, client, session_hours(720))
        .await
        .expect("saved");
    assert_eq!(session_end(r, &f.officer).await, week);

    // The session really ends then, however busy: used every hour, an
    // MSP staff session ends four hours after sign-in.
    let (_, secret) = r.issue_login_token(&tech).await.expect("signed in");
    for _ in 0..3 {
        f.clock.advance(chrono::Duration::hours(1));
        assert!(r.authenticate(&secret).await.is_ok(), "still live");
    }
    f.clock.advance(chrono::Duration::hours(1));
    assert!(matches!(
        r.authenticate(&secret).await,
        Err(Error::Unauthenticated)
    ));
    // Set after sign-in, a limit applies from the next sign-in on.
    let (_, long) = r.issue_login_token(&f.officer).await.expect("signed in");
    r.set_org_security(admin, client, session_hours(1))
        .await
        .expect("saved");
    f.clock.advance(chrono::Duration::minutes(90));
    assert!(r.authenticate(&long).await.is_ok());
}

pub async fn sessions_are_listed_signed_out_of_and_ended(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let from = |ip: &str, agent: &str| {
        f.officer.clone().with_request(crate::RequestMeta {
            request_id: None,
            ip: Some(ip.to_owned()),
            user_agent: Some(agent.to_owned()),
        })
    };
    let (laptop, laptop_secret) = r
        .issue_login_token(&from("192.0.2.1", "Firefox"))
        .await
        .expect("signed in");
    f.clock.advance(chrono::Duration::minutes(5));
    let (phone, phone_secret) = r
        .issue_login_token(&from("192.0.2.2", "Safari"))
        .await
        .expect("signed in");
    let (_, api_secret) = r.issue_token(&f.officer, "CI").await.expect("api token");

    // Listed from the laptop: both sessions, the laptop's marked current,
    // no API token.
    let on_laptop = r.authenticate(&laptop_secret).await.expect("live");
    let listed = r.sessions(&on_laptop).await.expect("sessions");
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        [laptop.id, phone.id]
    );
    assert!(listed[0].current && !listed[1].current);
    assert_eq!(listed[1].ip.as_deref(), Some("192.0.2.2"));
    assert_eq!(listed[1].user_agent.as_deref(), Some("Safari"));
    assert_eq!(listed[1].expires_at, r.token_expiry(&phone).expect("ends"));

    // Another user cannot end them; an API token is not a session.
    let (_, manager) = r.issue_login_token(&f.manager).await.expect("signed in");
    let manager = r.authenticate(&manager).await.expect("live");
    expect_not_found(
        r.end_other_session(&manager, phone.id).await,
        "another user's session",
    );
    let on_api = r.authenticate(&api_secret).await.expect("api");
    expect_invalid(r.end_session(&on_api).await, "token");
    expect_not_found(
        r.end_other_session(&f.officer, on_api.token.expect("token"))
            .await,
        "an API token",
    );

    // Ending the phone's session from the laptop, then signing out.
    r.end_other_session(&on_laptop, phone.id)
        .await
        .expect("ended");
    assert!(matches!(
        r.authenticate(&phone_secret).await,
        Err(Error::Unauthenticated)
    ));
    r.end_session(&on_laptop).await.expect("signed out");
    assert!(matches!(
        r.authenticate(&laptop_secret).await,
        Err(Error::Unauthenticated)
    ));
    assert!(r.authenticate(&api_secret).await.is_ok(), "API tokens stay");
    assert!(
        r.sessions(&f.officer).await.expect("sessions").is_empty(),
        "nothing live"
    );
    let platform = store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
        .await
        .expect("platform chain");
    let actions: Vec<&str> = platform.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"session.ended"), "{actions:?}");
    assert!(actions.contains(&"session.signed_out"), "{actions:?}");
}
