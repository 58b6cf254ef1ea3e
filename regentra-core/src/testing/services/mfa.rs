use super::*;

use chrono::Duration;

use crate::mfa::{CHALLENGE_ATTEMPTS, CHALLENGE_LIFETIME, RECOVERY_CODES};

/// The code an authenticator app shows for `secret` (base32) at `when`,
/// computed as the app would, apart from the code under test.
fn code_at(secret: &str, when: chrono::DateTime<chrono::Utc>) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .expect("RFC 6238 defaults")
        .generate(u64::try_from(when.timestamp()).expect("after 1970"))
        .to_string()
}

/// The officer of `f`, enrolled and confirmed at the current time: their
/// secret and recovery codes.
async fn enrolled(f: &ComplianceFixture) -> (String, Vec<String>) {
    let r = f.r();
    let setup = r.start_mfa_enrollment(&f.officer).await.expect("started");
    let codes = r
        .confirm_mfa(&f.officer, &code_at(&setup.secret, r.now()))
        .await
        .expect("confirmed");
    (setup.secret, codes)
}

fn expect_unauthenticated<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    match result {
        Err(Error::Unauthenticated) => {}
        other => panic!("{what}: expected Unauthenticated, got {other:?}"),
    }
}

async fn user_has_mfa(r: &Regentra, user: crate::ids::UserId) -> bool {
    store::require::<crate::tenancy::User>(r.store(), Scope::Platform, user.0)
        .await
        .expect("user")
        .value
        .mfa
}

pub async fn mfa_enrolment_becomes_active_only_with_a_valid_code(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let setup = r.start_mfa_enrollment(&f.officer).await.expect("started");
    assert_eq!(setup.secret.len(), 32, "160 bits in base32");
    assert!(
        setup
            .uri
            .starts_with("otpauth://totp/Regentra:officer%40acme.test?"),
        "{}",
        setup.uri
    );
    assert!(setup.uri.contains(&format!("secret={}", setup.secret)));
    assert!(setup.uri.contains("issuer=Regentra"));
    let status = r.mfa_status(&f.officer).await.expect("status");
    assert!(status.pending && !status.enabled, "{status:?}");
    // A pending secret is not a factor: signing in needs no code yet.
    assert_eq!(
        r.begin_mfa_challenge(f.officer.user).await.expect("begin"),
        None
    );
    // Wrong codes, and right codes of another time, confirm nothing.
    let now = r.now();
    for wrong in [
        "000000".to_owned(),
        "12345".to_owned(),
        "not a code".to_owned(),
        code_at(&setup.secret, now + Duration::seconds(90)),
        code_at(&setup.secret, now - Duration::seconds(90)),
    ] {
        if wrong == code_at(&setup.secret, now) {
            continue;
        }
        expect_invalid(r.confirm_mfa(&f.officer, &wrong).await, "code");
    }
    assert!(!r.mfa_status(&f.officer).await.expect("status").enabled);
    assert!(!user_has_mfa(r, f.officer.user).await);
    // Starting again replaces the pending secret: the old one is useless.
    let again = r.start_mfa_enrollment(&f.officer).await.expect("restarted");
    assert_ne!(again.secret, setup.secret, "a fresh secret each time");
    expect_invalid(
        r.confirm_mfa(&f.officer, &code_at(&setup.secret, now))
            .await,
        "code",
    );
    // A session signed in with the password alone, and the session that
    // turns MFA on.
    let (_, before) = r
        .issue_login_token(&f.officer)
        .await
        .expect("a password-only session");
    let (_, enrolling_secret) = r.issue_login_token(&f.officer).await.expect("session");
    let enrolling = r.authenticate(&enrolling_secret).await.expect("live");
    let codes = r
        .confirm_mfa(&enrolling, &code_at(&again.secret, now))
        .await
        .expect("confirmed");
    assert_eq!(codes.len(), RECOVERY_CODES);
    // Every other session ends: one may be an intruder's, and would pass
    // every MFA check from now on.
    assert!(matches!(
        r.authenticate(&before).await,
        Err(Error::Unauthenticated)
    ));
    r.authenticate(&enrolling_secret)
        .await
        .expect("the session that turned MFA on lives on");
    let distinct: BTreeSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), RECOVERY_CODES);
    let status = r.mfa_status(&f.officer).await.expect("status");
    assert!(status.enabled && !status.pending, "{status:?}");
    assert_eq!(status.recovery_codes_left, RECOVERY_CODES);
    assert!(user_has_mfa(r, f.officer.user).await);
    // The recovery codes are stored hashed: none is in the record.
    let stored = r
        .store()
        .get(Scope::Platform, "mfa_enrollment", f.officer.user.0)
        .await
        .expect("get")
        .expect("stored");
    for code in &codes {
        assert!(!stored.body.to_string().contains(code.as_str()));
    }
    // An active factor is not replaced by starting over.
    expect_invalid(r.start_mfa_enrollment(&f.officer).await, "mfa");
    let platform = actions(&f.msp, crate::audit::PLATFORM_CHAIN).await;
    assert!(platform.contains(&"mfa.enrollment_started".to_owned()));
    assert!(platform.contains(&"mfa.enabled".to_owned()));
}

pub async fn mfa_codes_are_checked_against_the_step_with_one_step_of_skew_and_never_replayed(
    store: Arc<dyn Store>,
) {
    let f = compliance_fixture(store).await;
    let (secret, _) = enrolled(&f).await;
    codes_follow_the_clock(&f, &secret).await;
    // Later, on the same account: what a challenge takes.
    f.clock.advance(Duration::seconds(90));
    challenges_are_single_use_short_lived_and_die_after_wrong_codes(&f, &secret).await;
}

/// Step, skew and replay, through sign-in challenges.
async fn codes_follow_the_clock(f: &ComplianceFixture, secret: &str) {
    let r = f.r();
    let secret = secret.to_owned();
    let confirmed_at = r.now();
    // The code that confirmed the enrolment is spent.
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("enrolled: a challenge");
    assert!(challenge.starts_with(crate::mfa::CHALLENGE_PREFIX));
    expect_invalid(
        r.complete_mfa_challenge(&challenge, &code_at(&secret, confirmed_at))
            .await,
        "code",
    );
    // A minute later: the code of 30 s ago is accepted (one step of skew)...
    f.clock.advance(Duration::seconds(60));
    let previous = code_at(&secret, r.now() - Duration::seconds(30));
    assert_eq!(
        r.complete_mfa_challenge(&challenge, &previous)
            .await
            .expect("a code one step old"),
        f.officer.user
    );
    // ...once: the same code again is a replay, even on a fresh challenge.
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    expect_invalid(
        r.complete_mfa_challenge(&challenge, &previous).await,
        "code",
    );
    // Two steps away either side is refused; the current step is accepted.
    let now = r.now();
    let current = code_at(&secret, now);
    let far = code_at(&secret, now + Duration::seconds(60));
    if far != current {
        expect_invalid(r.complete_mfa_challenge(&challenge, &far).await, "code");
    }
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    r.complete_mfa_challenge(&challenge, &current)
        .await
        .expect("the current code");
    // A code of the next step (a phone clock ahead) is accepted too.
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    r.complete_mfa_challenge(&challenge, &code_at(&secret, now + Duration::seconds(30)))
        .await
        .expect("one step ahead");
    // One code sent twice at once, on two challenges: accepted once.
    f.clock.advance(Duration::seconds(60));
    let code = code_at(&secret, r.now());
    let mut challenges = Vec::new();
    for _ in 0..2 {
        challenges.push(
            r.begin_mfa_challenge(f.officer.user)
                .await
                .expect("begin")
                .expect("a challenge"),
        );
    }
    let results = join_all(
        challenges
            .iter()
            .map(|challenge| r.complete_mfa_challenge(challenge, &code)),
    )
    .await;
    let accepted = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(accepted, 1, "a racing replay is refused: {results:?}");
    assert!(
        results.iter().all(|result| matches!(
            result,
            Ok(_) | Err(Error::Conflict { .. } | Error::Validation(_))
        )),
        "{results:?}"
    );
    let platform = actions(&f.msp, crate::audit::PLATFORM_CHAIN).await;
    assert!(platform.contains(&"mfa.verified".to_owned()));
    assert!(platform.contains(&"mfa.code_refused".to_owned()));
}

/// A challenge is single use, short-lived, and dies after wrong codes.
async fn challenges_are_single_use_short_lived_and_die_after_wrong_codes(
    f: &ComplianceFixture,
    secret: &str,
) {
    let r = f.r();
    // Single use.
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    r.complete_mfa_challenge(&challenge, &code_at(secret, r.now()))
        .await
        .expect("signed in");
    f.clock.advance(Duration::seconds(30));
    expect_unauthenticated(
        r.complete_mfa_challenge(&challenge, &code_at(secret, r.now()))
            .await,
        "a spent challenge",
    );
    // Wrong codes kill it, and then even the right code is refused.
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    let right = code_at(secret, r.now());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..CHALLENGE_ATTEMPTS {
        expect_invalid(r.complete_mfa_challenge(&challenge, wrong).await, "code");
    }
    expect_unauthenticated(
        r.complete_mfa_challenge(&challenge, &right).await,
        "a challenge after too many wrong codes",
    );
    assert_eq!(
        r.mfa_challenge_user(&challenge).await.expect("lookup"),
        None
    );
    // Expired after its lifetime.
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    assert_eq!(
        r.mfa_challenge_user(&challenge).await.expect("lookup"),
        Some(f.officer.user)
    );
    f.clock.advance(CHALLENGE_LIFETIME);
    expect_unauthenticated(
        r.complete_mfa_challenge(&challenge, &code_at(secret, r.now()))
            .await,
        "an expired challenge",
    );
    // Made-up and malformed challenges are unknown.
    for bogus in ["", "rgc_", "rgc_00", &"x".repeat(5000)] {
        expect_unauthenticated(
            r.complete_mfa_challenge(bogus, &code_at(secret, r.now()))
                .await,
            "a made-up challenge",
        );
    }
    // Expired challenges are cleared when the next one is issued.
    r.begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    let left = store::find_all::<crate::mfa::MfaChallenge>(
        r.store(),
        Scope::Platform,
        "user",
        &f.officer.user.to_string(),
    )
    .await
    .expect("challenges");
    assert_eq!(left.len(), 1, "only the live challenge is kept");
}

pub async fn mfa_recovery_codes_work_once_each_and_disabling_needs_a_proof(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let secret = recovery_codes_work_once_each(&f).await;
    disabling_needs_a_current_code_or_the_password(&f, &secret).await;
}

/// Recovery codes sign in once each; regenerating replaces them.
async fn recovery_codes_work_once_each(f: &ComplianceFixture) -> String {
    let r = f.r();
    let (secret, codes) = enrolled(f).await;
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    // Typed in capitals with spaces, it still matches.
    let typed = codes[3].to_uppercase().replace('-', " ");
    r.complete_mfa_challenge(&challenge, &typed)
        .await
        .expect("a recovery code signs in");
    assert_eq!(
        r.mfa_status(&f.officer)
            .await
            .expect("status")
            .recovery_codes_left,
        RECOVERY_CODES - 1
    );
    let challenge = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    expect_invalid(
        r.complete_mfa_challenge(&challenge, &codes[3]).await,
        "code",
    );
    assert!(
        actions(&f.msp, crate::audit::PLATFORM_CHAIN)
            .await
            .contains(&"mfa.recovery_code_used".to_owned())
    );
    // Regenerating needs a TOTP code (not a recovery code), and replaces
    // every unused code.
    f.clock.advance(Duration::seconds(30));
    expect_invalid(
        r.regenerate_recovery_codes(&f.officer, &codes[4]).await,
        "code",
    );
    let fresh = r
        .regenerate_recovery_codes(&f.officer, &code_at(&secret, r.now()))
        .await
        .expect("regenerated");
    assert_eq!(fresh.len(), RECOVERY_CODES);
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    expect_invalid(
        r.complete_mfa_challenge(&challenge, &codes[4]).await,
        "code",
    );
    r.complete_mfa_challenge(&challenge, &fresh[0])
        .await
        .expect("a new code works");
    secret
}

/// Disabling needs a current code or the password.
async fn disabling_needs_a_current_code_or_the_password(f: &ComplianceFixture, secret: &str) {
    let r = f.r();
    r.set_password(&f.officer, "violet kettle marches sideways")
        .await
        .expect("password");
    // A sign-in begun with a password that then changes cannot be finished.
    let begun = r
        .begin_mfa_challenge(f.officer.user)
        .await
        .expect("begin")
        .expect("a challenge");
    r.change_password(
        &f.officer,
        Some("violet kettle marches sideways"),
        "granite owl whispers at dusk",
    )
    .await
    .expect("changed");
    assert!(matches!(
        r.complete_mfa_challenge(&begun, &code_at(secret, r.now() + Duration::seconds(30)))
            .await,
        Err(Error::Unauthenticated)
    ));
    r.change_password(
        &f.officer,
        Some("granite owl whispers at dusk"),
        "violet kettle marches sideways",
    )
    .await
    .expect("changed back");
    expect_invalid(r.disable_mfa(&f.officer, None, None).await, "code");
    expect_invalid(
        r.disable_mfa(&f.officer, Some("000001"), None).await,
        "code",
    );
    expect_invalid(
        r.disable_mfa(&f.officer, None, Some("not the password at all"))
            .await,
        "password",
    );
    assert!(r.mfa_status(&f.officer).await.expect("status").enabled);
    r.disable_mfa(&f.officer, None, Some("violet kettle marches sideways"))
        .await
        .expect("disabled with the password");
    assert!(!r.mfa_status(&f.officer).await.expect("status").enabled);
    assert!(!user_has_mfa(r, f.officer.user).await);
    assert_eq!(
        r.begin_mfa_challenge(f.officer.user).await.expect("begin"),
        None,
        "no factor, no challenge"
    );
    expect_invalid(
        r.disable_mfa(&f.officer, Some(&code_at(secret, r.now())), None)
            .await,
        "code",
    );
    // Enrolled again, a current code disables it too.
    f.clock.advance(Duration::seconds(30));
    let (secret, _) = enrolled(f).await;
    f.clock.advance(Duration::seconds(30));
    r.disable_mfa(&f.officer, Some(&code_at(&secret, r.now())), None)
        .await
        .expect("disabled with a code");
    assert!(
        actions(&f.msp, crate::audit::PLATFORM_CHAIN)
            .await
            .contains(&"mfa.disabled".to_owned())
    );
}

pub async fn mfa_admin_reset_cannot_reach_beyond_the_admins_tenants(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let admin = &f.msp.admin;
    let operator = &f.msp.operator;
    enrolled(&f).await;
    // Without members.manage, or from another tenant: refused.
    expect_denied(
        r.reset_member_mfa(&f.manager, f.org, f.officer.user).await,
        "a compliance manager",
    );
    let other = r
        .create_organization(operator, "Elsewhere LLC", OrgKind::Standalone)
        .await
        .expect("standalone")
        .id;
    r.add_member(
        operator,
        other,
        "owner@elsewhere.test",
        "Owner",
        Role::OrgAdmin,
    )
    .await
    .expect("owner");
    let owner = Principal::new(
        store::find_unique::<crate::tenancy::User>(
            r.store(),
            Scope::Platform,
            "email",
            "owner@elsewhere.test",
        )
        .await
        .expect("lookup")
        .expect("owner")
        .value
        .id,
    );
    expect_not_found(
        r.reset_member_mfa(&owner, f.org, f.officer.user).await,
        "another tenant's admin",
    );
    expect_not_found(
        r.reset_member_mfa(&owner, other, f.officer.user).await,
        "not a member there",
    );
    // The MSP admin administers every org the officer is in: allowed,
    // recorded in the org's chain, and the officer is told.
    r.reset_member_mfa(admin, f.org, f.officer.user)
        .await
        .expect("reset by the MSP admin");
    assert!(!r.mfa_status(&f.officer).await.expect("status").enabled);
    assert!(!user_has_mfa(r, f.officer.user).await);
    assert!(
        actions(&f.msp, f.org)
            .await
            .contains(&"mfa.reset".to_owned())
    );
    let inbox = r.inbox(&f.officer, None, 10).await.expect("inbox");
    assert!(
        inbox
            .items
            .iter()
            .any(|i| i.notification.kind == crate::notify::NotificationKind::MfaReset),
        "the officer is told"
    );
    expect_invalid(
        r.reset_member_mfa(admin, f.org, f.officer.user).await,
        "user_id",
    );
    // Once the officer also belongs to an org the MSP admin does not
    // administer, neither admin can remove the factor that protects it.
    enrolled(&f).await;
    r.add_member(
        operator,
        other,
        "officer@acme.test",
        "Officer",
        Role::Viewer,
    )
    .await
    .expect("the operator attaches the account");
    expect_invalid(
        r.reset_member_mfa(admin, f.org, f.officer.user).await,
        "user_id",
    );
    expect_invalid(
        r.reset_member_mfa(&owner, other, f.officer.user).await,
        "user_id",
    );
    assert!(r.mfa_status(&f.officer).await.expect("status").enabled);
    // The platform operator may.
    r.reset_member_mfa(operator, other, f.officer.user)
        .await
        .expect("reset by the operator");
    assert!(!r.mfa_status(&f.officer).await.expect("status").enabled);
    assert!(
        actions(&f.msp, other)
            .await
            .contains(&"mfa.reset".to_owned())
    );
}

fn expect_mfa_required<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    match result {
        Err(Error::MfaRequired { .. }) => {}
        other => panic!("{what}: expected MfaRequired, got {other:?}"),
    }
}

pub async fn org_required_mfa_gives_a_grace_period_then_refuses_members_without_it(
    store: Arc<dyn Store>,
) {
    use crate::tenancy::security::SecuritySettings;
    let f = compliance_fixture(store).await;
    let r = f.r();
    let admin = &f.msp.admin;
    let members = |p: &Principal| {
        let p = p.clone();
        async move { r.list_members(&p, f.org, PageRequest::first(10)).await }
    };
    f.clock.advance(Duration::days(1));
    let required_at = r.now();
    r.set_org_security(
        admin,
        f.org,
        SecuritySettings {
            session_hours: None,
            mfa_required: true,
            mfa_grace_days: 7,
        },
    )
    .await
    .expect("MFA required");
    // During the grace period members keep access, and are told by when.
    members(&f.officer).await.expect("in the grace period");
    let told = r.mfa_requirements(&f.officer).await.expect("requirements");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].org_id, f.org);
    assert_eq!(told[0].deadline, required_at + Duration::days(7));
    assert!(
        r.mfa_requirements(&f.msp.operator)
            .await
            .expect("requirements")
            .is_empty(),
        "the operator is no member"
    );
    // Someone who joins later gets the whole grace period from then.
    f.clock.advance(Duration::days(3));
    let late = member(&f.msp, f.org, "late@acme.test", Role::Viewer).await;
    assert_eq!(
        r.mfa_requirements(&late).await.expect("requirements")[0].deadline,
        r.now() + Duration::days(7)
    );
    // After the deadline, members without MFA are refused in that org...
    f.clock.advance(Duration::days(4));
    expect_mfa_required(members(&f.officer).await, "the officer after the deadline");
    expect_mfa_required(members(&f.manager).await, "the manager after the deadline");
    expect_mfa_required(
        members(admin).await,
        "the MSP admin, through the delegation, after the deadline",
    );
    members(&late)
        .await
        .expect("the late joiner's grace runs on");
    members(&f.msp.operator)
        .await
        .expect("the platform operator is not a member");
    // ...but not elsewhere: the MSP and its other client do not require it.
    r.list_members(admin, f.msp.msp, PageRequest::first(10))
        .await
        .expect("the MSP itself");
    r.list_members(admin, f.msp.clients[1], PageRequest::first(10))
        .await
        .expect("another client");
    // Their own account stays open, so they can enrol; then access is back.
    assert!(!r.mfa_status(&f.officer).await.expect("status").enabled);
    let (_, _) = enrolled(&f).await;
    members(&f.officer).await.expect("enrolled");
    assert!(
        r.mfa_requirements(&f.officer)
            .await
            .expect("requirements")
            .iter()
            .any(|req| req.org_id == f.org),
        "still listed: the org requires it"
    );
    // Resetting the officer's factor puts them back behind the requirement.
    r.reset_member_mfa(&f.msp.operator, f.org, f.officer.user)
        .await
        .expect("reset");
    expect_mfa_required(members(&f.officer).await, "after a reset");
    // Lifting the requirement lets everyone back in.
    r.set_org_security(&f.msp.operator, f.org, SecuritySettings::default())
        .await
        .expect("lifted");
    members(&f.officer).await.expect("no longer required");
    members(&f.manager).await.expect("no longer required");
    assert!(
        r.mfa_requirements(&f.manager)
            .await
            .expect("requirements")
            .is_empty()
    );
}
