use super::*;

use super::invitations::{emails_to, last_link_token};
use crate::ManualClock;
use crate::audit::RequestMeta;
use crate::mail::EmailKind;
use crate::password_reset::RESET_LIFETIME;

fn refused_token<T: std::fmt::Debug>(result: crate::Result<T>, says: &str) {
    match result {
        Err(Error::Validation(errors)) => assert!(
            errors
                .iter()
                .any(|e| e.field == "token" && e.message.contains(says)),
            "a refusal naming `token` that says {says:?}: {errors:?}"
        ),
        other => panic!("expected the token refused ({says}), got {other:?}"),
    }
}

/// Hashes `password` the way a host does: against the inputs the link's
/// account gives.
async fn hash_for(r: &Regentra, token: &str, password: &str) -> String {
    let inputs = r.password_reset_inputs(token).await.expect("inputs");
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    r.hash_password_for(password, &inputs).expect("hash")
}

/// The code an authenticator app shows for `secret` (base32) at `when`.
fn totp_code(secret: &str, when: DateTime<Utc>) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .expect("RFC 6238 defaults")
        .generate(u64::try_from(when.timestamp()).expect("after 1970"))
        .to_string()
}

fn from(ip: &str) -> RequestMeta {
    RequestMeta {
        ip: Some(ip.into()),
        ..RequestMeta::default()
    }
}

/// A reset link sets the password once, as the owner's, and signs the
/// account out everywhere (every token revoked, and a sign-in awaiting its
/// second factor ended) in the same commit; it is
/// audited in the platform chain; used and expired links are refused
/// saying which.
pub async fn a_password_reset_works_once_and_revokes_every_token(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let r = f.regentra.clone().with_clock(clock.clone());
    let chosen = r.hash_password("admin chosen secret").expect("hash");
    r.add_member_with_password(
        &f.admin,
        f.clients[0],
        "forgetful@acme.test",
        "Fay Forgetful",
        Role::Viewer,
        Some(chosen),
    )
    .await
    .expect("added");
    let user = r
        .account_by_email("forgetful@acme.test")
        .await
        .expect("lookup")
        .expect("account")
        .id;
    let person = Principal::new(user);
    // A second factor (a sign-in with the old password awaits it, below).
    let setup = r.start_mfa_enrollment(&person).await.expect("started");
    r.confirm_mfa(&person, &totp_code(&setup.secret, r.now()))
        .await
        .expect("confirmed");
    let (_, login) = r.issue_login_token(&person).await.expect("token");
    let (_, api) = r.issue_token(&person, "script").await.expect("token");

    r.request_password_reset(" Forgetful@ACME.test", None, from("203.0.113.9"))
        .await
        .expect("requested");
    let emails = emails_to(&r, "forgetful@acme.test", EmailKind::PasswordReset).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].org, None, "the platform's own email");
    assert_eq!(emails[0].recipient, Some(user));
    assert_eq!(emails[0].content["recipient_name"], "Fay Forgetful");
    assert_eq!(
        emails[0].content["expires_at"],
        json!(at(0) + RESET_LIFETIME)
    );
    let token = last_link_token(&r, "forgetful@acme.test", EmailKind::PasswordReset).await;
    assert!(token.starts_with("rgr_"), "{token}");
    assert!(
        emails[0].content["link"]
            .as_str()
            .expect("link")
            .starts_with("/reset-password?token=rgr_")
    );

    // The password rule counts the account's name and email against it.
    let inputs = r.password_reset_inputs(&token).await.expect("inputs");
    assert!(inputs.contains(&"forgetful".to_owned()), "{inputs:?}");
    expect_invalid(
        r.hash_password_for(
            "fay forgetful acme",
            &inputs.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        "password",
    );
    expect_invalid(
        r.confirm_password_reset(&token, "not a hash".into(), RequestMeta::default())
            .await,
        "password",
    );

    clock.advance(RESET_LIFETIME - chrono::Duration::minutes(1));
    let half_signed_in = r
        .begin_mfa_challenge(user)
        .await
        .expect("challenge")
        .expect("the account has a second factor");
    let hash = hash_for(&r, &token, "violet kettle marches sideways").await;
    r.confirm_password_reset(&token, hash, from("203.0.113.9"))
        .await
        .expect("reset");
    let (_, phc) = r
        .login_material("forgetful@acme.test")
        .await
        .expect("lookup")
        .expect("a password");
    assert!(crate::auth::verify_password(
        "violet kettle marches sideways",
        &phc
    ));
    let credential = store::require::<crate::auth::Credential>(r.store(), Scope::Platform, user.0)
        .await
        .expect("credential");
    assert_eq!(
        credential.value.set_by,
        crate::auth::SetBy::Owner,
        "chosen by whoever reads the mailbox: the owner, whoever set the old one"
    );
    for secret in [&login, &api] {
        assert!(
            matches!(r.authenticate(secret).await, Err(Error::Unauthenticated)),
            "every token of the account is revoked"
        );
    }
    assert!(
        matches!(
            r.complete_mfa_challenge(&half_signed_in, &totp_code(&setup.secret, r.now()))
                .await,
            Err(Error::Unauthenticated)
        ),
        "a sign-in begun with the old password cannot be finished"
    );
    let platform = store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
        .await
        .expect("audit");
    let reset = platform
        .iter()
        .find(|e| e.action == "password.reset")
        .expect("audited in the platform chain");
    assert_eq!(reset.actor.user, Some(user));
    assert_eq!(reset.details["tokens_revoked"], 2);
    assert_eq!(reset.request.ip.as_deref(), Some("203.0.113.9"));

    // Used once.
    let again = r
        .hash_password("granite owl whispers at dusk")
        .expect("hash");
    refused_token(
        r.confirm_password_reset(&token, again.clone(), RequestMeta::default())
            .await,
        "already been used",
    );
    refused_token(r.password_reset_inputs(&token).await, "already been used");

    // Expired after an hour.
    r.request_password_reset("forgetful@acme.test", None, RequestMeta::default())
        .await
        .expect("requested");
    let late = last_link_token(&r, "forgetful@acme.test", EmailKind::PasswordReset).await;
    clock.advance(RESET_LIFETIME);
    refused_token(
        r.confirm_password_reset(&late, again, RequestMeta::default())
            .await,
        "expired",
    );
    for bogus in [
        "rgr_0000000000000000000000000000000000000000000000000000000000000000",
        &token.replacen("rgr_", "rgi_", 1),
    ] {
        refused_token(
            r.password_reset_inputs(bogus).await,
            "not a valid password reset link",
        );
    }
}

/// The same answer whether or not the email has an account, and the same
/// store work (one commit, one platform event); a newer request supersedes
/// the older link.
pub async fn a_password_reset_request_answers_the_same_for_any_email(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    member(&f, f.clients[0], "known@acme.test", Role::Viewer).await;
    let chain = |r: &Regentra| {
        let r = r.clone();
        async move {
            store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
                .await
                .expect("audit")
        }
    };
    let before = chain(r).await.len();
    let known = r
        .request_password_reset("known@acme.test", None, RequestMeta::default())
        .await;
    let unknown = r
        .request_password_reset("nobody@acme.test", None, RequestMeta::default())
        .await;
    assert_eq!(format!("{known:?}"), format!("{unknown:?}"));
    assert!(known.is_ok());
    let events = chain(r).await;
    assert_eq!(events.len(), before + 2, "one event each");
    assert!(
        events[before..]
            .iter()
            .all(|e| e.action == "password_reset.requested")
    );
    assert!(
        emails_to(r, "nobody@acme.test", EmailKind::PasswordReset)
            .await
            .is_empty(),
        "nobody to write to"
    );
    expect_invalid(
        r.request_password_reset("not an email", None, RequestMeta::default())
            .await,
        "email",
    );

    // A newer request supersedes the older link.
    let older = last_link_token(r, "known@acme.test", EmailKind::PasswordReset).await;
    r.request_password_reset("known@acme.test", None, RequestMeta::default())
        .await
        .expect("requested");
    let newer = last_link_token(r, "known@acme.test", EmailKind::PasswordReset).await;
    assert_ne!(older, newer);
    let hash = r
        .hash_password("violet kettle marches sideways")
        .expect("hash");
    refused_token(
        r.confirm_password_reset(&older, hash.clone(), RequestMeta::default())
            .await,
        "newer request",
    );
    r.confirm_password_reset(&newer, hash, RequestMeta::default())
        .await
        .expect("the newest link works");
}

/// A reset asked for on a client's portal links back to that portal, in
/// the portal org's name, only for a member of that org: a person of
/// another client (or the MSP's admin, who is no member) gets the
/// product's link in the platform's own email, a stranger gets nothing,
/// and each request is one commit with one platform event naming the
/// portal. An unknown or disabled portal is not found and writes nothing.
pub async fn a_password_reset_asked_on_a_portal_links_back_to_it_only_for_its_members(
    store: Arc<dyn Store>,
) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let (acme, bolt) = (f.clients[0], f.clients[1]);
    for (org, slug, enabled) in [(acme, "acme", true), (bolt, "bolt", false)] {
        r.update_portal_settings(
            &f.admin,
            org,
            PortalUpdate {
                enabled: Some(enabled),
                slug: Some(Some(slug.into())),
                ..Default::default()
            },
        )
        .await
        .expect("portal");
    }
    let ann = member(&f, acme, "ann@acme.test", Role::Employee).await;
    member(&f, bolt, "bob@bolt.test", Role::Employee).await;
    let platform = |r: &Regentra| {
        let r = r.clone();
        async move {
            store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
                .await
                .expect("audit")
        }
    };
    let before = platform(r).await.len();

    // A member of the portal's org: the portal's link, from the org.
    let answer = r
        .request_password_reset("Ann@acme.test", Some("acme"), from("203.0.113.9"))
        .await;
    assert!(answer.is_ok(), "{answer:?}");
    let emails = emails_to(r, "ann@acme.test", EmailKind::PasswordReset).await;
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(email.org, Some(acme), "sent in the portal org's name");
    assert_eq!(email.recipient, Some(ann.user));
    let link = email.content["link"].as_str().expect("link");
    assert!(
        link.starts_with("/portal/acme/reset-password?token=rgr_"),
        "{link}"
    );
    assert_eq!(email.content["org_name"], "Acme Dental (Northwind IT)");
    assert_eq!(email.content["msp_name"], "Northwind IT");
    assert_eq!(email.content["recipient_name"], "ann@acme.test");
    // The portal's link is a reset link like any other.
    let token = last_link_token(r, "ann@acme.test", EmailKind::PasswordReset).await;
    let hash = hash_for(r, &token, "violet kettle marches sideways").await;
    r.confirm_password_reset(&token, hash, RequestMeta::default())
        .await
        .expect("the portal's link sets the password");

    // A person of another client, and the MSP's admin, asking on this
    // portal: the product's link, in the platform's own email.
    for (email, asked) in [
        ("bob@bolt.test", "bob"),
        ("admin@northwind-it.test", "the MSP's admin"),
    ] {
        let other = r
            .request_password_reset(email, Some("acme"), RequestMeta::default())
            .await;
        assert_eq!(format!("{other:?}"), format!("{answer:?}"), "{asked}");
        let sent = emails_to(r, email, EmailKind::PasswordReset).await;
        assert_eq!(sent.len(), 1, "{asked}");
        assert_eq!(sent[0].org, None, "{asked}: the platform's own email");
        let link = sent[0].content["link"].as_str().expect("link");
        assert!(
            link.starts_with("/reset-password?token=rgr_"),
            "{asked}: {link}"
        );
        assert!(sent[0].content.get("org_name").is_none(), "{asked}");
    }

    // A stranger: the same answer, and nothing to write to.
    let stranger = r
        .request_password_reset("nobody@acme.test", Some("acme"), RequestMeta::default())
        .await;
    assert_eq!(format!("{stranger:?}"), format!("{answer:?}"));
    assert!(
        emails_to(r, "nobody@acme.test", EmailKind::PasswordReset)
            .await
            .is_empty()
    );

    // Four requests, four events (the reset itself is the fifth), each
    // naming the portal asked on.
    let events = platform(r).await;
    let requested: Vec<_> = events[before..]
        .iter()
        .filter(|e| e.action == "password_reset.requested")
        .collect();
    assert_eq!(requested.len(), 4);
    assert_eq!(events.len(), before + 5);
    assert!(requested.iter().all(|e| e.details["portal"] == "acme"));
    assert_eq!(requested[0].target.id, ann.user.to_string());
    assert_eq!(requested[0].request.ip.as_deref(), Some("203.0.113.9"));

    // No portal at that address: not found, nothing written.
    for slug in ["bolt", "nowhere"] {
        expect_not_found(
            r.request_password_reset("ann@acme.test", Some(slug), RequestMeta::default())
                .await,
            slug,
        );
    }
    assert_eq!(platform(r).await.len(), before + 5);
    assert_eq!(
        emails_to(r, "ann@acme.test", EmailKind::PasswordReset)
            .await
            .len(),
        1
    );
}
