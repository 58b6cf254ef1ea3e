use super::*;

const POLICY_TEXT: &str = "# Acceptable Use\n\nUse company systems for company work.\n";

/// A compliance fixture with a published policy (mapped to AT-01 and AM-03)
/// and two employees.
pub async fn published_policy(f: &ComplianceFixture) -> (crate::ids::PolicyId, [Principal; 2]) {
    let r = f.r();
    let policy = r
        .create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: "Acceptable Use Policy".into(),
                category: "people".into(),
                owner: Some(f.manager.user),
                controls: BTreeSet::from(["AT-01".to_owned(), "AM-03".to_owned()]),
                body: POLICY_TEXT.into(),
            },
        )
        .await
        .expect("policy");
    r.submit_policy(&f.officer, f.org, policy.id)
        .await
        .expect("submitted");
    r.approve_policy(&f.manager, f.org, policy.id)
        .await
        .expect("approved");
    r.publish_policy(&f.manager, f.org, policy.id)
        .await
        .expect("published");
    let employees = [
        member(&f.msp, f.org, "erin@acme.test", Role::Employee).await,
        member(&f.msp, f.org, "frank@acme.test", Role::Employee).await,
    ];
    (policy.id, employees)
}

/// The officer launches the policy to every employee, due in two weeks.
async fn launch_for_employees(
    f: &ComplianceFixture,
    policy: crate::ids::PolicyId,
) -> crate::policies::Campaign {
    f.r()
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Roles(BTreeSet::from([Role::Employee])), 14),
        )
        .await
        .expect("launched")
}

fn campaign_for(audience: Audience, due_days: i64) -> NewCampaign {
    NewCampaign {
        title: None,
        audience,
        due: at(0) + chrono::Duration::days(due_days),
        cadence: Default::default(),
    }
}

pub async fn policy_versions_are_immutable_once_published(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, _) = published_policy(&f).await;
    let view = r.policy(&f.manager, f.org, policy).await.expect("policy");
    assert_eq!(view.policy.status, PolicyStatus::Published);
    let v1 = &view.versions[0];
    assert_eq!((v1.number, v1.status), (1, VersionStatus::Published));
    assert_eq!(v1.sha256, body_hash(POLICY_TEXT));
    assert_eq!(v1.approved_by, Some(f.manager.user));
    // Editing a published policy starts a new draft; v1 stays as published.
    let v2 = r
        .edit_policy(
            &f.officer,
            f.org,
            policy,
            None,
            "# Acceptable Use\n\nRevised.\n",
        )
        .await
        .expect("edit");
    assert_eq!((v2.number, v2.status), (2, VersionStatus::Draft));
    let draft_again = r
        .edit_policy(
            &f.officer,
            f.org,
            policy,
            Some("Acceptable Use Policy 2027"),
            "# Acceptable Use\n\nRevised twice.\n",
        )
        .await
        .expect("edit draft");
    assert_eq!(draft_again.number, 2, "a draft is edited in place");
    assert_eq!(
        (draft_again.created_by, draft_again.edited_by),
        (f.officer.user, Some(f.officer.user)),
        "who started the draft and who last changed it"
    );
    assert_eq!(v2.edited_by, None, "a new version is its creator's alone");
    let view = r.policy(&f.manager, f.org, policy).await.expect("policy");
    assert_eq!(
        view.versions[0].body, POLICY_TEXT,
        "published text never changes"
    );
    assert_eq!(view.policy.published_version, Some(1));
    // Approval is a manager's: an officer may draft and submit, not approve.
    r.submit_policy(&f.officer, f.org, policy)
        .await
        .expect("submit");
    expect_denied(
        r.approve_policy(&f.officer, f.org, policy).await,
        "officer approving",
    );
    expect_invalid(r.publish_policy(&f.manager, f.org, policy).await, "policy");
    r.approve_policy(&f.manager, f.org, policy)
        .await
        .expect("approve");
    r.publish_policy(&f.manager, f.org, policy)
        .await
        .expect("publish v2");
    let view = r.policy(&f.manager, f.org, policy).await.expect("policy");
    assert_eq!(
        view.versions
            .iter()
            .map(|v| (v.number, v.status))
            .collect::<Vec<_>>(),
        [
            (1, VersionStatus::Superseded),
            (2, VersionStatus::Published)
        ]
    );
    assert_eq!(view.versions[1].published_by, Some(f.manager.user));
    assert_eq!(
        view.versions[0].body, POLICY_TEXT,
        "a superseded version keeps its text, for the history's diff"
    );
    assert_eq!(
        view.versions[1].body,
        "# Acceptable Use\n\nRevised twice.\n"
    );
    assert_eq!(view.policy.title, "Acceptable Use Policy 2027");
    r.retire_policy(&f.manager, f.org, policy)
        .await
        .expect("retire");
    expect_invalid(
        r.edit_policy(&f.officer, f.org, policy, None, "x").await,
        "policy",
    );
    expect_invalid(
        r.create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: " ".into(),
                category: "x".into(),
                owner: None,
                controls: BTreeSet::from(["NOPE-1".to_owned()]),
                body: "".into(),
            },
        )
        .await,
        "title",
    );
}

pub async fn policies_from_templates_fill_body_and_controls(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let policy = r
        .create_policy_from_template(
            &f.officer,
            f.org,
            "incident-response",
            Some(f.manager.user),
            "Security Officer",
        )
        .await
        .expect("from template");
    let template = crate::policies::templates::template("incident-response").expect("template");
    assert_eq!(policy.template.as_deref(), Some("incident-response"));
    assert_eq!(
        policy.controls,
        template.controls.iter().cloned().collect::<BTreeSet<_>>()
    );
    let view = r.policy(&f.officer, f.org, policy.id).await.expect("view");
    assert!(
        view.versions[0].body.contains("Acme Dental (Northwind IT)"),
        "the org's name is filled in"
    );
    assert!(!view.versions[0].body.contains("{{"));
    expect_invalid(
        r.create_policy_from_template(&f.officer, f.org, "no-such-template", None, "x")
            .await,
        "template",
    );
}

pub async fn campaign_launch_resolves_the_audience_once(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let c = launch_for_employees(&f, policy).await;
    assert_eq!(c.version, 1);
    assert_eq!(c.version_hash, body_hash(POLICY_TEXT));
    let completion = r
        .campaign_completion(&f.manager, f.org, c.id)
        .await
        .expect("completion");
    assert_eq!((completion.signed, completion.assigned), (0, 2));
    let mut pending = completion.pending.clone();
    pending.sort();
    let mut expected = vec![erin.user, frank.user];
    expected.sort();
    assert_eq!(pending, expected);
    let invitations = r.pending_notifications(f.org, 100).await.expect("outbox");
    assert_eq!(
        invitations
            .iter()
            .filter(|n| n.kind == crate::notify::NotificationKind::CampaignInvitation)
            .count(),
        2,
        "one invitation per person, in the launch's commit"
    );
    // Someone joining later is not added on their own ...
    let gina = member(&f.msp, f.org, "gina@acme.test", Role::Employee).await;
    assert_eq!(
        r.campaign_completion(&f.manager, f.org, c.id)
            .await
            .expect("completion")
            .assigned,
        2
    );
    // ... but can be added explicitly, once.
    r.add_to_campaign(&f.officer, f.org, c.id, gina.user)
        .await
        .expect("late joiner");
    match r.add_to_campaign(&f.officer, f.org, c.id, gina.user).await {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "user_id"),
        other => panic!("adding twice must be AlreadyExists, got {other:?}"),
    }
    // Errors name the field as the API's body does.
    expect_invalid(
        r.add_to_campaign(&f.officer, f.org, c.id, f.msp.admin.user)
            .await,
        "user_id",
    );
    assert_eq!(
        r.campaign_completion(&f.manager, f.org, c.id)
            .await
            .expect("completion")
            .assigned,
        3
    );
    // A draft-only policy cannot go out.
    let draft = r
        .create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: "Draft".into(),
                category: "x".into(),
                owner: None,
                controls: Default::default(),
                body: "text".into(),
            },
        )
        .await
        .expect("draft");
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            draft.id,
            campaign_for(Audience::Everyone, 7),
        )
        .await,
        "policy",
    );
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Everyone, -1),
        )
        .await,
        "due",
    );
    let other = msp_in(r.clone(), f.msp.operator.clone(), "Southwind IT").await;
    let stranger = other.admin.user;
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Users(BTreeSet::from([stranger])), 7),
        )
        .await,
        "audience",
    );
}

/// A campaign asks only people who can sign: viewers hold a read-only role,
/// so "everyone" leaves them out, and naming them (by role or by person)
/// is an error rather than a campaign that can never complete.
pub async fn campaign_audience_leaves_out_those_who_cannot_sign(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, _frank]) = published_policy(&f).await;
    let auditor = member(&f.msp, f.org, "auditor@acme.test", Role::Viewer).await;
    let everyone = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Everyone, 7),
        )
        .await
        .expect("launched to everyone");
    let completion = r
        .campaign_completion(&f.manager, f.org, everyone.id)
        .await
        .expect("completion");
    // Nobody has signed yet, so everyone asked is pending.
    let asked = &completion.pending;
    assert_eq!(asked.len(), completion.assigned);
    assert!(!completion.by_role.contains_key(&Role::Viewer));
    assert!(asked.contains(&erin.user), "an employee is asked");
    assert!(asked.contains(&f.officer.user), "the officer is asked");
    assert!(
        !asked.contains(&auditor.user),
        "a viewer cannot sign, so everyone leaves her out"
    );
    let invited = r
        .pending_notifications(f.org, 100)
        .await
        .expect("outbox")
        .iter()
        .filter(|n| n.kind == crate::notify::NotificationKind::CampaignInvitation)
        .count();
    assert_eq!(
        invited, completion.assigned,
        "one invitation per person asked"
    );

    // Naming viewers, by role or by person, says why it cannot be done,
    // and launches nothing.
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(
                Audience::Roles(BTreeSet::from([Role::Employee, Role::Viewer])),
                7,
            ),
        )
        .await,
        "audience",
    );
    expect_invalid(
        r.launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(
                Audience::Users(BTreeSet::from([erin.user, auditor.user])),
                7,
            ),
        )
        .await,
        "audience",
    );
    expect_invalid(
        r.add_to_campaign(&f.officer, f.org, everyone.id, auditor.user)
            .await,
        "user_id",
    );
    let campaigns = r
        .campaigns(&f.manager, f.org, crate::store::PageRequest::first(50))
        .await
        .expect("campaigns")
        .items;
    assert_eq!(
        campaigns.len(),
        1,
        "the refused launches left nothing behind"
    );
    assert_eq!(
        r.campaign(&f.manager, f.org, everyone.id)
            .await
            .expect("one campaign"),
        everyone
    );
    expect_denied(
        r.campaign(&erin, f.org, everyone.id).await,
        "an employee reading a campaign",
    );
    let other = msp_in(r.clone(), f.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.campaign(&other.admin, other.clients[0], everyone.id)
            .await,
        "another tenant's campaign id",
    );
}

pub async fn the_signing_view_is_the_campaigns_version_for_those_it_asks(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, _]) = published_policy(&f).await;
    let c = launch_for_employees(&f, policy).await;
    let view = r
        .policy_to_sign(&erin, f.org, c.id)
        .await
        .expect("erin is asked");
    assert_eq!(view.policy_title, "Acceptable Use Policy");
    assert_eq!(view.version.body, POLICY_TEXT);
    assert_eq!(
        view.version.sha256, c.version_hash,
        "the version signed is the campaign's"
    );
    assert_eq!(view.campaign.id, c.id);
    assert_eq!(view.acknowledgment.status, AcknowledgmentStatus::Pending);
    assert!(!view.org_name.is_empty());
    r.sign_acknowledgment(&erin, f.org, c.id, "Erin Example")
        .await
        .expect("signed");
    let after = r.policy_to_sign(&erin, f.org, c.id).await.expect("view");
    assert_eq!(after.acknowledgment.status, AcknowledgmentStatus::Signed);
    // Someone the campaign does not ask, and another org's member, see nothing.
    match r.policy_to_sign(&f.officer, f.org, c.id).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("the officer is not asked: {other:?}"),
    }
    let other = msp_in(r.clone(), f.msp.operator.clone(), "Southwind IT").await;
    match r.policy_to_sign(&other.admin, f.org, c.id).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("another tenant's admin: {other:?}"),
    }
}

pub async fn campaign_signatures_become_evidence_of_their_version(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    let (policy, [erin, _]) = published_policy(&f).await;
    let c = launch_for_employees(&f, policy).await;
    let erin_here = erin.clone().with_request(crate::RequestMeta {
        request_id: Some("req-1".into()),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0".into()),
    });
    let signed = r
        .sign_acknowledgment(&erin_here, f.org, c.id, "Erin Example")
        .await
        .expect("signed");
    let signature = signed.signature.clone().expect("signature kept");
    assert_eq!(signed.status, AcknowledgmentStatus::Signed);
    assert_eq!(signature.typed_name, "Erin Example");
    assert_eq!(signature.version_hash, body_hash(POLICY_TEXT));
    assert_eq!(signature.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(signature.user_agent.as_deref(), Some("Mozilla/5.0"));
    match r
        .sign_acknowledgment(&erin, f.org, c.id, "Erin Example")
        .await
    {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("signing twice must be refused, got {other:?}"),
    }
    // The signature is evidence for the policy's controls, in the same commit.
    let evidence = r
        .evidence(
            &f.manager,
            f.org,
            crate::compliance::evidence::EvidenceQuery {
                control: Some("AT-01".to_owned()),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("evidence")
        .items;
    assert_eq!(evidence.len(), 1);
    assert!(evidence[0].evidence.controls.contains("AM-03"));
    match &evidence[0].evidence.content {
        crate::compliance::EvidenceContent::PolicyAcknowledgment {
            version,
            version_hash,
            signer,
            ..
        } => {
            assert_eq!(
                (*version, version_hash.as_str(), *signer),
                (1, body_hash(POLICY_TEXT).as_str(), erin.user)
            );
        }
        other => panic!("an acknowledgment, got {other:?}"),
    }
    // A later version supersedes the text, not the signature.
    r.edit_policy(&f.officer, f.org, policy, None, "# Acceptable Use\n\nv2\n")
        .await
        .expect("edit");
    r.submit_policy(&f.officer, f.org, policy)
        .await
        .expect("submit");
    r.approve_policy(&f.manager, f.org, policy)
        .await
        .expect("approve");
    r.publish_policy(&f.manager, f.org, policy)
        .await
        .expect("publish v2");
    r.update_control(
        &f.officer,
        f.org,
        "AT-01",
        None,
        ControlUpdate {
            status: Some(ControlStatus::Implemented),
            ..Default::default()
        },
    )
    .await
    .expect("implemented");
    let view = r
        .control(&f.manager, f.org, "AT-01")
        .await
        .expect("control");
    assert_eq!(
        view.state.current_evidence, 1,
        "the v1 signature still counts as evidence of v1"
    );
    assert!(view.state.counts);
    // Only assigned people sign; other orgs cannot even see the campaign.
    expect_not_found(
        r.sign_acknowledgment(&f.manager, f.org, c.id, "Manager")
            .await,
        "an unassigned signer",
    );
    let other = msp_in(r.clone(), f.msp.operator.clone(), "Southwind IT").await;
    expect_not_found(
        r.sign_acknowledgment(&other.admin, f.org, c.id, "Intruder")
            .await,
        "another org's user",
    );
    expect_not_found(
        r.campaign_completion(&other.admin, f.org, c.id).await,
        "another org's user reading",
    );
    expect_not_found(
        r.sign_acknowledgment(&other.admin, other.clients[0], c.id, "Intruder")
            .await,
        "a campaign id through another org",
    );
}

pub async fn campaign_closed_rejects_signatures_with_a_clear_error(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let c = launch_for_employees(&f, policy).await;
    r.sign_acknowledgment(&frank, f.org, c.id, "Frank")
        .await
        .expect("signed");
    let closed = r
        .close_campaign(&f.officer, f.org, c.id)
        .await
        .expect("closed");
    assert_eq!(closed.status, CampaignStatus::Closed);
    match r.sign_acknowledgment(&erin, f.org, c.id, "Erin").await {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors[0].field, "campaign");
            assert!(
                errors[0].message.contains("closed"),
                "{}",
                errors[0].message
            );
        }
        other => panic!("a closed campaign must refuse signatures clearly, got {other:?}"),
    }
    let completion = r
        .campaign_completion(&f.manager, f.org, c.id)
        .await
        .expect("completion");
    assert_eq!((completion.signed, completion.assigned), (1, 2));
    assert_eq!(
        completion.pending,
        vec![erin.user],
        "pending stays pending, on record"
    );
    let csv = r.campaign_csv(&f.manager, f.org, c.id).await.expect("csv");
    assert!(
        csv.lines()
            .any(|l| l.contains("erin@acme.test") && l.contains(",pending,")),
        "{csv}"
    );
    let rows = r
        .campaign_rows(&f.manager, f.org, c.id)
        .await
        .expect("rows");
    let erin_row = rows.iter().find(|row| row.user == erin.user).expect("erin");
    let frank_row = rows
        .iter()
        .find(|row| row.user == frank.user)
        .expect("frank");
    assert!(!erin_row.overdue, "not yet due");
    assert!(frank_row.signed_at.is_some() && !frank_row.overdue);
    f.clock.set(at(0) + chrono::Duration::days(15));
    let rows = r
        .campaign_rows(&f.manager, f.org, c.id)
        .await
        .expect("rows");
    let erin_row = rows.iter().find(|row| row.user == erin.user).expect("erin");
    let frank_row = rows
        .iter()
        .find(|row| row.user == frank.user)
        .expect("frank");
    assert!(erin_row.overdue, "pending past the due date");
    assert!(!frank_row.overdue, "a signature is never overdue");
    expect_invalid(r.close_campaign(&f.officer, f.org, c.id).await, "campaign");
    expect_invalid(r.remind_now(&f.officer, f.org, c.id).await, "campaign");
}

pub async fn policy_people_are_named_for_staff_only(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (_, [erin, _]) = published_policy(&f).await;
    let people = r.policy_people(&f.officer, f.org).await.expect("people");
    let erin_there = people
        .iter()
        .find(|p| p.user == erin.user)
        .expect("members are listed");
    assert_eq!(
        (erin_there.email.as_str(), erin_there.role),
        ("erin@acme.test", Role::Employee)
    );
    assert!(people.iter().any(|p| p.user == f.manager.user));
    let names: Vec<String> = people.iter().map(|p| p.name.to_lowercase()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");
    let viewer = member(&f.msp, f.org, "auditor@acme.test", Role::Viewer).await;
    r.policy_people(&viewer, f.org)
        .await
        .expect("a viewer reads the names the pages show");
    expect_denied(
        r.policy_people(&erin, f.org).await,
        "an employee listing the org's people",
    );
    let tech = member(&f.msp, f.org, "tech@acme.test", Role::Technician).await;
    expect_denied(r.policy_people(&tech, f.org).await, "a technician");
    // The other client's admin reaches nothing here.
    let outsider = member(&f.msp, f.msp.clients[1], "boss@globex.test", Role::OrgAdmin).await;
    expect_not_found(
        r.policy_people(&outsider, f.org).await,
        "another tenant's admin",
    );
}

pub async fn campaign_concurrent_signatures_record_one(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, _]) = published_policy(&f).await;
    let c = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Users(BTreeSet::from([erin.user])), 14),
        )
        .await
        .expect("launched");
    let attempts = (0..8).map(|_| r.sign_acknowledgment(&erin, f.org, c.id, "Erin"));
    let results = join_all(attempts).await;
    let signed = results.iter().filter(|r| r.is_ok()).count();
    for result in &results {
        if let Err(e) = result {
            assert!(
                matches!(e, Error::AlreadyExists { .. }),
                "a losing signature is refused as a duplicate: {e:?}"
            );
        }
    }
    assert_eq!(signed, 1, "exactly one signature is recorded");
    assert_eq!(
        r.evidence(
            &f.manager,
            f.org,
            crate::compliance::evidence::EvidenceQuery {
                control: Some("AT-01".to_owned()),
                limit: 500,
                ..Default::default()
            }
        )
        .await
        .expect("evidence")
        .items
        .len(),
        1,
        "and one piece of evidence"
    );
}

pub async fn campaign_reminders_follow_the_cadence(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let c = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Roles(BTreeSet::from([Role::Employee])), 10),
        )
        .await
        .expect("launched");
    let day = |d: i64| at(0) + chrono::Duration::days(d);
    let reminders = |f: &ComplianceFixture| {
        let r = f.r().clone();
        let org = f.org;
        async move {
            r.pending_notifications(org, 500)
                .await
                .expect("outbox")
                .into_iter()
                .filter(|n| n.kind == crate::notify::NotificationKind::CampaignReminder)
                .count()
        }
    };
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "nothing due at launch"
    );
    f.clock.set(day(3));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        2,
        "step 1: everyone pending"
    );
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "never twice for a step"
    );
    r.sign_acknowledgment(&frank, f.org, c.id, "Frank")
        .await
        .expect("signed");
    f.clock.set(day(5));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "between steps"
    );
    f.clock.set(day(6));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        1,
        "step 2: only who is still pending"
    );
    assert_eq!(
        r.remind_now(&f.officer, f.org, c.id)
            .await
            .expect("remind now"),
        1
    );
    f.clock.set(day(11));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        1,
        "overdue: daily"
    );
    let completion = r
        .campaign_completion(&f.manager, f.org, c.id)
        .await
        .expect("completion");
    assert_eq!(completion.overdue, vec![erin.user]);
    assert_eq!(
        reminders(&f).await,
        5,
        "each reminder went through the outbox"
    );
    r.close_campaign(&f.officer, f.org, c.id)
        .await
        .expect("closed");
    f.clock.set(day(20));
    assert_eq!(
        r.send_due_reminders(f.org).await.expect("sweep"),
        0,
        "never after the campaign closes"
    );
}

pub async fn campaign_reminders_stop_at_the_maximum(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, _]) = published_policy(&f).await;
    let mut new = campaign_for(Audience::Users(BTreeSet::from([erin.user])), 2);
    new.cadence = crate::policies::ReminderCadence {
        every_days: 1,
        overdue_every_days: 1,
        max: 3,
    };
    r.launch_campaign(&f.officer, f.org, policy, new)
        .await
        .expect("launched");
    let mut sent = 0;
    for d in 1..=10 {
        f.clock.set(at(0) + chrono::Duration::days(d));
        sent += r.send_due_reminders(f.org).await.expect("sweep");
    }
    assert_eq!(sent, 3, "at most the configured number of reminders");
}

pub async fn campaign_visibility_follows_roles(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, [erin, frank]) = published_policy(&f).await;
    let hidden = r
        .create_policy(
            &f.officer,
            f.org,
            NewPolicy {
                title: "Board Minutes Policy".into(),
                category: "governance".into(),
                owner: None,
                controls: Default::default(),
                body: "text".into(),
            },
        )
        .await
        .expect("another policy");
    let c = r
        .launch_campaign(
            &f.officer,
            f.org,
            policy,
            campaign_for(Audience::Users(BTreeSet::from([erin.user])), 14),
        )
        .await
        .expect("launched");
    // An employee sees their own assignment and policy, nothing else.
    let mine = r
        .my_acknowledgments(&erin, f.org, crate::store::PageRequest::first(500))
        .await
        .expect("mine")
        .items;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].policy_title, "Acceptable Use Policy");
    assert!(
        r.my_acknowledgments(&frank, f.org, crate::store::PageRequest::first(500))
            .await
            .expect("frank's")
            .items
            .is_empty()
    );
    let visible: Vec<_> = r
        .policies(&erin, f.org, crate::store::PageRequest::first(500))
        .await
        .expect("policies")
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(visible, vec![policy]);
    let view = r.policy(&erin, f.org, policy).await.expect("own policy");
    assert!(
        view.versions
            .iter()
            .all(|v| v.status == VersionStatus::Published),
        "only published text"
    );
    expect_not_found(
        r.policy(&erin, f.org, hidden.id).await,
        "an unassigned policy",
    );
    expect_denied(
        r.campaign_completion(&erin, f.org, c.id).await,
        "employee reading completion",
    );
    expect_denied(
        r.campaign_csv(&erin, f.org, c.id).await,
        "employee exporting",
    );
    // Viewers see completion only.
    let viewer = member(&f.msp, f.org, "auditor@acme.test", Role::Viewer).await;
    r.campaign_completion(&viewer, f.org, c.id)
        .await
        .expect("viewer reads completion");
    expect_denied(r.remind_now(&viewer, f.org, c.id).await, "viewer reminding");
    expect_denied(
        r.close_campaign(&viewer, f.org, c.id).await,
        "viewer closing",
    );
    expect_denied(
        r.launch_campaign(&viewer, f.org, policy, campaign_for(Audience::Everyone, 7))
            .await,
        "viewer launching",
    );
    // Technicians have no compliance access.
    let tech = member(&f.msp, f.org, "tech@acme.test", Role::Technician).await;
    expect_denied(
        r.campaign_completion(&tech, f.org, c.id).await,
        "technician",
    );
}

pub async fn outbox_delivery_is_at_least_once(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let (policy, _) = published_policy(&f).await;
    launch_for_employees(&f, policy).await;
    let pending = r.pending_notifications(f.org, 10).await.expect("outbox");
    assert_eq!(pending.len(), 2);
    assert!(
        pending
            .iter()
            .all(|n| n.delivered_at.is_none() && n.recipient.is_some())
    );
    // The first delivery succeeds, the second fails and is simply not marked.
    let delivered = r
        .mark_notification_delivered(f.org, pending[0].id)
        .await
        .expect("marked");
    assert_eq!(delivered.delivered_at, Some(at(0)));
    let again = r
        .mark_notification_delivered(f.org, pending[0].id)
        .await
        .expect("marking twice is harmless");
    assert_eq!(again.delivered_at, Some(at(0)));
    let left = r.pending_notifications(f.org, 10).await.expect("outbox");
    assert_eq!(
        left.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![pending[1].id],
        "the undelivered one stays"
    );
    expect_not_found(
        r.mark_notification_delivered(f.clients_other(), pending[1].id)
            .await,
        "another org's outbox",
    );
}

impl ComplianceFixture {
    /// The MSP's other client, for cross-tenant probes.
    pub fn clients_other(&self) -> OrgId {
        self.msp.clients[1]
    }
}
