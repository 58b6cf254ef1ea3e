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
    let again = f
        .regentra
        .add_member(
            &f.admin,
            f.clients[0],
            "bob@example.com",
            "Robert",
            Role::Viewer,
        )
        .await
        .expect("adds the same person to a client");
    assert_eq!(
        first.user, again.user,
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
        members.iter().filter(|m| m.user == first.user).count(),
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
    let outsider = r
        .add_member(
            &f.admin,
            c1,
            "client.staff@acme.test",
            "Client Staff",
            Role::Employee,
        )
        .await
        .expect("client employee");
    expect_invalid(
        r.assign_staff(&f.admin, f.msp, c2, outsider.user, Role::Technician)
            .await,
        "user",
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

    r.list_members(&f.admin, c1, PageRequest::first(10))
        .await
        .expect("MSP admin reads");
    r.get_organization(&f.operator, c1)
        .await
        .expect("operator reads");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    let access: Vec<_> = chain
        .iter()
        .filter(|e| e.action == "access.delegated")
        .collect();
    assert_eq!(access.len(), 2, "both delegated reads are recorded");
    assert_eq!(access[0].actor.user, Some(f.admin.user));
    assert_eq!(access[0].actor.via, Some(Via::MspDelegation { msp: f.msp }));
    assert_eq!(access[0].details, json!({ "permission": "org.read" }));
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
        .verify_audit_chain(&viewer, c1)
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
        r.audit_log(&employee, c1, None, 10).await,
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
        stored.body["role"], last,
        "the stored role is the last applied one"
    );
}
