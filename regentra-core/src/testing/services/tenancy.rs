use super::*;

pub async fn msp_creates_and_lists_its_clients(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let clients = f
        .regentra
        .list_clients(&f.admin, f.msp, PageRequest::first(10))
        .await
        .expect("MSP admin lists clients");
    assert_eq!(
        clients.iter().map(|c| c.id).collect::<Vec<_>>(),
        f.clients.to_vec()
    );
    assert!(
        clients
            .iter()
            .all(|c| c.kind == OrgKind::Client && c.parent == Some(f.msp))
    );
    assert_eq!(clients[0].name, "Acme Dental (Northwind IT)");
    let page = f
        .regentra
        .list_clients(
            &f.admin,
            f.msp,
            PageRequest::after(Some(f.clients[0].0), 10),
        )
        .await
        .expect("second page");
    assert_eq!(
        page.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![f.clients[1]]
    );
    let msp_actions = actions(&f, f.msp).await;
    assert_eq!(
        msp_actions
            .iter()
            .filter(|a| *a == "client.created")
            .count(),
        2
    );
    assert!(
        actions(&f, f.clients[0])
            .await
            .contains(&"organization.created".to_owned())
    );
    // Clients are created by an MSP, never directly and never under a non-MSP.
    expect_invalid(
        f.regentra
            .create_organization(&f.operator, "Loose client", OrgKind::Client)
            .await,
        "kind",
    );
    let standalone = f
        .regentra
        .create_organization(&f.operator, "Solo Clinic", OrgKind::Standalone)
        .await
        .expect("operator creates a standalone org");
    expect_invalid(
        f.regentra
            .create_client(&f.operator, standalone.id, "Nested")
            .await,
        "msp",
    );
    expect_invalid(
        f.regentra.create_client(&f.admin, f.msp, "   ").await,
        "name",
    );
    // Only platform operators create top-level orgs.
    expect_denied(
        f.regentra
            .create_organization(&f.admin, "Rogue MSP", OrgKind::Msp)
            .await,
        "MSP admin creating an MSP",
    );
}

pub async fn emails_are_unique_on_the_platform(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let first = f
        .regentra
        .add_member(
            &f.admin,
            f.msp,
            "  Bob@Example.COM ",
            "Bob",
            Role::Technician,
        )
        .await
        .expect("adds Bob");
    assert_eq!(first.email(), "bob@example.com", "normalized");
    let first = account(&f.regentra, "bob@example.com")
        .await
        .expect("Bob's account");
    // The operator attaches the existing account (a tenant admin cannot:
    // see `adding_an_existing_email_reveals_nothing_and_attaches_nothing`).
    let again = f
        .regentra
        .add_member(
            &f.operator,
            f.clients[0],
            "bob@example.com",
            "Robert",
            Role::Viewer,
        )
        .await
        .expect("adds the same person to a client");
    assert_eq!(
        first,
        again.membership().expect("shown to the operator").user,
        "one account per email, whatever its case"
    );
    match f
        .regentra
        .add_member(&f.admin, f.msp, "BOB@example.com", "Bob", Role::Viewer)
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "user"),
        other => panic!("a second membership in one org must be AlreadyExists, got {other:?}"),
    }
    expect_invalid(
        f.regentra
            .add_member(&f.admin, f.msp, "not-an-email", "X", Role::Viewer)
            .await,
        "email",
    );
    expect_invalid(
        f.regentra
            .add_member(&f.admin, f.clients[0], "x@example.com", "X", Role::MspAdmin)
            .await,
        "role",
    );
    expect_invalid(
        f.regentra
            .add_member(&f.admin, f.msp, "y@example.com", "Y", Role::SuperAdmin)
            .await,
        "role",
    );
    let members = f
        .regentra
        .list_members(&f.admin, f.msp, PageRequest::first(50))
        .await
        .expect("lists members");
    assert_eq!(
        members.iter().filter(|m| m.user == first).count(),
        1,
        "the failed additions wrote nothing"
    );
}

pub async fn staff_assignment_gives_per_client_roles(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    let [c1, c2] = f.clients;
    let r = &f.regentra;
    let a = r
        .assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
        .expect("assigns Tom to client 1");
    assert_eq!(
        (a.org, a.role, a.assigned_by),
        (c1, Role::Technician, Some(f.msp))
    );
    r.assign_staff(&f.admin, f.msp, c2, tom.user, Role::ComplianceOfficer)
        .await
        .expect("assigns Tom to client 2 with another role");

    let grant = r
        .authorize(&tom, c1, Permission::TicketsManage)
        .await
        .expect("technician in client 1");
    assert_eq!(
        (grant.role, grant.via, grant.access),
        (Role::Technician, Via::Membership, Access::All)
    );
    expect_denied(
        r.authorize(&tom, c1, Permission::ControlsUpdate).await,
        "technician updating controls",
    );
    let grant = r
        .authorize(&tom, c2, Permission::ControlsUpdate)
        .await
        .expect("officer in client 2");
    assert_eq!(grant.role, Role::ComplianceOfficer);
    expect_denied(
        r.authorize(&tom, c2, Permission::TicketsManage).await,
        "officer managing tickets",
    );

    expect_invalid(
        r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::OrgAdmin)
            .await,
        "role",
    );
    match r
        .assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("assigning twice must be AlreadyExists, got {other:?}"),
    }
    let outsider = member(&f, c1, "client.staff@acme.test", Role::Employee).await;
    expect_invalid(
        r.assign_staff(&f.admin, f.msp, c2, outsider.user, Role::Technician)
            .await,
        "user_id",
    );
    // Only the MSP's admins assign staff.
    expect_denied(
        r.assign_staff(&tom, f.msp, c1, tom.user, Role::ComplianceOfficer)
            .await,
        "technician assigning staff",
    );
    assert!(actions(&f, c2).await.contains(&"staff.assigned".to_owned()));
    assert!(
        actions(&f, f.msp)
            .await
            .contains(&"staff.assigned".to_owned())
    );
}

pub async fn msp_admin_reaches_only_its_own_clients(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let other = msp_in(f.regentra.clone(), f.operator.clone(), "Southwind IT").await;
    let r = &f.regentra;
    let theirs = other.clients[0];

    let grant = r
        .authorize(&f.admin, f.clients[0], Permission::OrgManage)
        .await
        .expect("MSP admin manages its own client");
    assert_eq!(grant.role, Role::OrgAdmin, "acts as the client's org admin");
    assert_eq!(grant.via, Via::MspDelegation { msp: f.msp });
    expect_denied(
        r.authorize(&f.admin, f.clients[0], Permission::TenantsManage)
            .await,
        "a client cannot have clients",
    );

    expect_not_found(
        r.authorize(&f.admin, theirs, Permission::OrgRead).await,
        "another MSP's client",
    );
    expect_not_found(
        r.get_organization(&f.admin, theirs).await,
        "reading another MSP's client",
    );
    expect_not_found(
        r.list_members(&f.admin, theirs, PageRequest::first(10))
            .await,
        "members of another MSP's client",
    );
    expect_not_found(
        r.list_clients(&f.admin, other.msp, PageRequest::first(10))
            .await,
        "another MSP's client list",
    );
    expect_not_found(
        r.create_client(&f.admin, other.msp, "Planted").await,
        "creating under another MSP",
    );
    expect_not_found(
        r.assign_staff(&f.admin, f.msp, theirs, f.admin.user, Role::Technician)
            .await,
        "assigning into another MSP's client",
    );
    expect_not_found(
        r.rename_organization(&f.admin, theirs, "Hijacked").await,
        "renaming another MSP's client",
    );
    // A missing org reads exactly like a foreign one.
    expect_not_found(
        r.authorize(&f.admin, OrgId(Uuid::now_v7()), Permission::OrgRead)
            .await,
        "a missing org",
    );
    let untouched = r
        .get_organization(&other.admin, theirs)
        .await
        .expect("their admin still reads it");
    assert_eq!(untouched.name, "Acme Dental (Southwind IT)");
}

pub async fn unassigning_staff_removes_only_msp_assignments(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, _] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
        .expect("assign");
    r.authorize(&tom, c1, Permission::TicketsRead)
        .await
        .expect("Tom works in client 1");
    r.unassign_staff(&f.admin, f.msp, c1, tom.user)
        .await
        .expect("unassign");
    expect_not_found(
        r.authorize(&tom, c1, Permission::TicketsRead).await,
        "Tom after unassignment",
    );
    r.authorize(&tom, f.msp, Permission::TicketsRead)
        .await
        .expect("Tom keeps his MSP role");
    expect_not_found(
        r.unassign_staff(&f.admin, f.msp, c1, tom.user).await,
        "unassigning twice",
    );

    // A membership the client granted itself is not an MSP assignment.
    let auditor = member(&f, c1, "auditor@acme.test", Role::Viewer).await;
    expect_not_found(
        r.unassign_staff(&f.admin, f.msp, c1, auditor.user).await,
        "unassigning a client's own member",
    );
    r.authorize(&auditor, c1, Permission::OrgRead)
        .await
        .expect("auditor keeps access");
    assert!(
        actions(&f, c1)
            .await
            .contains(&"staff.unassigned".to_owned())
    );
}

pub async fn delegated_access_is_recorded_in_the_client_chain(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, _] = f.clients;
    let viewer = member(&f, c1, "exec@acme.test", Role::Viewer).await;
    let before = store::audit_chain(r.store(), c1)
        .await
        .expect("audit")
        .len();

    r.list_members(&viewer, c1, PageRequest::first(10))
        .await
        .expect("member reads");
    let after_member_read = store::audit_chain(r.store(), c1).await.expect("audit");
    assert_eq!(
        after_member_read.len(),
        before,
        "a member's own read is not an access event"
    );

    // Read twice each: one event per person, org and permission per
    // window (`delegated_reads_are_recorded_once_per_window` has the rest).
    for _ in 0..2 {
        r.list_members(&f.admin, c1, PageRequest::first(10))
            .await
            .expect("MSP admin reads");
        r.get_organization(&f.operator, c1)
            .await
            .expect("operator reads");
    }
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let access: Vec<_> = chain
        .iter()
        .filter(|e| e.action == "access.delegated")
        .collect();
    assert_eq!(access.len(), 2, "both delegated readers are recorded, once");
    assert_eq!(access[0].actor.user, Some(f.admin.user));
    assert_eq!(access[0].actor.via, Some(Via::MspDelegation { msp: f.msp }));
    assert_eq!(
        access[0].details,
        json!({ "permission": "org.read", "window_minutes": 5 })
    );
    assert_eq!(access[1].actor.user, Some(f.operator.user));
    assert_eq!(access[1].actor.via, Some(Via::Platform));

    // A delegated write carries the delegation on its own event.
    r.rename_organization(&f.admin, c1, "Acme Dental Group")
        .await
        .expect("rename");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let rename = chain.last().expect("an event");
    assert_eq!(rename.action, "organization.renamed");
    assert_eq!(rename.actor.via, Some(Via::MspDelegation { msp: f.msp }));
    assert_eq!(
        rename.details,
        json!({ "from": "Acme Dental (Northwind IT)", "to": "Acme Dental Group" })
    );
    let report = r
        .verify_audit_chain(&viewer, c1, ChainVerification::Full)
        .await
        .expect("viewer verifies");
    assert_eq!(report.first_break, None);
    assert_eq!(report.events as usize, chain.len());
}

pub async fn tenant_switching_lists_every_reachable_org(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
        .expect("assign");
    r.assign_staff(&f.admin, f.msp, c2, tom.user, Role::ComplianceOfficer)
        .await
        .expect("assign");

    let roles_of = |access: Vec<crate::tenancy::OrgAccess>| -> Vec<(OrgId, Vec<RoleGrant>)> {
        access.into_iter().map(|a| (a.org.id, a.roles)).collect()
    };
    let grant = |role, via| RoleGrant { role, via };
    let toms = roles_of(r.my_organizations(&tom).await.expect("Tom's orgs"));
    assert_eq!(
        toms,
        vec![
            (f.msp, vec![grant(Role::Technician, Via::Membership)]),
            (c1, vec![grant(Role::Technician, Via::Membership)]),
            (c2, vec![grant(Role::ComplianceOfficer, Via::Membership)]),
        ]
    );
    let delegation = Via::MspDelegation { msp: f.msp };
    let admins = roles_of(r.my_organizations(&f.admin).await.expect("admin's orgs"));
    assert_eq!(
        admins,
        vec![
            (f.msp, vec![grant(Role::MspAdmin, Via::Membership)]),
            (c1, vec![grant(Role::OrgAdmin, delegation)]),
            (c2, vec![grant(Role::OrgAdmin, delegation)]),
        ]
    );
    let other = r
        .create_organization(&f.operator, "Solo Clinic", OrgKind::Standalone)
        .await
        .expect("standalone");
    let loner = r
        .add_member(
            &f.operator,
            other.id,
            "owner@solo.test",
            "Owner",
            Role::OrgAdmin,
        )
        .await
        .expect("owner");
    let loner = loner.membership().expect("shown to the operator");
    let lone = roles_of(
        r.my_organizations(&Principal::new(loner.user))
            .await
            .expect("owner's orgs"),
    );
    assert_eq!(
        lone,
        vec![(other.id, vec![grant(Role::OrgAdmin, Via::Membership)])]
    );
    let orgs: BTreeSet<OrgId> = r
        .list_organizations(&f.operator, PageRequest::first(50))
        .await
        .expect("operator lists all")
        .into_iter()
        .map(|o: Organization| o.id)
        .collect();
    assert_eq!(orgs, BTreeSet::from([f.msp, c1, c2, other.id]));
    expect_denied(
        r.list_organizations(&tom, PageRequest::first(50)).await,
        "non-operator listing all orgs",
    );
}

pub async fn denied_operations_change_nothing(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let viewer = member(&f, c1, "exec@acme.test", Role::Viewer).await;
    let employee = member(&f, c1, "clerk@acme.test", Role::Employee).await;
    let snapshot = |org: OrgId| async move {
        let chain = store::audit_chain(r.store(), org).await.expect("audit");
        let org_record = r
            .store()
            .get(Scope::Platform, "organization", org.0)
            .await
            .expect("get");
        let members = r
            .store()
            .find(
                Scope::Platform,
                "membership",
                "org",
                &org.to_string(),
                PageRequest::first(100),
            )
            .await
            .expect("find");
        (chain, org_record, members)
    };
    let before = (
        snapshot(c1).await,
        snapshot(c2).await,
        snapshot(f.msp).await,
    );

    expect_denied(
        r.rename_organization(&viewer, c1, "Viewer was here").await,
        "viewer renaming",
    );
    expect_denied(
        r.add_member(&viewer, c1, "friend@acme.test", "Friend", Role::OrgAdmin)
            .await,
        "viewer adding an admin",
    );
    expect_denied(
        r.change_member_role(&employee, c1, employee.user, Role::OrgAdmin)
            .await,
        "self-promotion",
    );
    expect_denied(
        r.list_members(&employee, c1, PageRequest::first(10)).await,
        "employee reading members",
    );
    expect_denied(
        r.audit_log(&employee, c1, crate::tenancy::AuditQuery::after(None, 10))
            .await,
        "employee reading audit",
    );
    expect_not_found(
        r.remove_member(&viewer, c2, f.admin.user).await,
        "viewer acting in another client",
    );
    expect_not_found(
        r.rename_organization(&employee, f.msp, "Owned").await,
        "client employee acting in the MSP",
    );

    let after = (
        snapshot(c1).await,
        snapshot(c2).await,
        snapshot(f.msp).await,
    );
    assert!(
        before == after,
        "denied operations wrote nothing, not even an audit event"
    );
}

pub async fn concurrent_service_updates_apply_or_conflict(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    let before = store::audit_chain(r.store(), f.msp)
        .await
        .expect("audit")
        .len();
    let roles = [
        Role::Viewer,
        Role::ComplianceOfficer,
        Role::ComplianceManager,
        Role::Employee,
    ];
    let updates =
        (0..32).map(|n| r.change_member_role(&f.admin, f.msp, tom.user, roles[n % roles.len()]));
    let results = join_all(updates).await;
    let mut applied = Vec::new();
    for result in results {
        match result {
            Ok(m) => applied.push(m.role),
            Err(Error::Conflict { .. }) => {}
            Err(e) => panic!("a concurrent update either applies or conflicts, got {e}"),
        }
    }
    assert!(
        !applied.is_empty(),
        "at least one of the concurrent updates applies"
    );
    let chain = store::audit_chain(r.store(), f.msp).await.expect("audit");
    assert_eq!(audit::verify(f.msp, &chain), Ok(()), "no fork, no gap");
    let changes: Vec<_> = chain[before..]
        .iter()
        .filter(|e| e.action == "membership.role_changed")
        .collect();
    assert_eq!(
        changes.len(),
        applied.len(),
        "every applied update, and only those, is in the chain"
    );
    let stored = r
        .store()
        .find(
            Scope::Platform,
            "membership",
            "org_user",
            &format!("{}/{}", f.msp, tom.user),
            PageRequest::first(1),
        )
        .await
        .expect("find")
        .pop()
        .expect("membership exists");
    assert_eq!(
        stored.version,
        1 + applied.len() as u64,
        "no applied update was lost"
    );
    let last = changes.last().expect("one applied").details["to"].clone();
    assert_eq!(
        stored.json()["role"],
        last,
        "the stored role is the last applied one"
    );
}

/// The account registered under `email`.
async fn account(r: &Regentra, email: &str) -> Option<crate::ids::UserId> {
    store::find_unique::<crate::tenancy::User>(r.store(), Scope::Platform, "email", email)
        .await
        .expect("user lookup")
        .map(|u| u.value.id)
}

/// Issue 14, item 1: an org admin pre-registers an account for an email
/// nobody uses yet, with a password of their choosing (and, signed in as
/// it, sets a "new" one and keeps a token), then leaves it. When another
/// tenant adds that email, the attacker must not end up in that tenant:
/// the tenant admin's addition attaches nothing, and when the platform
/// operator attaches the account, everything the first tenant's admin knew
/// of it (password, tokens) stops working, in the same commit.
pub async fn a_tenant_admin_cannot_pre_register_an_account_for_another_tenant(
    store: Arc<dyn Store>,
) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let victim_org = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let target = victim_org.clients[0];
    let email = "ceo@southwind-client.test";

    // The attacker: Northwind's admin, in one of its own clients.
    let chosen = r.hash_password("attacker chosen secret").expect("hash");
    r.add_member_with_password(
        &f.admin,
        f.clients[0],
        email,
        "Planted",
        Role::Employee,
        Some(chosen),
    )
    .await
    .expect("a new account for a new email");
    let planted = account(r, email).await.expect("the account exists");
    let (_, phc) = r
        .login_material(email)
        .await
        .expect("lookup")
        .expect("a password");
    assert!(crate::auth::verify_password("attacker chosen secret", &phc));
    // Signed in as the account: a token, and a password set "by its owner".
    let as_planted = Principal::new(planted);
    let (_, token) = r.issue_token(&as_planted, "login").await.expect("token");
    r.set_password(&as_planted, "attacker second secret")
        .await
        .expect("set");
    r.remove_member(&f.admin, f.clients[0], planted)
        .await
        .expect("the attacker leaves no trace in its own org");

    // The victim tenant's admin adds that email as their org admin, with a
    // password of their own: accepted, but nothing is attached and the
    // password is not applied.
    let victims = r.hash_password("the victim's password").expect("hash");
    r.add_member_with_password(
        &victim_org.admin,
        target,
        email,
        "Our CEO",
        Role::OrgAdmin,
        Some(victims),
    )
    .await
    .expect("accepted like any new email");
    expect_not_found(
        r.authorize(&as_planted, target, Permission::OrgManage)
            .await,
        "the pre-registered account acting in the victim's client",
    );
    let (_, phc) = r
        .login_material(email)
        .await
        .expect("lookup")
        .expect("still the same password");
    assert!(!crate::auth::verify_password("the victim's password", &phc));
    let platform = actions(&f, crate::audit::PLATFORM_CHAIN).await;
    assert!(
        platform.contains(&"membership.attach_refused".to_owned()),
        "the refused attach is in the platform chain: {platform:?}"
    );

    // The operator attaches the existing account. A password with it is
    // refused (never silently ignored) and writes nothing.
    let operators = r.hash_password("operator chosen secret").expect("hash");
    expect_invalid(
        r.add_member_with_password(
            &f.operator,
            target,
            email,
            "Our CEO",
            Role::OrgAdmin,
            Some(operators),
        )
        .await,
        "password",
    );
    expect_not_found(
        r.authorize(&as_planted, target, Permission::OrgRead).await,
        "after the refused attach",
    );
    r.add_member(&f.operator, target, email, "Our CEO", Role::OrgAdmin)
        .await
        .expect("the operator attaches the existing account");
    assert_eq!(
        r.login_material(email).await.expect("lookup"),
        None,
        "the password the first tenant's admin knew (or set while signed in) is gone"
    );
    match r.authenticate(&token).await {
        Err(Error::Unauthenticated) => {}
        other => panic!("the attacker's token must be revoked, got {other:?}"),
    }
    let platform = actions(&f, crate::audit::PLATFORM_CHAIN).await;
    assert!(
        platform.contains(&"credential.removed".to_owned()),
        "{platform:?}"
    );
    // The owner's own password, set from now on, is theirs and stays.
    r.set_password(&as_planted, "the real owner's passphrase")
        .await
        .expect("the owner sets their own");
    r.add_member(
        &f.operator,
        victim_org.clients[1],
        email,
        "Our CEO",
        Role::Viewer,
    )
    .await
    .expect("attached to one more org");
    let (_, phc) = r
        .login_material(email)
        .await
        .expect("lookup")
        .expect("the owner's password stays");
    assert!(crate::auth::verify_password(
        "the real owner's passphrase",
        &phc
    ));
}

/// Issue 14, item 14: a tenant admin adding an email that already has an
/// account learns nothing about it (the answer is the one a new email gets)
/// and attaches nobody without their consent; the platform chain records
/// the refused attach.
pub async fn adding_an_existing_email_reveals_nothing_and_attaches_nothing(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let theirs = member(&other, other.clients[0], "owner@south.test", Role::OrgAdmin).await;
    let [c1, _] = f.clients;
    let before = store::audit_chain(r.store(), c1).await.expect("audit");

    let existing = r
        .add_member(&f.admin, c1, "owner@south.test", "Owner", Role::Viewer)
        .await
        .expect("accepted");
    let new = r
        .add_member(&f.admin, c1, "fresh@acme.test", "Fresh", Role::Viewer)
        .await
        .expect("accepted");
    assert_eq!(
        format!("{existing:?}").replace("owner@south.test", "EMAIL"),
        format!("{new:?}").replace("fresh@acme.test", "EMAIL"),
        "the same answer for an existing and a new email"
    );
    assert!(
        !format!("{existing:?}").contains(&theirs.user.to_string()),
        "nothing of the existing account"
    );
    expect_not_found(
        r.authorize(&theirs, c1, Permission::OrgRead).await,
        "attached without consent",
    );
    let members: Vec<_> = r
        .list_members(&f.admin, c1, PageRequest::first(50))
        .await
        .expect("members")
        .into_iter()
        .map(|m| m.user)
        .collect();
    assert!(!members.contains(&theirs.user));
    assert!(members.contains(&account(r, "fresh@acme.test").await.expect("created")));
    // The client's chain shows nothing of the existing account either: the
    // owner is invited (the email the admin typed), and no account named.
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let added = &chain[before.len()..];
    assert!(
        added.iter().all(|e| !serde_json::to_string(e)
            .expect("json")
            .contains(&theirs.user.to_string())),
        "the client's chain names nothing of the other tenant's account"
    );
    assert!(
        added
            .iter()
            .any(|e| e.action == "invitation.created" && e.details["email"] == "owner@south.test"),
        "the existing account's owner is invited instead"
    );
    // The operator sees who tried what; tenants cannot read that chain.
    let platform = r
        .platform_audit_log(&f.operator, crate::tenancy::AuditQuery::after(None, 500))
        .await
        .expect("the operator reads the platform chain")
        .items;
    expect_denied(
        r.platform_audit_log(&f.admin, crate::tenancy::AuditQuery::after(None, 500))
            .await,
        "a tenant admin reading the platform chain",
    );
    let refused = platform
        .iter()
        .find(|e| e.action == "membership.attach_refused")
        .expect("recorded in the platform chain");
    assert_eq!(refused.actor.user, Some(f.admin.user));
    assert_eq!(refused.details["org"], json!(c1));
    assert_eq!(refused.details["email"], json!("owner@south.test"));

    // Already a member here: a duplicate, as before (the admin sees their
    // own members). Bad input is refused whether or not the email exists.
    match r
        .add_member(&f.admin, c1, "fresh@acme.test", "Fresh", Role::Viewer)
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "user"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    for email in ["owner@south.test", "nobody@acme.test"] {
        expect_invalid(
            r.add_member(&f.admin, c1, email, "   ", Role::Viewer).await,
            "name",
        );
        expect_invalid(
            r.add_member_with_password(
                &f.admin,
                c1,
                email,
                "X",
                Role::Viewer,
                Some("not a hash".into()),
            )
            .await,
            "password",
        );
    }
    // The operator still attaches existing accounts directly.
    r.add_member(&f.operator, c1, "owner@south.test", "Owner", Role::Viewer)
        .await
        .expect("operator attaches");
    r.authorize(&theirs, c1, Permission::OrgRead)
        .await
        .expect("now a member");
}

/// Issue 14, item 2: removing someone from an MSP, or giving them an MSP
/// role that cannot be assigned to clients, ends every client membership
/// that MSP assigned them, in the same commit; a membership the client gave
/// them itself stays.
pub async fn removed_msp_staff_lose_the_client_access_the_msp_gave_them(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    let dan = member(&f, f.msp, "dan@northwind.test", Role::ComplianceOfficer).await;
    for (user, client, role) in [
        (&tom, c1, Role::Technician),
        (&dan, c1, Role::ComplianceOfficer),
        (&dan, c2, Role::Technician),
    ] {
        r.assign_staff(&f.admin, f.msp, client, user.user, role)
            .await
            .expect("assign");
    }
    // Tom also holds a membership of c2's own (the operator attaches his
    // existing account: no consent flow yet).
    r.add_member(&f.operator, c2, "tom@northwind.test", "Tom", Role::Viewer)
        .await
        .expect("c2's own membership");
    let c1_before = store::audit_chain(r.store(), c1)
        .await
        .expect("audit")
        .len();

    r.remove_member(&f.admin, f.msp, tom.user)
        .await
        .expect("Tom leaves the MSP");
    expect_not_found(
        r.authorize(&tom, c1, Permission::TicketsRead).await,
        "removed staff in the client the MSP assigned them to",
    );
    let kept = r
        .authorize(&tom, c2, Permission::OrgRead)
        .await
        .expect("c2's own membership stays");
    assert_eq!(kept.role, Role::Viewer);
    let c1_chain = store::audit_chain(r.store(), c1).await.expect("audit");
    assert!(
        c1_chain[c1_before..]
            .iter()
            .any(|e| e.action == "staff.unassigned" && e.target.id == tom.user.to_string()),
        "the client's chain records the ended assignment"
    );

    // A role change within the assignable roles keeps the assignments...
    r.change_member_role(&f.admin, f.msp, dan.user, Role::Technician)
        .await
        .expect("officer to technician");
    r.authorize(&dan, c1, Permission::OrgRead)
        .await
        .expect("still assigned to c1");
    // ... and one outside them ends them all.
    r.change_member_role(&f.admin, f.msp, dan.user, Role::Viewer)
        .await
        .expect("technician to viewer");
    for client in [c1, c2] {
        expect_not_found(
            r.authorize(&dan, client, Permission::OrgRead).await,
            "a viewer of the MSP keeps no assignment",
        );
    }
    r.authorize(&dan, f.msp, Permission::OrgRead)
        .await
        .expect("Dan stays in the MSP as a viewer");
    for client in [c1, c2] {
        let members = r
            .list_members(&f.admin, client, PageRequest::first(50))
            .await
            .expect("members");
        assert!(
            members
                .iter()
                .all(|m| m.assigned_by.is_none() || m.user != dan.user && m.user != tom.user),
            "no assignment of Tom or Dan is left in {client}"
        );
    }
}

/// Issue 14, item 13: nobody (the admin themselves, another admin, the
/// operator) can demote or remove an org's last admin: `msp_admin` in an
/// MSP, `org_admin` in a client or standalone org. A client whose MSP has
/// an admin is administered by it, so its own last `org_admin` may go.
pub async fn the_last_admin_cannot_leave_an_org_without_one(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    // The MSP's only msp_admin: not by themselves, not by the operator.
    expect_invalid(
        r.remove_member(&f.admin, f.msp, f.admin.user).await,
        "user_id",
    );
    expect_invalid(
        r.remove_member(&f.operator, f.msp, f.admin.user).await,
        "user_id",
    );
    expect_invalid(
        r.change_member_role(&f.admin, f.msp, f.admin.user, Role::Technician)
            .await,
        "role",
    );
    // An org_admin of the MSP is not its admin in this sense.
    let deputy = member(&f, f.msp, "deputy@northwind.test", Role::OrgAdmin).await;
    expect_invalid(
        r.change_member_role(&deputy, f.msp, f.admin.user, Role::Viewer)
            .await,
        "role",
    );
    r.change_member_role(&f.admin, f.msp, f.admin.user, Role::MspAdmin)
        .await
        .expect("keeping the admin role is no demotion");

    // A standalone org's only org_admin.
    let solo = r
        .create_organization(&f.operator, "Solo Clinic", OrgKind::Standalone)
        .await
        .expect("standalone")
        .id;
    r.add_member(
        &f.operator,
        solo,
        "owner@solo.test",
        "Owner",
        Role::OrgAdmin,
    )
    .await
    .expect("owner");
    let owner = Principal::new(account(r, "owner@solo.test").await.expect("owner"));
    expect_invalid(r.remove_member(&owner, solo, owner.user).await, "user_id");
    expect_invalid(
        r.change_member_role(&owner, solo, owner.user, Role::Viewer)
            .await,
        "role",
    );
    // With a second admin, either may step down, but not both.
    r.add_member(&owner, solo, "second@solo.test", "Second", Role::OrgAdmin)
        .await
        .expect("second admin");
    let second = Principal::new(account(r, "second@solo.test").await.expect("second"));
    let (a, b) = futures::join!(
        r.remove_member(&owner, solo, second.user),
        r.remove_member(&second, solo, owner.user),
    );
    assert!(
        a.is_ok() || b.is_ok(),
        "one of two admins may leave: {a:?} {b:?}"
    );
    let admins = r
        .list_members(&f.operator, solo, PageRequest::first(50))
        .await
        .expect("members")
        .into_iter()
        .filter(|m| m.role == Role::OrgAdmin)
        .count();
    assert_eq!(admins, 1, "the org keeps an admin: {a:?} {b:?}");

    // A client of an MSP with an admin is administered by it: its own last
    // org_admin may leave.
    let [c1, _] = f.clients;
    let client_owner = member(&f, c1, "owner@acme.test", Role::OrgAdmin).await;
    r.change_member_role(&client_owner, c1, client_owner.user, Role::Viewer)
        .await
        .expect("the MSP still administers the client");
    // A client whose MSP has no admin is not.
    let bare = r
        .create_organization(&f.operator, "Bare MSP", OrgKind::Msp)
        .await
        .expect("MSP without admins")
        .id;
    let orphan = r
        .create_client(&f.operator, bare, "Orphan")
        .await
        .expect("client")
        .id;
    r.add_member(
        &f.operator,
        orphan,
        "owner@orphan.test",
        "Owner",
        Role::OrgAdmin,
    )
    .await
    .expect("owner");
    let orphan_owner = account(r, "owner@orphan.test").await.expect("owner");
    expect_invalid(
        r.remove_member(&f.operator, orphan, orphan_owner).await,
        "user_id",
    );
    // Refusals wrote nothing.
    r.authorize(&f.admin, f.msp, Permission::StaffAssign)
        .await
        .expect("the MSP admin is still one");
    r.authorize(
        &Principal::new(orphan_owner),
        orphan,
        Permission::MembersManage,
    )
    .await
    .expect("the orphan's owner is still its admin");
}

/// A store that hands out one audit event edited, as someone with access to
/// the database would leave it (the stored hash kept), and counts the audit
/// events it hands out.
struct TamperedChain {
    inner: Arc<dyn Store>,
    edited: std::sync::Mutex<Option<(OrgId, u64)>>,
    events_read: std::sync::atomic::AtomicU64,
}

impl TamperedChain {
    fn edit(&self, org: OrgId, seq: Option<u64>) {
        *self.edited.lock().expect("lock") = seq.map(|seq| (org, seq));
    }

    fn events_read(&self) -> u64 {
        self.events_read.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Store for TamperedChain {
    async fn get(&self, scope: Scope, kind: &str, id: Uuid) -> crate::Result<Option<StoredRecord>> {
        self.inner.get(scope, kind, id).await
    }
    async fn get_many(
        &self,
        scope: Scope,
        kind: &str,
        ids: &[Uuid],
    ) -> crate::Result<Vec<Option<StoredRecord>>> {
        self.inner.get_many(scope, kind, ids).await
    }
    async fn scan(
        &self,
        scope: Scope,
        kind: &str,
        scan: &store::IndexScan,
    ) -> crate::Result<Vec<store::Scanned>> {
        self.inner.scan(scope, kind, scan).await
    }
    async fn count(&self, scope: Scope, kind: &str, scan: &store::IndexScan) -> crate::Result<u64> {
        self.inner.count(scope, kind, scan).await
    }
    async fn read(&self, reads: Vec<store::Read>) -> crate::Result<Vec<store::ReadResult>> {
        self.inner.read(reads).await
    }
    async fn list(
        &self,
        scope: Scope,
        kind: &str,
        page: PageRequest,
    ) -> crate::Result<Vec<StoredRecord>> {
        self.inner.list(scope, kind, page).await
    }
    async fn find(
        &self,
        scope: Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: PageRequest,
    ) -> crate::Result<Vec<StoredRecord>> {
        self.inner.find(scope, kind, index, value, page).await
    }
    async fn apply(&self, changes: store::ChangeSet) -> crate::Result<store::Applied> {
        self.inner.apply(changes).await
    }
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> crate::Result<Vec<audit::AuditEvent>> {
        let mut events = self.inner.audit_events(org, after, limit).await?;
        self.events_read
            .fetch_add(events.len() as u64, std::sync::atomic::Ordering::SeqCst);
        let edited = *self.edited.lock().expect("lock");
        for event in &mut events {
            if edited == Some((event.org, event.seq)) {
                event.details = json!({ "edited": "after sealing" });
            }
        }
        Ok(events)
    }
    async fn audit_events_about(
        &self,
        org: OrgId,
        targets: &[crate::audit::Target],
        after: Option<u64>,
        limit: usize,
    ) -> crate::Result<Vec<crate::audit::AuditEvent>> {
        self.inner
            .audit_events_about(org, targets, after, limit)
            .await
    }
    async fn put_blob_chunk(
        &self,
        org: OrgId,
        blob: Uuid,
        seq: u32,
        data: Vec<u8>,
    ) -> crate::Result<()> {
        self.inner.put_blob_chunk(org, blob, seq, data).await
    }
    async fn blob_chunk(&self, org: OrgId, blob: Uuid, seq: u32) -> crate::Result<Option<Vec<u8>>> {
        self.inner.blob_chunk(org, blob, seq).await
    }
    async fn delete_blob(&self, org: OrgId, blob: Uuid) -> crate::Result<()> {
        self.inner.delete_blob(org, blob).await
    }
}

pub async fn audit_verification_starts_from_its_checkpoint(store: Arc<dyn Store>) {
    let tampered = Arc::new(TamperedChain {
        inner: store,
        edited: Default::default(),
        events_read: Default::default(),
    });
    let f = msp_fixture(tampered.clone(), "Northwind IT").await;
    let (r, org, admin) = (&f.regentra, f.msp, &f.admin);
    let since = ChainVerification::SinceCheckpoint;
    let rename = |n: u32| async move {
        r.rename_organization(admin, org, &format!("Northwind IT {n}"))
            .await
            .expect("rename");
    };

    // The first verification reads the whole chain and leaves a checkpoint.
    let first = r
        .verify_audit_chain(&f.admin, org, since)
        .await
        .expect("verify");
    assert_eq!(first.first_break, None);
    assert_eq!(first.from_checkpoint, None);
    assert_eq!(first.checked, first.events);
    let n = first.events;
    assert!(n >= 2, "the fixture's org has a chain");

    // The next reads only what was added, and the checkpoint's own event.
    rename(1).await;
    rename(2).await;
    let before = tampered.events_read();
    let second = r
        .verify_audit_chain(&f.admin, org, since)
        .await
        .expect("verify");
    assert_eq!(second.first_break, None);
    assert_eq!(second.from_checkpoint, Some(n));
    assert_eq!(second.events, n + 2);
    assert_eq!(second.checked, 3);
    assert_eq!(
        tampered.events_read() - before,
        3,
        "the store handed out the new events and the checkpoint's, no more"
    );
    let head = second.events;

    // An edit after the checkpoint is found.
    rename(3).await;
    rename(4).await;
    tampered.edit(org, Some(head + 2));
    let report = r
        .verify_audit_chain(&f.admin, org, since)
        .await
        .expect("verify");
    let broken = report
        .first_break
        .expect("an edit after the checkpoint is found");
    assert_eq!(broken.seq, head + 2);
    assert_eq!(broken.problem, audit::BreakKind::Content);

    // So is an edit of the checkpoint's own event.
    tampered.edit(org, Some(head));
    let report = r
        .verify_audit_chain(&f.admin, org, since)
        .await
        .expect("verify");
    assert_eq!(report.first_break.map(|b| b.seq), Some(head));

    // An edit before the checkpoint is what only a full verification sees.
    tampered.edit(org, None);
    let clean = r
        .verify_audit_chain(&f.admin, org, since)
        .await
        .expect("verify");
    assert_eq!(clean.first_break, None);
    assert_eq!(clean.from_checkpoint, Some(head));
    tampered.edit(org, Some(2));
    let incremental = r
        .verify_audit_chain(&f.admin, org, since)
        .await
        .expect("verify");
    assert_eq!(
        incremental.first_break, None,
        "events before the checkpoint are not read again"
    );
    assert_eq!(incremental.checked, 1);
    let full = r
        .verify_audit_chain(&f.admin, org, ChainVerification::Full)
        .await
        .expect("verify");
    assert_eq!(full.first_break.map(|b| b.seq), Some(2));
    assert_eq!(
        full.checked, full.events,
        "a full verification reads every event"
    );
    // The full verification dropped the checkpoint that vouched for the
    // edited event: the next verifications read from the start again.
    let after = r
        .verify_audit_chain(&f.admin, org, since)
        .await
        .expect("verify");
    assert_eq!(after.from_checkpoint, None);
    assert_eq!(after.first_break.map(|b| b.seq), Some(2));

    // A client's checkpoint is its own: another org's chain starts from scratch.
    let client = r
        .verify_audit_chain(&f.admin, f.clients[0], since)
        .await
        .expect("verify");
    assert_eq!(client.from_checkpoint, None);
    assert_eq!(client.first_break, None);
}

/// Offboarding: an MSP archives a client and nobody acts in it any more
/// (its technician, the MSP's own admin, the platform operator: each
/// `NotFound`, as for an org that does not exist), it leaves the org
/// lists and the worker's sweep, its records stay; restoring it gives
/// everything back. Only its own MSP's admins do either, audited in both
/// chains.
pub async fn an_archived_client_is_closed_until_its_msp_restores_it(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::Technician)
        .await
        .expect("Tom works in client 1");
    let ticket = r
        .create_ticket(
            &tom,
            c1,
            NewTicket {
                subject: "Printer".into(),
                description: String::new(),
                priority: Priority::Medium,
                requester: None,
            },
        )
        .await
        .expect("a ticket in client 1");

    // Only the MSP's admins offboard; another MSP's admin finds nothing.
    expect_denied(
        r.archive_client(&tom, f.msp, c1).await,
        "a technician archiving",
    );
    let other = msp_in(
        Regentra::new(Arc::clone(&r.shared_store())),
        f.operator.clone(),
        "Rival IT",
    )
    .await;
    expect_not_found(
        r.archive_client(&other.admin, other.msp, c1).await,
        "another MSP archiving",
    );
    expect_not_found(
        r.archive_client(&f.admin, f.msp, other.clients[0]).await,
        "archiving another MSP's client",
    );

    let archived = r
        .archive_client(&f.admin, f.msp, c1)
        .await
        .expect("the MSP admin archives client 1");
    assert!(archived.is_archived());
    for (who, caller) in [
        ("technician", &tom),
        ("MSP admin", &f.admin),
        ("operator", &f.operator),
    ] {
        expect_not_found(
            r.authorize(caller, c1, Permission::OrgRead).await,
            &format!("the {who} in an archived client"),
        );
    }
    expect_not_found(
        r.ticket(&tom, c1, ticket.id).await,
        "the technician reading a ticket of an archived client",
    );
    expect_not_found(
        r.rename_organization(&f.admin, c1, "Renamed").await,
        "renaming an archived client",
    );
    expect_invalid(
        r.assign_staff(&f.admin, f.msp, c1, tom.user, Role::ComplianceOfficer)
            .await,
        "client_id",
    );
    // It leaves the org lists, not the MSP's list of its clients.
    let reachable = |caller: Principal| async move {
        r.my_organizations(&caller)
            .await
            .expect("orgs")
            .into_iter()
            .map(|o| o.org.id)
            .collect::<Vec<_>>()
    };
    assert!(!reachable(tom.clone()).await.contains(&c1));
    assert!(!reachable(f.admin.clone()).await.contains(&c1));
    assert!(reachable(f.admin.clone()).await.contains(&c2));
    let clients = r
        .list_clients(&f.admin, f.msp, PageRequest::first(10))
        .await
        .expect("clients");
    assert_eq!(
        clients
            .iter()
            .map(|c| (c.id, c.is_archived()))
            .collect::<Vec<_>>(),
        vec![(c1, true), (c2, false)]
    );
    // The worker's sweep passes it by, paging over every org all the same.
    let mut swept = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .active_organization_ids(PageRequest::after(after, 1))
            .await
            .expect("active orgs");
        swept.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert!(!swept.contains(&c1), "the archived client is not swept");
    for org in [f.msp, c2, other.msp] {
        assert!(swept.contains(&org), "{org} is swept");
    }
    // Archiving again changes nothing and records nothing.
    let events = actions(&f, c1).await.len();
    r.archive_client(&f.admin, f.msp, c1)
        .await
        .expect("archiving again");
    assert_eq!(actions(&f, c1).await.len(), events);
    assert!(
        actions(&f, f.msp)
            .await
            .contains(&"client.archived".to_owned())
    );
    assert!(
        actions(&f, c1)
            .await
            .contains(&"organization.archived".to_owned())
    );

    // Restored: everything as it was, the ticket included.
    expect_denied(
        r.restore_client(&tom, f.msp, c1).await,
        "a technician restoring",
    );
    let restored = r
        .restore_client(&f.admin, f.msp, c1)
        .await
        .expect("restores");
    assert!(!restored.is_archived());
    assert_eq!(
        r.ticket(&tom, c1, ticket.id)
            .await
            .expect("Tom reads the ticket again")
            .title,
        "Printer"
    );
    assert!(reachable(tom.clone()).await.contains(&c1));
    // The MSP's log, of one kind: its clients' lives.
    let lives = r
        .audit_log(
            &f.admin,
            f.msp,
            crate::tenancy::AuditQuery {
                kind: Some("client.".into()),
                ..crate::tenancy::AuditQuery::after(None, 50)
            },
        )
        .await
        .expect("the MSP's log");
    assert_eq!(
        lives
            .items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        [
            "client.created",
            "client.created",
            "client.archived",
            "client.restored"
        ]
    );
    assert!(
        actions(&f, c1)
            .await
            .contains(&"organization.restored".to_owned())
    );
}

/// What a members page and the MSP's assignment grid read: members with
/// their names for anyone who reads the org; the MSP's assignable staff
/// (technicians and compliance officers, not its admins), its active
/// clients and who works where, for those who assign staff only.
pub async fn members_and_the_staff_grid_are_named(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    let cora = member(&f, f.msp, "cora@northwind.test", Role::ComplianceOfficer).await;
    let viewer = member(&f, f.msp, "vic@northwind.test", Role::Viewer).await;
    r.assign_staff(&f.admin, f.msp, c2, tom.user, Role::Technician)
        .await
        .expect("assigns Tom");

    let members = r
        .member_directory(&viewer, f.msp)
        .await
        .expect("a viewer reads the members");
    assert_eq!(
        members
            .iter()
            .map(|m| (m.name.as_str(), m.membership.role))
            .collect::<Vec<_>>(),
        vec![
            ("cora@northwind.test", Role::ComplianceOfficer),
            ("MSP Admin", Role::MspAdmin),
            ("tom@northwind.test", Role::Technician),
            ("vic@northwind.test", Role::Viewer),
        ],
        "by name, with their roles"
    );
    assert_eq!(members[1].email, "admin@northwind-it.test");
    expect_not_found(
        r.member_directory(&viewer, c1).await,
        "the members of a client the viewer does not reach",
    );

    expect_denied(r.staff_grid(&viewer, f.msp).await, "a viewer's grid");
    expect_denied(r.staff_grid(&tom, f.msp).await, "a technician's grid");
    r.archive_client(&f.admin, f.msp, c1)
        .await
        .expect("archives client 1");
    let grid = r.staff_grid(&f.admin, f.msp).await.expect("the grid");
    assert_eq!(
        grid.staff
            .iter()
            .map(|m| m.membership.user)
            .collect::<Vec<_>>(),
        vec![cora.user, tom.user],
        "assignable staff only, by name"
    );
    assert_eq!(
        grid.clients.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c2],
        "active clients only"
    );
    assert_eq!(
        grid.membership(c2, tom.user).map(|m| m.role),
        Some(Role::Technician)
    );
    assert!(grid.membership(c2, cora.user).is_none());
    assert_eq!(grid.memberships.len(), 1);
    expect_invalid(r.staff_grid(&f.operator, c2).await, "msp");
}

/// The staff grid lands whole or not at all: one cell the core refuses
/// leaves every other cell of the post unsaved, and a grid that applies
/// writes each change with its events in both chains.
pub async fn the_staff_grid_is_applied_whole_or_not_at_all(store: Arc<dyn Store>) {
    use crate::tenancy::StaffCell;
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    let cora = member(&f, f.msp, "cora@northwind.test", Role::ComplianceOfficer).await;
    r.assign_staff(&f.admin, f.msp, c2, tom.user, Role::Technician)
        .await
        .expect("assigns Tom to client 2");
    // A client's own admin, whom the MSP did not assign, and an MSP viewer,
    // who has no staff role to lend a client.
    let own = member(&f, c1, "owner@acme.test", Role::OrgAdmin).await;
    let vic = member(&f, f.msp, "vic@northwind.test", Role::Viewer).await;
    let before = actions(&f, c1).await.len();

    let cell = |client, user, role| StaffCell { client, user, role };
    let refused = r
        .set_staff_grid(
            &f.admin,
            f.msp,
            &[
                cell(c1, tom.user, Some(Role::Technician)),
                cell(c1, own.user, None),
                cell(c1, cora.user, Some(Role::OrgAdmin)),
                cell(c1, vic.user, Some(Role::Technician)),
            ],
        )
        .await;
    match refused {
        Err(Error::Validation(fields)) => assert_eq!(
            fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            vec!["cells[1]", "cells[2]", "cells[3]"],
            "each refused cell is named by its index: {fields:?}"
        ),
        other => panic!("a grid with refused cells is a validation error, got {other:?}"),
    }
    let grid = r.staff_grid(&f.admin, f.msp).await.expect("grid");
    assert!(
        grid.membership(c1, tom.user).is_none(),
        "the valid cell of a refused grid is not saved either"
    );
    assert_eq!(
        actions(&f, c1).await.len(),
        before,
        "and nothing is audited"
    );
    expect_invalid(
        r.assign_staff(&f.admin, f.msp, c1, vic.user, Role::Technician)
            .await,
        "user_id",
    );

    // Applied: one made, one role changed, in one commit.
    let changed = r
        .set_staff_grid(
            &f.admin,
            f.msp,
            &[
                cell(c1, tom.user, Some(Role::Technician)),
                cell(c1, cora.user, Some(Role::ComplianceOfficer)),
                cell(c2, tom.user, Some(Role::ComplianceOfficer)),
                // Already so: not a change.
                cell(c2, cora.user, None),
            ],
        )
        .await
        .expect("applies");
    assert_eq!(changed, 3);
    let grid = r.staff_grid(&f.admin, f.msp).await.expect("grid");
    assert_eq!(
        grid.membership(c1, tom.user).map(|m| m.role),
        Some(Role::Technician)
    );
    assert_eq!(
        grid.membership(c1, cora.user).map(|m| m.role),
        Some(Role::ComplianceOfficer)
    );
    assert_eq!(
        grid.membership(c2, tom.user).map(|m| m.role),
        Some(Role::ComplianceOfficer),
        "a role changed in place"
    );
    let c1_actions = actions(&f, c1).await;
    assert_eq!(
        c1_actions[before..],
        ["staff.assigned".to_owned(), "staff.assigned".to_owned()],
        "each change audited in the client's chain"
    );
    assert!(
        actions(&f, c2)
            .await
            .contains(&"staff.role_changed".to_owned())
    );
    assert!(
        actions(&f, f.msp)
            .await
            .contains(&"staff.role_changed".to_owned())
    );

    // An assignment the client has since made its admin is the client's:
    // the grid cannot end it or change it.
    r.change_member_role(&f.admin, c1, cora.user, Role::OrgAdmin)
        .await
        .expect("the client's admin role for Cora");
    expect_invalid(
        r.set_staff_grid(&f.admin, f.msp, &[cell(c1, cora.user, None)])
            .await,
        "cells[0]",
    );

    // Ended; and a client not the MSP's names nothing.
    assert_eq!(
        r.set_staff_grid(&f.admin, f.msp, &[cell(c2, tom.user, None)])
            .await
            .expect("ends"),
        1
    );
    assert!(
        r.staff_grid(&f.admin, f.msp)
            .await
            .expect("grid")
            .membership(c2, tom.user)
            .is_none()
    );
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.set_staff_grid(
            &f.admin,
            f.msp,
            &[cell(other.clients[0], tom.user, Some(Role::Technician))],
        )
        .await,
        "another MSP's client",
    );
    expect_denied(
        r.set_staff_grid(&tom, f.msp, &[cell(c1, cora.user, None)])
            .await,
        "a technician posting the grid",
    );
}

/// An invitation may carry the person's name, offered when they accept;
/// every problem of the form is reported at once.
pub async fn an_invitation_carries_a_name_and_reports_every_problem(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, _] = f.clients;
    let invited = r
        .invite_named(
            &f.admin,
            c1,
            " Nia@Acme.test ",
            Some(" Nia Nurse "),
            Role::Viewer,
        )
        .await
        .expect("invites");
    assert_eq!(
        (invited.email.as_str(), invited.name.as_deref()),
        ("nia@acme.test", Some("Nia Nurse"))
    );
    match r
        .invite_named(&f.admin, c1, "not an email", Some("  "), Role::MspAdmin)
        .await
    {
        Err(Error::Validation(errors)) => assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["email", "name", "role"]
        ),
        other => panic!("expected every problem at once, got {other:?}"),
    }
    let listed = r
        .list_invitations(&f.admin, c1, PageRequest::first(10))
        .await
        .expect("invitations");
    assert_eq!(listed.len(), 1, "nothing was made of the refused one");

    // Provisioning a client invites its first admin in the same commit;
    // a refused one makes neither.
    let clients = |r: &Regentra| {
        let admin = f.admin.clone();
        let r = r.clone();
        async move {
            r.list_clients(&admin, f.msp, PageRequest::first(50))
                .await
                .expect("clients")
                .len()
        }
    };
    let before = clients(r).await;
    match r
        .provision_client(&f.admin, f.msp, " ", "nobody", Some("\u{0}"))
        .await
    {
        Err(Error::Validation(errors)) => assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["name", "admin_email", "admin_name"]
        ),
        other => panic!("expected every problem at once, got {other:?}"),
    }
    assert_eq!(clients(r).await, before);
    let tom = member(&f, f.msp, "tom@northwind.test", Role::Technician).await;
    expect_denied(
        r.provision_client(&tom, f.msp, "Cobalt Law", "ada@cobalt.test", None)
            .await,
        "a technician provisioning",
    );
    let (client, invitation) = r
        .provision_client(
            &f.admin,
            f.msp,
            "Cobalt Law",
            "Ada@Cobalt.test",
            Some("Ada Admin"),
        )
        .await
        .expect("provisions");
    assert_eq!(
        (client.parent, invitation.org, invitation.role),
        (Some(f.msp), client.id, Role::OrgAdmin)
    );
    assert_eq!(invitation.name.as_deref(), Some("Ada Admin"));
    assert_eq!(clients(r).await, before + 1);
    let client_actions = actions(&f, client.id).await;
    assert_eq!(
        client_actions,
        ["organization.created", "invitation.created"],
        "in the client's chain"
    );
}
