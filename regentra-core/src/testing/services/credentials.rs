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
    let listed = r.tokens(&f.officer).await.expect("tokens");
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
    let m = r
        .add_member_with_password(
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
    assert_eq!(user, m.user);
    assert!(crate::auth::verify_password("first passphrase here", &phc));

    // The same user joins another org with another password: ignored.
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
    .expect("added to the second client");
    let (_, kept) = r
        .login_material("new@client.test")
        .await
        .expect("lookup")
        .expect("material");
    assert!(crate::auth::verify_password("first passphrase here", &kept));

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
