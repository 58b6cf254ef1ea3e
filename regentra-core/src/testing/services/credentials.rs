use super::*;

pub async fn api_tokens_authenticate_until_revoked(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (token, secret) = r
        .issue_token(&f.officer, "CI pipeline")
        .await
        .expect("issued");
    assert!(secret.starts_with("rgt_"));
    assert!(secret.starts_with(&token.hint));
    assert_ne!(token.hash, secret, "only the hash is stored");
    let stored = r
        .store()
        .get(Scope::Platform, "api_token", token.id.0)
        .await
        .expect("get")
        .expect("stored");
    assert!(
        !stored.body.to_string().contains(&secret[4..]),
        "the secret is nowhere in the record"
    );
    let who = r.authenticate(&secret).await.expect("authenticated");
    assert_eq!(who.user, f.officer.user);
    let listed = r
        .tokens(&f.officer, crate::store::PageRequest::first(500))
        .await
        .expect("tokens")
        .items;
    assert_eq!(listed[0].last_used_at, Some(at(0)), "last use recorded");
    for bad in [
        "",
        "rgt_",
        "Bearer x",
        &secret[..secret.len() - 1],
        // The same length with a different last digit.
        &format!(
            "{}{}",
            &secret[..secret.len() - 1],
            if secret.ends_with('0') { '1' } else { '0' }
        ),
    ] {
        match r.authenticate(bad).await {
            Err(Error::Unauthenticated) => {}
            other => panic!("{bad:?} must not authenticate, got {other:?}"),
        }
    }
    expect_not_found(
        r.revoke_token(&f.manager, token.id).await,
        "revoking someone else's token",
    );
    r.revoke_token(&f.officer, token.id).await.expect("revoked");
    match r.authenticate(&secret).await {
        Err(Error::Unauthenticated) => {}
        other => panic!("a revoked token must not authenticate, got {other:?}"),
    }
    assert!(
        actions(&f.msp, crate::audit::PLATFORM_CHAIN)
            .await
            .contains(&"token.revoked".to_owned())
    );
}

pub async fn passwords_are_set_and_checked_off_the_record(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    assert_eq!(
        r.login_material("officer@acme.test").await.expect("lookup"),
        None,
        "no password yet"
    );
    expect_invalid(r.set_password(&f.officer, "too short").await, "password");
    r.set_password(&f.officer, "a long enough passphrase")
        .await
        .expect("set");
    let (user, phc) = r
        .login_material(" Officer@Acme.test ")
        .await
        .expect("lookup")
        .expect("material");
    assert_eq!(user, f.officer.user);
    assert!(crate::auth::verify_password(
        "a long enough passphrase",
        &phc
    ));
    assert!(!crate::auth::verify_password(
        "a long enough passphrasE",
        &phc
    ));
    assert_eq!(
        r.login_material("nobody@acme.test").await.expect("lookup"),
        None
    );
    // Changing it replaces the hash.
    r.set_password(&f.officer, "another long passphrase")
        .await
        .expect("changed");
    let (_, changed) = r
        .login_material("officer@acme.test")
        .await
        .expect("lookup")
        .expect("material");
    assert!(!crate::auth::verify_password(
        "a long enough passphrase",
        &changed
    ));
}

pub async fn new_members_get_an_initial_password_existing_ones_keep_theirs(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let client = f.clients[0];
    let hash = r.hash_password("first passphrase here").expect("hash");
    r.add_member_with_password(
        &f.admin,
        client,
        "new@client.test",
        "New",
        Role::Employee,
        Some(hash),
    )
    .await
    .expect("added");
    let (user, phc) = r
        .login_material("new@client.test")
        .await
        .expect("lookup")
        .expect("a credential for the new user");
    assert!(r.membership(client, user).await.expect("lookup").is_some());
    assert!(crate::auth::verify_password("first passphrase here", &phc));
    let stored = store::require::<crate::auth::Credential>(r.store(), Scope::Platform, user.0)
        .await
        .expect("credential");
    assert_eq!(
        stored.value.set_by,
        crate::auth::SetBy::TenantAdmin { org: client },
        "recorded as chosen by the client's admin"
    );

    // Another org's addition of that email with another password: accepted,
    // but the password is not applied and nothing is attached.
    let other = r.hash_password("someone else's choice").expect("hash");
    r.add_member_with_password(
        &f.admin,
        f.clients[1],
        "new@client.test",
        "New",
        Role::Employee,
        Some(other),
    )
    .await
    .expect("accepted");
    let (_, kept) = r
        .login_material("new@client.test")
        .await
        .expect("lookup")
        .expect("material");
    assert!(crate::auth::verify_password("first passphrase here", &kept));
    assert!(
        r.membership(f.clients[1], user)
            .await
            .expect("lookup")
            .is_none()
    );
    // The operator's new accounts are the operator's; the owner's own
    // password is the owner's.
    let hash = r.hash_password("operator passphrase").expect("hash");
    let added = r
        .add_member_with_password(
            &f.operator,
            client,
            "ops-made@client.test",
            "Ops Made",
            Role::Employee,
            Some(hash),
        )
        .await
        .expect("added");
    let made = added.membership().expect("shown to the operator").user;
    let set_by = |user: crate::ids::UserId| async move {
        store::require::<crate::auth::Credential>(r.store(), Scope::Platform, user.0)
            .await
            .expect("credential")
            .value
            .set_by
    };
    assert_eq!(set_by(made).await, crate::auth::SetBy::Operator);
    r.set_password(&Principal::new(made), "the owner's own passphrase")
        .await
        .expect("set");
    assert_eq!(set_by(made).await, crate::auth::SetBy::Owner);
    // Whoever signs in with a password a tenant admin chose may be that
    // admin: changing it keeps its origin.
    r.set_password(&Principal::new(user), "changed after sign-in")
        .await
        .expect("set");
    assert_eq!(
        set_by(user).await,
        crate::auth::SetBy::TenantAdmin { org: client }
    );
    r.change_password(
        &Principal::new(user),
        Some("changed after sign-in"),
        "changed again, knowing it",
    )
    .await
    .expect("changed");
    assert_eq!(
        set_by(user).await,
        crate::auth::SetBy::TenantAdmin { org: client },
        "knowing the current password proves no more"
    );
    r.change_password(
        &Principal::new(made),
        Some("the owner's own passphrase"),
        "the owner's next passphrase",
    )
    .await
    .expect("changed");
    assert_eq!(set_by(made).await, crate::auth::SetBy::Owner);

    // A plain password where a hash belongs is refused, and nothing is written.
    let before = r
        .list_members(&f.admin, client, PageRequest::first(500))
        .await
        .expect("members");
    expect_invalid(
        r.add_member_with_password(
            &f.admin,
            client,
            "plain@client.test",
            "Plain",
            Role::Employee,
            Some("not a hash at all".into()),
        )
        .await,
        "password",
    );
    assert_eq!(
        r.list_members(&f.admin, client, PageRequest::first(500))
            .await
            .expect("members"),
        before
    );
    assert_eq!(
        r.login_material("plain@client.test").await.expect("lookup"),
        None
    );
}

/// Whether `secret` authenticates, `Unauthenticated` being the only refusal.
async fn authenticates(r: &Regentra, secret: &str) -> bool {
    match r.authenticate(secret).await {
        Ok(_) => true,
        Err(Error::Unauthenticated) => false,
        Err(e) => panic!("a token check answers yes or Unauthenticated, got {e:?}"),
    }
}

/// A session started on a client portal's own host name (whose DNS, and
/// perhaps a proxy in front of it, the client controls) works only on that
/// host; the server's own sessions and API tokens do not work there.
pub async fn a_session_started_on_a_portal_host_works_only_there(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let host = "help.acme.test";
    let (token, on_portal) = r
        .issue_login_token_at(&f.officer, Some(host))
        .await
        .expect("issued on the portal's host");
    assert_eq!(token.portal_host.as_deref(), Some(host));
    let caller = r
        .authenticate_at(&on_portal, Some(host))
        .await
        .expect("it works where it was started");
    assert_eq!(caller.user, f.officer.user);
    assert_eq!(caller.token, Some(token.id));
    for (elsewhere, why) in [
        (None, "the server's own address"),
        (Some("help.other.test"), "another portal's host"),
        (Some("acme.test"), "the parent domain"),
    ] {
        assert!(
            matches!(
                r.authenticate_at(&on_portal, elsewhere).await,
                Err(Error::Unauthenticated)
            ),
            "{why}"
        );
    }
    assert!(
        !authenticates(r, &on_portal).await,
        "authenticate is the server's own address"
    );

    let (own, on_server) = r.issue_login_token(&f.officer).await.expect("issued");
    assert_eq!(own.portal_host, None);
    assert!(authenticates(r, &on_server).await);
    let (_, api) = r.issue_token(&f.officer, "CI").await.expect("issued");
    for secret in [&on_server, &api] {
        assert!(
            matches!(
                r.authenticate_at(secret, Some(host)).await,
                Err(Error::Unauthenticated)
            ),
            "the server's own tokens do not work on a portal's host"
        );
    }
    // Only a host name as a request's `Host` reads (lower case, no port).
    for bad in ["Help.Acme.Test", "help.acme.test:443", "127.0.0.1", ""] {
        assert!(
            matches!(
                r.issue_login_token_at(&f.officer, Some(bad)).await,
                Err(Error::Validation(ref fields)) if fields[0].field == "host"
            ),
            "{bad:?}"
        );
    }
    // The sign-in's host is in the audit trail.
    let events = crate::store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
        .await
        .expect("chain");
    let issued = events
        .iter()
        .find(|e| e.action == "token.issued" && e.target.id == token.id.to_string())
        .expect("audited");
    assert_eq!(issued.details["portal_host"], host);
}

pub async fn login_tokens_expire_when_idle(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let idle = r.token_lifetimes().idle();
    let (token, secret) = r.issue_login_token(&f.officer).await.expect("issued");
    assert_eq!(token.kind, crate::auth::TokenKind::Login);
    assert_eq!(
        token.expires_at,
        Some(at(0) + r.token_lifetimes().absolute())
    );
    assert_eq!(r.token_expiry(&token), Some(at(0) + idle));
    // Used just before going idle, it lives on from that use...
    f.clock.advance(idle - chrono::Duration::minutes(1));
    assert!(authenticates(r, &secret).await);
    let listed = r
        .tokens(&f.officer, crate::store::PageRequest::first(500))
        .await
        .expect("tokens")
        .items;
    assert_eq!(r.token_expiry(&listed[0]), Some(r.now() + idle));
    f.clock.advance(idle - chrono::Duration::minutes(1));
    assert!(authenticates(r, &secret).await);
    // ...and left idle for the whole idle time, it is refused like a
    // token that does not exist.
    f.clock.advance(idle);
    assert!(!authenticates(r, &secret).await);
    // API tokens made without an expiry do not go idle.
    let (_, api) = r.issue_token(&f.officer, "CI").await.expect("issued");
    f.clock.advance(chrono::Duration::days(400));
    assert!(authenticates(r, &api).await);
}

pub async fn login_tokens_expire_at_their_absolute_lifetime(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let lifetimes =
        crate::TokenLifetimes::new(chrono::Duration::hours(1), chrono::Duration::hours(3))
            .expect("valid lifetimes");
    let r = f.r().clone().with_token_lifetimes(lifetimes);
    let (token, secret) = r.issue_login_token(&f.officer).await.expect("issued");
    assert_eq!(token.expires_at, Some(at(0) + chrono::Duration::hours(3)));
    // Used every 50 minutes, it never goes idle...
    for _ in 0..3 {
        f.clock.advance(chrono::Duration::minutes(50));
        assert!(authenticates(&r, &secret).await);
    }
    // ...but three hours after it was issued it is refused all the same.
    f.clock.set(at(0) + chrono::Duration::hours(3));
    assert!(!authenticates(&r, &secret).await);
    for (idle, absolute, field) in [
        (5, 60, "login_idle"),
        (120, 60, "login_idle"),
        (60, 367 * 24 * 60, "login_absolute"),
    ] {
        expect_invalid(
            crate::TokenLifetimes::new(
                chrono::Duration::minutes(idle),
                chrono::Duration::minutes(absolute),
            ),
            field,
        );
    }
}

pub async fn api_tokens_expire_when_their_user_said(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (token, secret) = r
        .issue_api_token(&f.officer, "Nightly export", Some(30))
        .await
        .expect("issued");
    assert_eq!(token.kind, crate::auth::TokenKind::Api);
    assert_eq!(token.expires_at, Some(at(0) + chrono::Duration::days(30)));
    assert_eq!(r.token_expiry(&token), token.expires_at);
    for days in [0, crate::auth::MAX_TOKEN_DAYS + 1] {
        expect_invalid(
            r.issue_api_token(&f.officer, "Bad", Some(days)).await,
            "expires_in_days",
        );
    }
    assert_eq!(
        r.tokens(&f.officer, crate::store::PageRequest::first(500))
            .await
            .expect("tokens")
            .items
            .len(),
        1,
        "refused tokens are not stored"
    );
    f.clock
        .advance(chrono::Duration::days(30) - chrono::Duration::seconds(1));
    assert!(authenticates(r, &secret).await);
    f.clock.advance(chrono::Duration::seconds(1));
    assert!(!authenticates(r, &secret).await);
}

pub async fn changing_a_password_needs_the_current_one_and_revokes_the_other_tokens(
    store: Arc<dyn Store>,
) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    r.set_password(&f.officer, "the first passphrase")
        .await
        .expect("first password");
    let (_, this) = r.issue_login_token(&f.officer).await.expect("issued");
    let (_, other_login) = r.issue_login_token(&f.officer).await.expect("issued");
    let (_, program) = r.issue_token(&f.officer, "CI").await.expect("issued");
    let (_, colleague) = r.issue_login_token(&f.manager).await.expect("issued");
    let caller = r.authenticate(&this).await.expect("authenticated");
    assert!(caller.token.is_some(), "the principal knows its token");
    let password = |r: &Regentra| {
        let r = r.clone();
        async move {
            r.login_material("officer@acme.test")
                .await
                .expect("lookup")
                .expect("material")
                .1
        }
    };
    let before = password(r).await;
    // A stolen session cannot change the password without knowing it.
    expect_invalid(
        r.change_password(
            &caller,
            Some("not the passphrase"),
            "the attacker's passphrase",
        )
        .await,
        "current_password",
    );
    expect_invalid(
        r.change_password(&caller, None, "the attacker's passphrase")
            .await,
        "current_password",
    );
    assert_eq!(password(r).await, before, "nothing changed");
    for secret in [&this, &other_login, &program] {
        assert!(authenticates(r, secret).await, "no token was revoked");
    }
    expect_invalid(
        r.change_password(&caller, Some("the first passphrase"), "short")
            .await,
        "password",
    );
    r.change_password(
        &caller,
        Some("the first passphrase"),
        "the second passphrase",
    )
    .await
    .expect("changed");
    let after = password(r).await;
    assert!(crate::auth::verify_password(
        "the second passphrase",
        &after
    ));
    assert!(!crate::auth::verify_password(
        "the first passphrase",
        &after
    ));
    assert!(
        authenticates(r, &this).await,
        "the caller's token stays valid"
    );
    assert!(!authenticates(r, &other_login).await, "other logins end");
    assert!(!authenticates(r, &program).await, "other tokens end");
    assert!(
        authenticates(r, &colleague).await,
        "other users are untouched"
    );
    let revoked = r
        .tokens(&f.officer, crate::store::PageRequest::first(500))
        .await
        .expect("tokens")
        .items
        .iter()
        .filter(|t| t.revoked_at.is_some())
        .count();
    assert_eq!(revoked, 2);
    assert!(
        actions(&f.msp, crate::audit::PLATFORM_CHAIN)
            .await
            .contains(&"password.changed".to_owned())
    );
}

pub async fn request_metadata_enters_the_audit_chain_bounded(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    // Set directly, without `with_request`: bounded where events are made.
    let mut caller = f.officer.clone();
    caller.request = crate::RequestMeta {
        request_id: Some(format!("\"forged\" {}", "x".repeat(8000))),
        ip: Some("203.0.113.9".into()),
        user_agent: Some(format!("agent\n{}", "a".repeat(8000))),
    };
    r.issue_token(&caller, "CI").await.expect("issued");
    let events = crate::store::audit_chain(r.store(), crate::audit::PLATFORM_CHAIN)
        .await
        .expect("chain");
    let issued = events
        .iter()
        .rev()
        .find(|e| e.action == "token.issued")
        .expect("audited");
    assert_eq!(issued.request.request_id, None, "an unsafe id is dropped");
    assert_eq!(issued.request.ip.as_deref(), Some("203.0.113.9"));
    let agent = issued.request.user_agent.as_deref().expect("kept, bounded");
    assert_eq!(agent.chars().count(), crate::audit::MAX_USER_AGENT);
    assert!(!agent.contains('\n'));
}

pub async fn the_platform_operator_sets_a_first_password_without_a_current_one(
    store: Arc<dyn Store>,
) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let operator = &f.msp.operator;
    // Bootstrapped with a token only: no password to sign in with yet.
    assert_eq!(
        r.login_material("ops@platform.test").await.expect("lookup"),
        None
    );
    assert!(r.account(operator).await.expect("account").super_admin);
    assert!(!r.account(&f.officer).await.expect("account").super_admin);
    let (_, bootstrap) = r.issue_token(operator, "bootstrap").await.expect("issued");
    let caller = r.authenticate(&bootstrap).await.expect("authenticated");
    // A weak first password is refused like any other, nothing is stored.
    for weak in ["aaaaaaaaaaaa", "ops@platform.test", "password1234"] {
        expect_invalid(r.change_password(&caller, None, weak).await, "password");
    }
    assert_eq!(
        r.login_material("ops@platform.test").await.expect("lookup"),
        None
    );
    // The first one needs no current password, and is the owner's.
    r.change_password(&caller, None, "quiet granite lanterns drift")
        .await
        .expect("first password");
    let (user, phc) = r
        .login_material("ops@platform.test")
        .await
        .expect("lookup")
        .expect("a password now");
    assert_eq!(user, operator.user);
    assert!(crate::auth::verify_password(
        "quiet granite lanterns drift",
        &phc
    ));
    let credential = r
        .store()
        .get(Scope::Platform, "credential", operator.user.0)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(credential.json()["set_by"]["kind"], "owner");
    assert!(
        authenticates(r, &bootstrap).await,
        "setting a first password revokes nothing"
    );
    // From now on the current one is needed: a stolen bootstrap token can
    // no longer replace it.
    expect_invalid(
        r.change_password(&caller, None, "another granite lantern story")
            .await,
        "current_password",
    );
    expect_invalid(
        r.change_password(
            &caller,
            Some("not the password"),
            "another granite lantern story",
        )
        .await,
        "current_password",
    );
    let unchanged = r
        .login_material("ops@platform.test")
        .await
        .expect("lookup")
        .expect("material")
        .1;
    assert_eq!(unchanged, phc, "nothing changed");
    r.change_password(
        &caller,
        Some("quiet granite lanterns drift"),
        "another granite lantern story",
    )
    .await
    .expect("changed with the current one");
    let platform = actions(&f.msp, crate::audit::PLATFORM_CHAIN).await;
    assert!(platform.contains(&"password.set".to_owned()));
    assert!(platform.contains(&"password.changed".to_owned()));
}
