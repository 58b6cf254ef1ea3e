use super::*;

use crate::ManualClock;
use crate::ids::InvitationId;
use crate::mail::{EmailKind, OutgoingEmail};
use crate::tenancy::invitations::{INVITATION_LIFETIME, Invitation, InvitationStatus};

/// The emails queued so far to `to` of `kind`, oldest first.
pub(super) async fn emails_to(r: &Regentra, to: &str, kind: EmailKind) -> Vec<OutgoingEmail> {
    store::find_all::<OutgoingEmail>(r.store(), Scope::Platform, "state", "pending")
        .await
        .expect("emails")
        .into_iter()
        .map(|e| e.value)
        .filter(|e| e.to == to && e.kind == kind)
        .collect()
}

/// The token of the link in the last email queued to `to` of `kind`.
pub(super) async fn last_link_token(r: &Regentra, to: &str, kind: EmailKind) -> String {
    let emails = emails_to(r, to, kind).await;
    let email = emails.last().unwrap_or_else(|| panic!("an email to {to}"));
    let link = email.content["link"].as_str().expect("a link");
    link.split_once("token=")
        .expect("the token in the link's query")
        .1
        .to_owned()
}

/// The fixture's platform with a clock the case moves.
fn with_clock(f: &MspFixture) -> (Regentra, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at(0)));
    (f.regentra.clone().with_clock(clock.clone()), clock)
}

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

async fn invitations(r: &Regentra, admin: &Principal, org: OrgId) -> Vec<Invitation> {
    r.list_invitations(admin, org, PageRequest::first(100))
        .await
        .expect("invitations")
}

fn status_of(list: &[Invitation], id: InvitationId, now: DateTime<Utc>) -> InvitationStatus {
    list.iter()
        .find(|i| i.id == id)
        .expect("listed")
        .status(now)
}

/// The whole life of an invitation to a new person: invited (the email
/// queued in the same commit, audited in the org's chain), previewed by
/// the link's holder, accepted with a name and a password (the account is
/// the owner's and can log in), and never usable again.
pub async fn an_invitation_is_accepted_with_a_new_account_and_works_once(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, _) = with_clock(&f);
    let c1 = f.clients[0];
    let before = store::audit_chain(r.store(), c1)
        .await
        .expect("audit")
        .len();
    let invitation = r
        .invite(
            &f.admin,
            c1,
            " New.Person@Acme.test ",
            Role::ComplianceOfficer,
        )
        .await
        .expect("invited");
    assert_eq!(invitation.email, "new.person@acme.test");
    assert_eq!(invitation.status(r.now()), InvitationStatus::Pending);
    assert_eq!(invitation.expires_at, at(0) + INVITATION_LIFETIME);
    let stored = r
        .store()
        .get(Scope::Platform, "invitation", invitation.id.0)
        .await
        .expect("get")
        .expect("stored");

    // One email, with everything the template needs, and the org named.
    let emails = emails_to(&r, "new.person@acme.test", EmailKind::Invitation).await;
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(email.org, Some(c1));
    assert_eq!(
        email.recipient, None,
        "no account is named on an invitation"
    );
    assert_eq!(email.created_at, invitation.created_at);
    assert_eq!(email.content["org_name"], "Acme Dental (Northwind IT)");
    assert_eq!(email.content["inviter_name"], "MSP Admin");
    assert_eq!(email.content["role"], "compliance_officer");
    assert_eq!(email.content["expires_at"], json!(invitation.expires_at));
    let token = last_link_token(&r, "new.person@acme.test", EmailKind::Invitation).await;
    assert!(token.starts_with("rgi_"), "{token}");
    assert!(
        !stored.body.to_string().contains(&token[4..]),
        "only the token's hash is stored"
    );
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let created = &chain[before];
    assert_eq!(created.action, "invitation.created");
    assert_eq!(created.actor.user, Some(f.admin.user));
    assert_eq!(created.details["email"], "new.person@acme.test");

    // The link's holder learns what the page needs.
    let preview = r.invitation_preview(&token).await.expect("preview");
    assert_eq!(preview.org, c1);
    assert_eq!(preview.org_name, "Acme Dental (Northwind IT)");
    assert_eq!(preview.role, Role::ComplianceOfficer);
    assert_eq!(preview.email, "new.person@acme.test");
    assert!(!preview.has_account);

    // Bad input writes nothing and leaves the link usable.
    let hash = r
        .hash_password_for(
            "violet kettle marches sideways",
            &["new.person@acme.test", "New Person"],
        )
        .expect("hash");
    expect_invalid(
        r.accept_invitation_with_new_account(&token, "  ", hash.clone(), Default::default())
            .await,
        "name",
    );
    expect_invalid(
        r.accept_invitation_with_new_account(
            &token,
            "New Person",
            "plain text".into(),
            Default::default(),
        )
        .await,
        "password",
    );
    let accepted = r
        .accept_invitation_with_new_account(&token, "New Person", hash.clone(), Default::default())
        .await
        .expect("accepted");
    assert_eq!(accepted.user.email, "new.person@acme.test");
    assert_eq!(accepted.user.display_name, "New Person");
    assert_eq!(accepted.membership.role, Role::ComplianceOfficer);
    assert!(!accepted.credential_removed);
    let person = Principal::new(accepted.user.id);
    let grant = r
        .authorize(&person, c1, Permission::ControlsUpdate)
        .await
        .expect("a member now");
    assert_eq!(grant.via, Via::Membership);
    let (_, phc) = r
        .login_material("new.person@acme.test")
        .await
        .expect("lookup")
        .expect("a password");
    assert!(crate::auth::verify_password(
        "violet kettle marches sideways",
        &phc
    ));
    let credential =
        store::require::<crate::auth::Credential>(r.store(), Scope::Platform, accepted.user.id.0)
            .await
            .expect("credential");
    assert_eq!(credential.value.set_by, crate::auth::SetBy::Owner);
    let actions: Vec<String> = store::audit_chain(r.store(), c1).await.expect("audit")[before..]
        .iter()
        .map(|e| e.action.clone())
        .collect();
    assert_eq!(
        actions,
        [
            "invitation.created",
            "user.created",
            "invitation.accepted",
            "membership.added"
        ]
    );

    // Used once: the link is refused from now on, saying so.
    refused_token(r.invitation_preview(&token).await, "already been used");
    refused_token(
        r.accept_invitation_with_new_account(&token, "Again", hash, Default::default())
            .await,
        "already been used",
    );
    refused_token(
        r.accept_invitation(&person, &token).await,
        "already been used",
    );
    let list = invitations(&r, &f.admin, c1).await;
    assert_eq!(
        status_of(&list, invitation.id, r.now()),
        InvitationStatus::Accepted
    );
    assert_eq!(list[0].accepted_by, Some(accepted.user.id));
    // A link that was never issued, or of another kind, is not an invitation.
    for bogus in [
        "rgi_0000000000000000000000000000000000000000000000000000000000000000",
        "rgt_0000000000000000000000000000000000000000000000000000000000000000",
        "",
    ] {
        refused_token(r.invitation_preview(bogus).await, "not a valid invitation");
    }
}

/// Consent: an email that has an account joins only when its owner, signed
/// in as it, accepts. An admin adding that email as a member invites it
/// instead (the answer is a new email's); someone signed in with another
/// account cannot accept it; a password another tenant's admin chose goes
/// when the owner joins.
pub async fn an_existing_account_joins_only_when_its_owner_accepts_signed_in(
    store: Arc<dyn Store>,
) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, _) = with_clock(&f);
    let [c1, c2] = f.clients;
    // The account was made by c2's admin (the MSP admin), with a password.
    let chosen = r.hash_password("attacker chosen secret").expect("hash");
    r.add_member_with_password(
        &f.admin,
        c2,
        "owner@acme.test",
        "Owner",
        Role::Employee,
        Some(chosen),
    )
    .await
    .expect("added");
    let owner = Principal::new(
        r.account_by_email("owner@acme.test")
            .await
            .expect("lookup")
            .expect("an account")
            .id,
    );
    let (_, owners_token) = r.issue_token(&owner, "login").await.expect("token");
    // c1's own admin (added by the operator) adds that email as a member.
    let c1_admin = Principal::new(
        r.add_member(&f.operator, c1, "boss@acme.test", "Boss", Role::OrgAdmin)
            .await
            .expect("added")
            .membership()
            .expect("the operator sees it")
            .user,
    );
    let before = emails_to(&r, "owner@acme.test", EmailKind::Invitation)
        .await
        .len();
    let answer = r
        .add_member(&c1_admin, c1, "owner@acme.test", "Owner", Role::Viewer)
        .await
        .expect("accepted like a new email");
    assert_eq!(
        answer,
        crate::tenancy::MemberAdded::Accepted {
            email: "owner@acme.test".into(),
            role: Role::Viewer
        }
    );
    expect_not_found(
        r.authorize(&owner, c1, Permission::OrgRead).await,
        "not a member before accepting",
    );
    assert_eq!(
        emails_to(&r, "owner@acme.test", EmailKind::Invitation)
            .await
            .len(),
        before + 1,
        "invited instead"
    );
    let token = last_link_token(&r, "owner@acme.test", EmailKind::Invitation).await;
    let preview = r.invitation_preview(&token).await.expect("preview");
    assert!(preview.has_account, "the page asks them to sign in");
    assert_eq!(preview.role, Role::Viewer);

    // Without signing in, no account is made for an email that has one.
    let hash = r
        .hash_password("violet kettle marches sideways")
        .expect("hash");
    refused_token(
        r.accept_invitation_with_new_account(&token, "Impostor", hash, Default::default())
            .await,
        "already has an account",
    );
    // Someone else, signed in, cannot take it.
    refused_token(
        r.accept_invitation(&c1_admin, &token).await,
        "another email address",
    );
    refused_token(
        r.accept_invitation(&f.admin, &token).await,
        "another email address",
    );
    expect_not_found(
        r.authorize(&owner, c1, Permission::OrgRead).await,
        "still not a member",
    );

    // The owner accepts, signed in: a member now. The password c2's admin
    // chose may be known outside c1, so it goes, with the tokens.
    let accepted = r.accept_invitation(&owner, &token).await.expect("accepted");
    assert_eq!(accepted.membership.role, Role::Viewer);
    assert_eq!(accepted.membership.user, owner.user);
    assert!(accepted.credential_removed);
    r.authorize(&owner, c1, Permission::OrgRead)
        .await
        .expect("a member");
    assert_eq!(
        r.login_material("owner@acme.test").await.expect("lookup"),
        None,
        "the other tenant's admin's password is gone"
    );
    assert!(matches!(
        r.authenticate(&owners_token).await,
        Err(Error::Unauthenticated)
    ));
    refused_token(
        r.accept_invitation(&owner, &token).await,
        "already been used",
    );
    // Already a member: inviting again is refused naming the email.
    match r
        .invite(&c1_admin, c1, "owner@acme.test", Role::Viewer)
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "email"),
        other => panic!("expected AlreadyExists naming email, got {other:?}"),
    }
    // An account whose password is the owner's keeps it when joining.
    r.set_password(&owner, "the real owner's passphrase")
        .await
        .expect("set");
    r.invite(&f.admin, c2, "boss@acme.test", Role::Viewer)
        .await
        .expect("invited");
    let boss_token = last_link_token(&r, "boss@acme.test", EmailKind::Invitation).await;
    r.set_password(&c1_admin, "granite owl whispers at dusk")
        .await
        .expect("set");
    let accepted = r
        .accept_invitation(&c1_admin, &boss_token)
        .await
        .expect("accepted");
    assert!(!accepted.credential_removed);
    assert!(
        r.login_material("boss@acme.test")
            .await
            .expect("lookup")
            .is_some()
    );
}

/// Tenant first: another org's invitation is not found, an admin reaches
/// only the orgs they administer (an MSP admin its clients; a client admin
/// neither the MSP nor a sibling), roles fit the org's kind, and a refused
/// invitation writes nothing (no record, no email).
pub async fn invitations_stay_in_their_org(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, _) = with_clock(&f);
    let [c1, c2] = f.clients;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let client_admin = member(&f, c1, "boss@acme.test", Role::OrgAdmin).await;
    let employee = member(&f, c1, "staff@acme.test", Role::Employee).await;

    // The MSP admin invites into its own org and its managed clients.
    r.invite(&f.admin, f.msp, "tech@northwind.test", Role::Technician)
        .await
        .expect("into the MSP");
    let into_c2 = r
        .invite(&f.admin, c2, "auditor@bolt.test", Role::Viewer)
        .await
        .expect("into a managed client");
    // A client admin invites into their own client only.
    let into_c1 = r
        .invite(&client_admin, c1, "new@acme.test", Role::Viewer)
        .await
        .expect("into their own client");
    expect_not_found(
        r.invite(&client_admin, f.msp, "x@acme.test", Role::MspAdmin)
            .await,
        "a client admin inviting into the MSP",
    );
    expect_not_found(
        r.invite(&client_admin, c2, "x@acme.test", Role::Viewer)
            .await,
        "a client admin inviting into a sibling client",
    );
    expect_not_found(
        r.invite(&other.admin, c1, "x@acme.test", Role::Viewer)
            .await,
        "another MSP's admin",
    );
    expect_denied(
        r.invite(&employee, c1, "x@acme.test", Role::Viewer).await,
        "an employee inviting",
    );
    // Roles fit the org's kind; the email must be one.
    expect_invalid(
        r.invite(&f.admin, c1, "x@acme.test", Role::MspAdmin).await,
        "role",
    );
    expect_invalid(
        r.invite(&f.admin, c1, "x@acme.test", Role::SuperAdmin)
            .await,
        "role",
    );
    expect_invalid(
        r.invite(&f.admin, c1, "not an email", Role::Viewer).await,
        "email",
    );
    assert!(
        emails_to(&r, "x@acme.test", EmailKind::Invitation)
            .await
            .is_empty(),
        "a refused invitation queues no email"
    );

    // Another org's invitation is not found through this org, nor listed.
    expect_not_found(
        r.resend_invitation(&client_admin, c1, into_c2.id).await,
        "resending c2's invitation through c1",
    );
    expect_not_found(
        r.revoke_invitation(&client_admin, c1, into_c2.id).await,
        "revoking c2's invitation through c1",
    );
    expect_not_found(
        r.revoke_invitation(&f.admin, c1, into_c2.id).await,
        "c2's invitation named under c1, even by the MSP admin",
    );
    expect_not_found(
        r.list_invitations(&other.admin, c1, PageRequest::first(10))
            .await,
        "another MSP listing",
    );
    expect_denied(
        r.list_invitations(&employee, c1, PageRequest::first(10))
            .await,
        "an employee listing",
    );
    let listed: Vec<_> = invitations(&r, &client_admin, c1)
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, [into_c1.id]);
    // The MSP admin's invitation into the client is in the client's chain
    // (delegated) and nothing of it in another org's.
    let chain = store::audit_chain(r.store(), c2).await.expect("audit");
    let event = chain
        .iter()
        .find(|e| e.action == "invitation.created")
        .expect("in the client's chain");
    assert_eq!(event.actor.via, Some(Via::MspDelegation { msp: f.msp }));
    assert!(
        !actions(&f, c1)
            .await
            .iter()
            .any(|a| a == "invitation.revoked"),
        "the refused revocations wrote nothing"
    );
}

/// Expired, revoked and resent invitations: each refused link says which;
/// a resend makes a new link and kills the old one; inviting the same email
/// again replaces the pending invitation; the list shows every state.
pub async fn expired_revoked_and_replaced_links_are_refused(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let (r, clock) = with_clock(&f);
    let c1 = f.clients[0];
    let first = r
        .invite(&f.admin, c1, "late@acme.test", Role::Viewer)
        .await
        .expect("invited");
    let old_token = last_link_token(&r, "late@acme.test", EmailKind::Invitation).await;

    // Seven days later the link has expired, and says so.
    clock.advance(INVITATION_LIFETIME);
    refused_token(r.invitation_preview(&old_token).await, "expired");
    let hash = r
        .hash_password("violet kettle marches sideways")
        .expect("hash");
    refused_token(
        r.accept_invitation_with_new_account(&old_token, "Late", hash.clone(), Default::default())
            .await,
        "expired",
    );
    assert_eq!(
        status_of(&invitations(&r, &f.admin, c1).await, first.id, r.now()),
        InvitationStatus::Expired
    );

    // Resent: a new email and link with a new expiry; the old link is dead.
    let resent = r
        .resend_invitation(&f.admin, c1, first.id)
        .await
        .expect("resent");
    assert_eq!(resent.id, first.id);
    assert_eq!(resent.expires_at, r.now() + INVITATION_LIFETIME);
    assert_eq!(resent.status(r.now()), InvitationStatus::Pending);
    assert_eq!(
        emails_to(&r, "late@acme.test", EmailKind::Invitation)
            .await
            .len(),
        2
    );
    let new_token = last_link_token(&r, "late@acme.test", EmailKind::Invitation).await;
    assert_ne!(new_token, old_token);
    refused_token(
        r.invitation_preview(&old_token).await,
        "not a valid invitation",
    );
    r.invitation_preview(&new_token)
        .await
        .expect("the new link works");

    // Revoked: the link says so; revoking again changes nothing; a revoked
    // invitation cannot be resent.
    let revoked = r
        .revoke_invitation(&f.admin, c1, first.id)
        .await
        .expect("revoked");
    assert_eq!(revoked.status(r.now()), InvitationStatus::Revoked);
    refused_token(r.invitation_preview(&new_token).await, "revoked");
    refused_token(
        r.accept_invitation_with_new_account(&new_token, "Late", hash.clone(), Default::default())
            .await,
        "revoked",
    );
    let events = actions(&f, c1).await.len();
    r.revoke_invitation(&f.admin, c1, first.id)
        .await
        .expect("idempotent");
    assert_eq!(actions(&f, c1).await.len(), events, "nothing written");
    expect_invalid(
        r.resend_invitation(&f.admin, c1, first.id).await,
        "invitation",
    );

    // Inviting an email with a pending invitation replaces it.
    let second = r
        .invite(&f.admin, c1, "twice@acme.test", Role::Viewer)
        .await
        .expect("invited");
    let second_token = last_link_token(&r, "twice@acme.test", EmailKind::Invitation).await;
    let third = r
        .invite(&f.admin, c1, "twice@acme.test", Role::ComplianceOfficer)
        .await
        .expect("invited again");
    let third_token = last_link_token(&r, "twice@acme.test", EmailKind::Invitation).await;
    refused_token(r.invitation_preview(&second_token).await, "revoked");
    let accepted = r
        .accept_invitation_with_new_account(&third_token, "Twice", hash, Default::default())
        .await
        .expect("the newest link works");
    assert_eq!(accepted.membership.role, Role::ComplianceOfficer);
    expect_invalid(
        r.revoke_invitation(&f.admin, c1, third.id).await,
        "invitation",
    );
    expect_invalid(
        r.resend_invitation(&f.admin, c1, third.id).await,
        "invitation",
    );

    // The list shows every state, in the order they were made, and pages.
    let now = r.now();
    let list = invitations(&r, &f.admin, c1).await;
    let states: Vec<_> = list.iter().map(|i| i.status(now)).collect();
    assert_eq!(
        states,
        [
            InvitationStatus::Revoked,
            InvitationStatus::Revoked,
            InvitationStatus::Accepted
        ]
    );
    assert_eq!(list[1].id, second.id);
    let page = r
        .list_invitations(&f.admin, c1, PageRequest::after(Some(list[0].id.0), 1))
        .await
        .expect("a page");
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), [second.id]);
}

/// One link, accepted twice at once (a double click, two tabs): one
/// account, one membership; the other acceptance is refused. The same for
/// a password reset link confirmed twice at once.
pub async fn a_link_used_twice_at_once_works_once(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let c1 = f.clients[0];
    r.invite(&f.admin, c1, "racer@acme.test", Role::Viewer)
        .await
        .expect("invited");
    let token = last_link_token(r, "racer@acme.test", EmailKind::Invitation).await;
    let hash = r
        .hash_password("violet kettle marches sideways")
        .expect("hash");
    let attempts = join_all((0..4).map(|i| {
        let (r, token, hash) = (r.clone(), token.clone(), hash.clone());
        async move {
            r.accept_invitation_with_new_account(
                &token,
                &format!("Racer {i}"),
                hash,
                Default::default(),
            )
            .await
        }
    }))
    .await;
    let won = attempts.iter().filter(|a| a.is_ok()).count();
    assert_eq!(won, 1, "{attempts:?}");
    for lost in attempts.iter().filter_map(|a| a.as_ref().err()) {
        assert!(
            matches!(lost, Error::Conflict { .. } | Error::Validation(_)),
            "a clear refusal: {lost:?}"
        );
    }
    let members: Vec<_> = r
        .list_members(&f.admin, c1, PageRequest::first(100))
        .await
        .expect("members")
        .into_iter()
        .filter(|m| m.role == Role::Viewer)
        .collect();
    assert_eq!(members.len(), 1, "one membership");

    // A reset link confirmed twice at once sets one password.
    r.request_password_reset("racer@acme.test", None, Default::default())
        .await
        .expect("requested");
    let reset = last_link_token(r, "racer@acme.test", EmailKind::PasswordReset).await;
    let hashes: Vec<String> = [
        "granite owl whispers at dusk",
        "quiet orbit of a paper moon",
    ]
    .iter()
    .map(|p| r.hash_password(p).expect("hash"))
    .collect();
    let confirms = join_all(hashes.into_iter().map(|hash| {
        let (r, reset) = (r.clone(), reset.clone());
        async move {
            r.confirm_password_reset(&reset, hash, Default::default())
                .await
        }
    }))
    .await;
    assert_eq!(
        confirms.iter().filter(|c| c.is_ok()).count(),
        1,
        "{confirms:?}"
    );
}
