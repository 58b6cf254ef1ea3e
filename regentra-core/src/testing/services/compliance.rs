use super::*;

/// A client with a compliance manager and officer, on a clock the case can move.
pub struct ComplianceFixture {
    pub msp: MspFixture,
    pub org: OrgId,
    pub manager: Principal,
    pub officer: Principal,
    pub clock: Arc<crate::ManualClock>,
}

impl std::fmt::Debug for ComplianceFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComplianceFixture")
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

pub async fn compliance_fixture(store: Arc<dyn Store>) -> ComplianceFixture {
    let clock = Arc::new(crate::ManualClock::new(at(0)));
    let regentra = Regentra::new(store)
        .with_ids(Arc::new(DeterministicIds::new(7)))
        .with_entropy(Arc::new(crate::clock::SeededEntropy::new(7)))
        .with_password_hashing(crate::auth::PasswordHashing::insecure_for_tests())
        .with_clock(clock.clone());
    let operator = regentra
        .bootstrap_platform_admin("ops@platform.test", "Platform Ops")
        .await
        .expect("bootstrap");
    let msp = msp_in(regentra, Principal::new(operator.id), "Northwind IT").await;
    let org = msp.clients[0];
    let manager = member(&msp, org, "ciso@acme.test", Role::ComplianceManager).await;
    let officer = member(&msp, org, "officer@acme.test", Role::ComplianceOfficer).await;
    ComplianceFixture {
        msp,
        org,
        manager,
        officer,
        clock,
    }
}

impl ComplianceFixture {
    pub fn r(&self) -> &Regentra {
        &self.msp.regentra
    }

    pub async fn adopt(&self, framework: &str) {
        self.r()
            .adopt_framework(&self.manager, self.org, framework)
            .await
            .unwrap_or_else(|e| panic!("adopting {framework}: {e}"));
    }

    /// Marks a control implemented and attaches current evidence to it.
    pub async fn implement(&self, control: &str) {
        let r = self.r();
        r.update_control(
            &self.officer,
            self.org,
            control,
            None,
            ControlUpdate {
                status: Some(ControlStatus::Implemented),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("implementing {control}: {e}"));
        let meta = NewEvidence {
            title: format!("{control} evidence"),
            controls: BTreeSet::from([control.to_owned()]),
            ..Default::default()
        };
        r.add_link_evidence(
            &self.officer,
            self.org,
            meta,
            "https://tickets.acme.test/42",
        )
        .await
        .unwrap_or_else(|e| panic!("evidence for {control}: {e}"));
    }

    pub async fn status(&self, framework: &str, requirement: &str) -> RequirementStatus {
        let evaluation = self
            .r()
            .evaluation(&self.manager, self.org)
            .await
            .expect("evaluation");
        evaluation
            .framework(framework)
            .unwrap_or_else(|| panic!("{framework} is adopted"))
            .requirements
            .iter()
            .find(|r| r.id == requirement)
            .unwrap_or_else(|| panic!("{framework} {requirement}"))
            .status
    }

    pub async fn score(&self, framework: &str) -> f64 {
        let gaps = self
            .r()
            .gap_analysis(&self.manager, self.org)
            .await
            .expect("gap analysis");
        gaps.framework(framework).expect("adopted").score
    }
}

fn needed_controls(framework: &str) -> BTreeSet<String> {
    crate::catalog::Catalog::builtin()
        .framework(framework)
        .expect("built in")
        .assessable()
        .flat_map(|r| r.controls.iter().cloned())
        .collect()
}

pub async fn adopting_reuses_shared_controls_and_is_idempotent(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    let after_hipaa = r
        .controls(&f.manager, f.org, crate::store::PageRequest::first(500))
        .await
        .expect("controls")
        .items
        .len();
    assert_eq!(
        after_hipaa,
        needed_controls("hipaa").len(),
        "one implementation per needed control"
    );
    f.adopt("soc2").await;
    let union: BTreeSet<String> = needed_controls("hipaa")
        .union(&needed_controls("soc2"))
        .cloned()
        .collect();
    let controls = r
        .controls(&f.manager, f.org, crate::store::PageRequest::first(500))
        .await
        .expect("controls")
        .items;
    assert_eq!(
        controls.len(),
        union.len(),
        "shared controls are reused, not copied"
    );
    let chain = store::audit_chain(r.store(), f.org)
        .await
        .expect("audit")
        .len();
    f.adopt("soc2").await;
    assert_eq!(
        r.controls(&f.manager, f.org, crate::store::PageRequest::first(500))
            .await
            .expect("controls")
            .items
            .len(),
        union.len()
    );
    assert_eq!(
        store::audit_chain(r.store(), f.org)
            .await
            .expect("audit")
            .len(),
        chain,
        "adopting an adopted framework changes nothing"
    );
    let adopted = actions(&f.msp, f.org)
        .await
        .iter()
        .filter(|a| *a == "framework.adopted")
        .count();
    assert_eq!(adopted, 2);
    expect_invalid(
        r.adopt_framework(&f.manager, f.org, "sox").await,
        "framework",
    );
}

pub async fn a_shared_control_update_shows_in_every_framework(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    f.adopt("hipaa").await;
    f.adopt("soc2").await;
    // Risk assessment (RM-01) serves HIPAA's risk analysis and SOC 2's risk criteria.
    let soc2_with_rm01: Vec<String> = crate::catalog::Catalog::builtin()
        .framework("soc2")
        .expect("soc2")
        .assessable()
        .filter(|r| r.controls.iter().any(|c| c == "RM-01"))
        .map(|r| r.id.clone())
        .collect();
    assert!(!soc2_with_rm01.is_empty());
    let (hipaa_before, soc2_before) = (f.score("hipaa").await, f.score("soc2").await);
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Gap
    );

    f.implement("RM-01").await;

    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Satisfied,
        "HIPAA's risk analysis maps to RM-01 alone"
    );
    for id in &soc2_with_rm01 {
        let s = f.status("soc2", id).await;
        assert!(
            s != RequirementStatus::Gap,
            "SOC 2 {id} moved off gap, is {s:?}"
        );
    }
    assert!(
        f.score("hipaa").await > hipaa_before,
        "the HIPAA score rose"
    );
    assert!(f.score("soc2").await >= soc2_before);
    let gaps = f.r().gap_analysis(&f.manager, f.org).await.expect("gaps");
    assert!(
        gaps.summary
            .shared_controls
            .iter()
            .any(|s| s.control == "RM-01" && s.frameworks.len() == 2)
    );
}

pub async fn expired_evidence_stops_counting(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    r.update_control(
        &f.officer,
        f.org,
        "RM-01",
        None,
        ControlUpdate {
            status: Some(ControlStatus::Implemented),
            ..Default::default()
        },
    )
    .await
    .expect("implemented");
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Gap,
        "implemented without evidence does not count"
    );
    let meta = NewEvidence {
        title: "2026 risk assessment".into(),
        valid_until: Some(at(0) + chrono::Duration::days(365)),
        controls: BTreeSet::from(["RM-01".to_owned()]),
        ..Default::default()
    };
    r.add_attestation(
        &f.officer,
        f.org,
        meta,
        "We assessed risk across all ePHI systems.",
    )
    .await
    .expect("attestation");
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Satisfied
    );

    f.clock.advance(chrono::Duration::days(366));
    assert_eq!(
        f.status("hipaa", "164.308(a)(1)(ii)(A)").await,
        RequirementStatus::Gap,
        "expired evidence no longer satisfies the requirement"
    );
    let listed = r
        .evidence(
            &f.manager,
            f.org,
            crate::compliance::evidence::EvidenceQuery {
                control: Some("RM-01".to_owned()),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("evidence")
        .items;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].expired, "expired evidence is shown as expired");
    let view = r
        .control(&f.manager, f.org, "RM-01")
        .await
        .expect("control");
    assert_eq!(
        (view.state.current_evidence, view.state.expired_evidence),
        (0, 1)
    );
}

pub async fn unadopt_then_readopt_loses_nothing(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("soc2").await;
    f.implement("AC-01").await;
    r.set_trust_services_categories(
        &f.manager,
        f.org,
        BTreeSet::from([TrustServicesCategory::Availability]),
    )
    .await
    .expect("categories");
    r.scope_requirement(
        &f.manager,
        f.org,
        "soc2",
        "CC9.2",
        Some("No vendors handle customer data"),
    )
    .await
    .expect("scoped out");
    let before = r.gap_analysis(&f.manager, f.org).await.expect("gaps");
    let before = before.framework("soc2").expect("soc2").clone();

    r.unadopt_framework(&f.manager, f.org, "soc2")
        .await
        .expect("unadopted");
    let hidden = r.gap_analysis(&f.manager, f.org).await.expect("gaps");
    assert!(
        hidden.framework("soc2").is_none(),
        "an unadopted framework is hidden"
    );
    assert_eq!(
        r.controls(&f.manager, f.org, crate::store::PageRequest::first(500))
            .await
            .expect("controls")
            .items
            .len(),
        needed_controls("soc2").len(),
        "controls stay"
    );
    assert_eq!(
        r.evidence(
            &f.manager,
            f.org,
            crate::compliance::evidence::EvidenceQuery {
                control: None,
                limit: 500,
                ..Default::default()
            }
        )
        .await
        .expect("evidence")
        .items
        .len(),
        1,
        "evidence stays"
    );
    expect_invalid(
        r.scope_requirement(&f.manager, f.org, "soc2", "CC9.1", Some("x"))
            .await,
        "framework",
    );

    f.adopt("soc2").await;
    let after = r.gap_analysis(&f.manager, f.org).await.expect("gaps");
    let after = after.framework("soc2").expect("soc2");
    assert_eq!(
        after.requirements, before.requirements,
        "re-adopting restores the same state"
    );
    assert_eq!(after.score, before.score);
    let a1 = after
        .requirements
        .iter()
        .find(|q| q.id == "A1.1")
        .expect("A1.1");
    assert_ne!(
        a1.status,
        RequirementStatus::NotApplicable,
        "the category choice survived"
    );
    let cc92 = after
        .requirements
        .iter()
        .find(|q| q.id == "CC9.2")
        .expect("CC9.2");
    assert_eq!(
        cc92.justification.as_deref(),
        Some("No vendors handle customer data")
    );
}

pub async fn control_rules_and_optimistic_versions(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("gdpr").await;
    expect_invalid(
        r.update_control(
            &f.officer,
            f.org,
            "PV-08",
            None,
            ControlUpdate {
                status: Some(ControlStatus::NotApplicable),
                ..Default::default()
            },
        )
        .await,
        "justification",
    );
    let view = r
        .control(&f.manager, f.org, "PV-08")
        .await
        .expect("control");
    assert_eq!(
        view.implementation.status,
        ControlStatus::NotStarted,
        "the refused update wrote nothing"
    );
    let updated = r
        .update_control(
            &f.officer,
            f.org,
            "PV-08",
            Some(view.version),
            ControlUpdate {
                status: Some(ControlStatus::NotApplicable),
                justification: Some("All processing stays in the EU".into()),
                owner: Some(Some(f.manager.user)),
                ..Default::default()
            },
        )
        .await
        .expect("update at the read version");
    assert_eq!(updated.version, view.version + 1);
    match r
        .update_control(
            &f.officer,
            f.org,
            "PV-08",
            Some(view.version),
            ControlUpdate::default(),
        )
        .await
    {
        Err(Error::Conflict { .. }) => {}
        other => panic!("an update at a stale version must conflict, got {other:?}"),
    }
    expect_invalid(
        r.update_control(
            &f.officer,
            f.org,
            "PV-08",
            None,
            ControlUpdate {
                owner: Some(Some(f.msp.admin.user)),
                ..Default::default()
            },
        )
        .await,
        "owner",
    );
    expect_not_found(
        r.update_control(&f.officer, f.org, "ZZ-99", None, ControlUpdate::default())
            .await,
        "a control outside the program",
    );
    // A not-applicable control counts, so Art. 44-49 (transfers) are satisfied.
    assert_eq!(
        f.status("gdpr", "Art. 46").await,
        RequirementStatus::Satisfied
    );
}

pub async fn file_evidence_is_streamed_hashed_and_bounded(store: Arc<dyn Store>) {
    use futures::StreamExt as _;
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    // 600 KiB in 10 KiB pieces: three chunks in the store.
    let bytes: Vec<u8> = (0..600 * 1024).map(|i| (i % 251) as u8).collect();
    let pieces: Vec<std::result::Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(10 * 1024).map(|c| Ok(c.to_vec())).collect();
    let meta = NewEvidence {
        title: "Firewall configuration export".into(),
        collected_at: Some(at(-3600)),
        controls: BTreeSet::from(["NS-01".to_owned()]),
        ..Default::default()
    };
    let evidence = r
        .add_file_evidence(
            &f.officer,
            f.org,
            meta,
            "fw.cfg",
            "Text/Plain",
            futures::stream::iter(pieces),
        )
        .await
        .expect("file stored");
    use sha2::Digest as _;
    let expected_hash = hex::encode(sha2::Sha256::digest(&bytes));
    match &evidence.content {
        crate::compliance::EvidenceContent::File {
            size,
            sha256,
            chunks,
            content_type,
            ..
        } => {
            assert_eq!(*size, bytes.len() as u64);
            assert_eq!(sha256, &expected_hash, "hashed while streaming");
            assert_eq!(*chunks, 3);
            assert_eq!(content_type, "text/plain");
        }
        other => panic!("a file, got {other:?}"),
    }
    assert_eq!(
        evidence.collected_at,
        at(-3600),
        "collected and uploaded times are kept apart"
    );
    assert_eq!(evidence.uploaded_at, at(0));
    let file = r
        .open_evidence_file(&f.manager, f.org, evidence.id)
        .await
        .expect("open");
    assert_eq!(file.sha256, expected_hash);
    let read: Vec<Vec<u8>> = file.chunks.map(|c| c.expect("chunk")).collect().await;
    assert_eq!(read.concat(), bytes, "the file reads back byte for byte");

    // Over the limit: refused, and nothing recorded.
    let small = r.clone().with_evidence_limit(1000);
    let big: Vec<std::result::Result<Vec<u8>, std::io::Error>> =
        vec![Ok(vec![1; 600]), Ok(vec![2; 600])];
    let meta = NewEvidence {
        title: "Too big".into(),
        ..Default::default()
    };
    expect_invalid(
        small
            .add_file_evidence(
                &f.officer,
                f.org,
                meta.clone(),
                "big.bin",
                "application/octet-stream",
                futures::stream::iter(big),
            )
            .await,
        "file",
    );
    let failing: Vec<std::result::Result<Vec<u8>, std::io::Error>> = vec![
        Ok(vec![1; 10]),
        Err(std::io::Error::other("connection reset")),
    ];
    expect_invalid(
        r.add_file_evidence(
            &f.officer,
            f.org,
            meta.clone(),
            "cut.bin",
            "application/octet-stream",
            futures::stream::iter(failing),
        )
        .await,
        "file",
    );
    assert_eq!(
        r.evidence(
            &f.manager,
            f.org,
            crate::compliance::evidence::EvidenceQuery {
                control: None,
                limit: 500,
                ..Default::default()
            }
        )
        .await
        .expect("list")
        .items
        .len(),
        1,
        "refused uploads leave no record"
    );
    // Evidence supports controls of the org's program only.
    let stray = NewEvidence {
        title: "Stray".into(),
        controls: BTreeSet::from(["PS-05".to_owned()]),
        ..Default::default()
    };
    expect_invalid(
        r.add_link_evidence(&f.officer, f.org, stray, "https://x.test")
            .await,
        "controls",
    );
    expect_invalid(
        r.add_link_evidence(&f.officer, f.org, meta.clone(), "ftp://x.test")
            .await,
        "url",
    );
    let backwards = NewEvidence {
        valid_until: Some(at(-10)),
        ..meta
    };
    expect_invalid(
        r.add_link_evidence(&f.officer, f.org, backwards, "https://x.test")
            .await,
        "valid_until",
    );
}

pub async fn framework_features_unlock_with_adoption(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let baa = |vendor: &str, renewal_days: i64| NewAgreement {
        vendor: vendor.into(),
        services: "Cloud backup".into(),
        phi_access: "Stores encrypted ePHI".into(),
        status: AgreementStatus::Signed,
        signed_on: Some(at(0).date_naive() - chrono::Duration::days(300)),
        renewal_due: Some(at(0).date_naive() + chrono::Duration::days(renewal_days)),
        document: None,
        notes: String::new(),
    };
    match r
        .add_agreement(&f.officer, f.org, baa("Backblaze", 20))
        .await
    {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors[0].field, "framework");
            assert!(
                errors[0]
                    .message
                    .contains("adopt the hipaa framework first"),
                "{}",
                errors[0].message
            );
        }
        other => panic!("BAA tracking must wait for HIPAA, got {other:?}"),
    }
    f.adopt("hipaa").await;
    let backblaze = r
        .add_agreement(&f.officer, f.org, baa("Backblaze", 20))
        .await
        .expect("BAA");
    assert_eq!(
        r.agreement(&f.manager, f.org, backblaze.id)
            .await
            .expect("one agreement"),
        backblaze
    );
    expect_not_found(
        r.agreement(
            &f.manager,
            f.org,
            crate::ids::AgreementId(Uuid::from_u128(7)),
        )
        .await,
        "an agreement that is not in the register",
    );
    r.add_agreement(&f.officer, f.org, baa("Datto", 200))
        .await
        .expect("BAA");
    match r
        .add_agreement(&f.officer, f.org, baa("backblaze", 20))
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "vendor"),
        other => panic!("one agreement per vendor, got {other:?}"),
    }
    let mut unsigned = baa("Nobody", 30);
    unsigned.signed_on = None;
    expect_invalid(
        r.add_agreement(&f.officer, f.org, unsigned).await,
        "signed_on",
    );
    let due = r
        .agreements_expiring(&f.manager, f.org, 30, crate::store::ScanRequest::first(500))
        .await
        .expect("expiring")
        .items;
    assert_eq!(
        due.iter().map(|a| a.vendor.as_str()).collect::<Vec<_>>(),
        ["Backblaze"]
    );
    // A horizon past the end of the calendar holds every signed renewal
    // (found by fuzzing the HTTP API: it used to overflow).
    let all = r
        .agreements_expiring(
            &f.manager,
            f.org,
            u32::MAX,
            crate::store::ScanRequest::first(500),
        )
        .await
        .expect("a huge horizon is no error")
        .items;
    assert!(all.len() >= due.len());
    r.unadopt_framework(&f.manager, f.org, "hipaa")
        .await
        .expect("unadopt");
    expect_invalid(
        r.agreements(&f.manager, f.org, crate::store::PageRequest::first(500))
            .await,
        "framework",
    );
    f.adopt("hipaa").await;
    assert_eq!(
        r.agreements(&f.manager, f.org, crate::store::PageRequest::first(500))
            .await
            .expect("kept")
            .items
            .len(),
        2,
        "the register survived"
    );

    // ISO 27001: the Statement of Applicability.
    expect_invalid(
        r.statement_of_applicability(&f.manager, f.org).await,
        "framework",
    );
    f.adopt("iso27001").await;
    expect_invalid(
        r.scope_requirement(&f.manager, f.org, "iso27001", "A.7.4", Some("  "))
            .await,
        "justification",
    );
    r.scope_requirement(
        &f.manager,
        f.org,
        "iso27001",
        "A.7.4",
        Some("No physical premises; fully remote"),
    )
    .await
    .expect("excluded");
    let soa = r
        .statement_of_applicability(&f.manager, f.org)
        .await
        .expect("SoA");
    assert_eq!(soa.len(), 93, "every Annex A control");
    let excluded = soa.iter().find(|e| e.control == "A.7.4").expect("A.7.4");
    assert!(!excluded.applicable);
    assert_eq!(
        excluded.justification.as_deref(),
        Some("No physical premises; fully remote")
    );
    let csv = r
        .statement_of_applicability_csv(&f.manager, f.org)
        .await
        .expect("csv");
    assert_eq!(csv.lines().count(), 94);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("A.7.4,") && l.contains(",no,No physical premises")),
        "{csv}"
    );

    // SOC 2: security always in scope; other categories opt in.
    f.adopt("soc2").await;
    assert_eq!(
        f.status("soc2", "A1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_ne!(
        f.status("soc2", "CC6.1").await,
        RequirementStatus::NotApplicable
    );
    let adoption = r
        .set_trust_services_categories(
            &f.manager,
            f.org,
            BTreeSet::from([TrustServicesCategory::Availability]),
        )
        .await
        .expect("categories");
    assert!(
        adoption
            .settings
            .trust_services_categories
            .expect("set")
            .contains(&TrustServicesCategory::Security)
    );
    assert_ne!(
        f.status("soc2", "A1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_eq!(
        f.status("soc2", "C1.1").await,
        RequirementStatus::NotApplicable
    );

    // PCI DSS: appendices apply only when declared.
    f.adopt("pci-dss").await;
    assert_eq!(
        f.status("pci-dss", "A1.1.1").await,
        RequirementStatus::NotApplicable
    );
    r.set_pci_appendices(&f.manager, f.org, BTreeSet::from([PciAppendix::A1]))
        .await
        .expect("appendices");
    assert_ne!(
        f.status("pci-dss", "A1.1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_eq!(
        f.status("pci-dss", "A3.1.1").await,
        RequirementStatus::NotApplicable
    );

    // FTC Safeguards: the qualified individual and the small-institution exemption.
    f.adopt("ftc-safeguards").await;
    let qi = QualifiedIndividual {
        name: "Dana Cho".into(),
        title: "vCISO".into(),
        user: None,
        employer: Some("Northwind IT".into()),
        designated_on: at(0).date_naive(),
    };
    let adoption = r
        .set_ftc_profile(
            &f.manager,
            f.org,
            FtcProfile {
                qualified_individual: Some(qi.clone()),
                small_institution: true,
            },
        )
        .await
        .expect("FTC profile");
    assert_eq!(
        adoption.settings.ftc.expect("set").qualified_individual,
        Some(qi)
    );
    let evaluation = r.evaluation(&f.manager, f.org).await.expect("evaluation");
    for r in &evaluation
        .framework("ftc-safeguards")
        .expect("ftc")
        .requirements
    {
        let exempt = ["314.4(b)(1)", "314.4(d)(2)", "314.4(h)", "314.4(i)"]
            .iter()
            .any(|p| r.id.starts_with(p));
        assert_eq!(
            r.status == RequirementStatus::NotApplicable,
            exempt,
            "{}",
            r.id
        );
    }

    // CMMC: a Level 1 target scopes Level 2 out.
    f.adopt("cmmc").await;
    r.set_cmmc_profile(
        &f.manager,
        f.org,
        CmmcProfile {
            target_level: CmmcLevel::L1,
            mfa_partial: false,
            encryption_not_fips_validated: false,
        },
    )
    .await
    .expect("profile");
    assert_eq!(
        f.status("cmmc", "AC.L2-3.1.1").await,
        RequirementStatus::NotApplicable
    );
    assert_ne!(
        f.status("cmmc", "AC.L1-b.1.i").await,
        RequirementStatus::NotApplicable
    );
}

/// The review of 2026-11: PCI DSS requirements for service providers leave
/// a merchant-only org's scope, and 314.4(a)(1)-(3) leave an FTC org's scope
/// when its Qualified Individual is its own employee; neither before the
/// org says so.
pub async fn scope_settings_leave_out_what_does_not_apply(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("pci-dss").await;
    let provider_only = [
        "3.6.1.1", "8.3.10", "10.7.1", "11.4.7", "12.4.2.1", "12.9.1",
    ];
    for id in provider_only {
        assert_ne!(
            f.status("pci-dss", id).await,
            RequirementStatus::NotApplicable,
            "{id} stays in scope until the org declares itself a merchant only"
        );
    }
    let adoption = r
        .set_pci_entity(&f.manager, f.org, PciEntity::MerchantOnly)
        .await
        .expect("entity");
    assert_eq!(adoption.settings.pci_entity, Some(PciEntity::MerchantOnly));
    let evaluation = r.evaluation(&f.manager, f.org).await.expect("evaluation");
    let pci = evaluation.framework("pci-dss").expect("pci");
    for id in provider_only {
        let row = pci.requirements.iter().find(|q| q.id == id).expect("row");
        assert_eq!(row.status, RequirementStatus::NotApplicable, "{id}");
        assert!(
            row.justification
                .as_deref()
                .is_some_and(|j| j.contains("service providers only")),
            "{id}: {:?}",
            row.justification
        );
    }
    for id in ["3.6.1", "8.3.9", "11.4.5", "12.4.1"] {
        assert_ne!(
            f.status("pci-dss", id).await,
            RequirementStatus::NotApplicable,
            "{id} applies to merchants too"
        );
    }
    r.set_pci_entity(&f.manager, f.org, PciEntity::ServiceProvider)
        .await
        .expect("entity");
    assert_ne!(
        f.status("pci-dss", "8.3.10").await,
        RequirementStatus::NotApplicable
    );

    f.adopt("ftc-safeguards").await;
    let outsourced_only = ["314.4(a)(1)", "314.4(a)(2)", "314.4(a)(3)"];
    let profile = |employer: Option<&str>| FtcProfile {
        qualified_individual: Some(QualifiedIndividual {
            name: "Dana Cho".into(),
            title: "Security lead".into(),
            user: None,
            employer: employer.map(str::to_owned),
            designated_on: at(0).date_naive(),
        }),
        small_institution: false,
    };
    r.set_ftc_profile(&f.manager, f.org, profile(None))
        .await
        .expect("own employee");
    for id in outsourced_only {
        assert_eq!(
            f.status("ftc-safeguards", id).await,
            RequirementStatus::NotApplicable,
            "{id}"
        );
    }
    assert_ne!(
        f.status("ftc-safeguards", "314.4(a)").await,
        RequirementStatus::NotApplicable,
        "designating the Qualified Individual is always required"
    );
    r.set_ftc_profile(&f.manager, f.org, profile(Some("Northwind IT")))
        .await
        .expect("vCISO");
    for id in outsourced_only {
        assert_ne!(
            f.status("ftc-safeguards", id).await,
            RequirementStatus::NotApplicable,
            "{id}"
        );
    }
    // The individual's account: one of the client's people, or its MSP's
    // staff (a vCISO); anyone else, another tenant's admin included, is
    // refused by the field.
    let with_account = |user| FtcProfile {
        qualified_individual: Some(QualifiedIndividual {
            user: Some(user),
            ..profile(None).qualified_individual.expect("set above")
        }),
        small_institution: false,
    };
    r.set_ftc_profile(&f.manager, f.org, with_account(f.officer.user))
        .await
        .expect("a member of the client");
    r.set_ftc_profile(&f.manager, f.org, with_account(f.msp.admin.user))
        .await
        .expect("the MSP's staff");
    let stranger = msp_in(r.clone(), f.msp.operator.clone(), "Southwind IT").await;
    expect_invalid(
        r.set_ftc_profile(&f.manager, f.org, with_account(stranger.admin.user))
            .await,
        "qualified_individual.user",
    );
    // A stranger to the org learns nothing from the body: 404 first.
    expect_not_found(
        r.set_ftc_profile(&stranger.admin, f.org, with_account(stranger.admin.user))
            .await,
        "another tenant setting the profile",
    );
    // Each setting on its own keeps the other as it is at the commit.
    r.set_ftc_small_institution(&f.manager, f.org, true)
        .await
        .expect("the exemption");
    let cleared = r
        .set_qualified_individual(&f.manager, f.org, None)
        .await
        .expect("cleared");
    assert_eq!(
        cleared.settings.ftc,
        Some(FtcProfile {
            qualified_individual: None,
            small_institution: true
        }),
        "clearing the individual keeps the exemption"
    );
    let designated = r
        .set_qualified_individual(&f.manager, f.org, profile(None).qualified_individual)
        .await
        .expect("designated");
    assert!(
        designated
            .settings
            .ftc
            .is_some_and(|p| p.small_institution && p.qualified_individual.is_some())
    );
    expect_invalid(
        r.set_qualified_individual(
            &f.manager,
            f.org,
            with_account(stranger.admin.user).qualified_individual,
        )
        .await,
        "qualified_individual.user",
    );
}

pub async fn sprs_score_starts_at_minus_203_and_credits_partial_mfa(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    expect_invalid(r.sprs_score(&f.manager, f.org).await, "framework");
    f.adopt("cmmc").await;
    let nothing = r.sprs_score(&f.manager, f.org).await.expect("score");
    assert_eq!(
        (nothing.score, nothing.met, nothing.assessed),
        (-203, 0, 110),
        "nothing met: 110 - 313"
    );
    assert!(!nothing.system_security_plan);
    assert_eq!(nothing.plan_of_action.len(), 110);
    assert_eq!(nothing.plan_of_action[0].points, 5, "heaviest first");
    r.set_cmmc_profile(
        &f.manager,
        f.org,
        CmmcProfile {
            target_level: CmmcLevel::L2,
            mfa_partial: true,
            encryption_not_fips_validated: true,
        },
    )
    .await
    .expect("profile");
    let partial = r.sprs_score(&f.manager, f.org).await.expect("score");
    assert_eq!(partial.score, -199, "3.5.3 and 3.13.11 cost 3 instead of 5");
}

pub async fn reports_and_assessments(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    expect_invalid(
        r.gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Csv,
        )
        .await,
        "framework",
    );
    f.adopt("ftc-safeguards").await;
    f.implement("GV-02").await;
    let csv = r
        .gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Csv,
        )
        .await
        .expect("csv");
    let assessable = crate::catalog::Catalog::builtin()
        .framework("ftc-safeguards")
        .expect("ftc")
        .assessable()
        .count();
    assert_eq!(
        csv.lines().count(),
        assessable + 1,
        "a header and a row per requirement"
    );
    let md = r
        .gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Markdown,
        )
        .await
        .expect("markdown");
    assert!(md.starts_with("# FTC Safeguards Rule gap analysis"));
    let json: serde_json::Value = serde_json::from_str(
        &r.gap_report(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::compliance::report::ReportFormat::Json,
        )
        .await
        .expect("json"),
    )
    .expect("valid JSON");
    assert_eq!(json["framework"], "ftc-safeguards");
    let first = r
        .run_assessment(&f.officer, f.org, "ftc-safeguards")
        .await
        .expect("assessment");
    f.clock.advance(chrono::Duration::days(30));
    f.implement("RM-01").await;
    let second = r
        .run_assessment(&f.officer, f.org, "ftc-safeguards")
        .await
        .expect("assessment");
    assert!(
        second.score > first.score,
        "progress shows between assessments"
    );
    let history = r
        .assessments(
            &f.manager,
            f.org,
            "ftc-safeguards",
            crate::store::PageRequest::first(500),
        )
        .await
        .expect("history")
        .items;
    assert_eq!(
        history.iter().map(|a| a.at).collect::<Vec<_>>(),
        [first.at, second.at]
    );
    // Each requirement's status is kept, so two assessments compare
    // requirement by requirement.
    assert_eq!(first.requirements.len(), first.totals.total);
    assert_eq!(history[1].requirements, second.requirements);
    let change =
        crate::compliance::compare_assessments(&history[1], &history[0]).expect("comparable");
    assert_eq!(change.from, first.id, "the earlier one is the start");
    assert!(change.improved > 0, "{change:?}");
    assert_eq!(change.regressed, 0);
}

pub async fn gaps_put_the_controls_closing_most_requirements_first(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    f.adopt("hipaa").await;
    f.adopt("nist-csf").await;
    f.implement("GV-01").await;
    let gaps = f.r().gap_analysis(&f.manager, f.org).await.expect("gaps");
    // Count, independently, the open requirements each control maps across both frameworks.
    let catalog = crate::catalog::Catalog::builtin();
    let evaluation = f
        .r()
        .evaluation(&f.manager, f.org)
        .await
        .expect("evaluation");
    let mut expected: std::collections::BTreeMap<&str, usize> = Default::default();
    for fe in &evaluation.frameworks {
        for q in &fe.requirements {
            if matches!(
                q.status,
                RequirementStatus::Gap | RequirementStatus::Partial
            ) {
                for c in &q.missing {
                    *expected.entry(c.as_str()).or_default() += 1;
                }
            }
        }
    }
    for fw in &gaps.frameworks {
        let closes: Vec<usize> = fw.priorities.iter().map(|p| p.closes).collect();
        assert!(
            closes.windows(2).all(|w| w[0] >= w[1]),
            "{} priorities ordered by leverage",
            fw.framework
        );
        for p in &fw.priorities {
            assert_eq!(
                p.closes,
                expected[p.control.as_str()],
                "{} closes",
                p.control
            );
        }
        let best: Vec<usize> = fw.gaps.iter().map(|g| g.missing[0].closes).collect();
        assert!(
            best.windows(2).all(|w| w[0] >= w[1]),
            "gaps ordered by their best control"
        );
        let total: usize = fw.sections.iter().map(|s| s.totals.total).sum();
        assert_eq!(
            total,
            catalog
                .framework(&fw.framework)
                .expect("fw")
                .assessable()
                .count()
        );
    }
    assert_eq!(gaps.summary.frameworks.len(), 2);
    assert_eq!(gaps.summary.consolidation.frameworks, ["hipaa", "nist-csf"]);
    // Across both frameworks: every control with an open requirement once,
    // the one closing the most first.
    let start = gaps.where_to_start();
    assert_eq!(
        start
            .iter()
            .map(|c| c.control.as_str())
            .collect::<std::collections::BTreeSet<_>>(),
        expected.keys().copied().collect(),
    );
    assert!(start.windows(2).all(|w| w[0].closes >= w[1].closes));
    assert!(
        start
            .iter()
            .all(|c| c.closes == expected[c.control.as_str()])
    );
    assert!(start.iter().all(|c| c.control != "GV-01"), "implemented");
}

pub async fn compliance_permissions_follow_the_matrix(store: Arc<dyn Store>) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let org = f.org;
    f.adopt("hipaa").await;
    let mut people = vec![
        ("compliance_manager", f.manager.clone()),
        ("compliance_officer", f.officer.clone()),
    ];
    for role in [
        Role::OrgAdmin,
        Role::Viewer,
        Role::Employee,
        Role::Technician,
    ] {
        people.push((
            role.key(),
            member(&f.msp, org, &format!("{}@acme.test", role.key()), role).await,
        ));
    }
    people.push(("msp_admin (delegated)", f.msp.admin.clone()));
    // What the issue grants, operation by operation: Y allowed, - refused.
    // columns: manager officer org_admin viewer employee technician msp_admin
    let expected: [(&str, [bool; 7]); 7] = [
        ("adopt", [true, false, true, false, false, false, true]),
        (
            "update control",
            [true, true, true, false, false, false, true],
        ),
        (
            "upload evidence",
            [true, true, true, false, false, false, true],
        ),
        (
            "run assessment",
            [true, true, true, false, false, false, true],
        ),
        ("read gaps", [true, true, true, true, false, false, true]),
        (
            "read evidence",
            [true, true, true, true, false, false, true],
        ),
        (
            "generate report",
            [true, true, true, true, false, false, true],
        ),
    ];
    for (operation, allowed) in expected {
        for ((role, who), allow) in people.iter().zip(allowed) {
            let outcome: crate::Result<()> = match operation {
                "adopt" => r.adopt_framework(who, org, "gdpr").await.map(|_| ()),
                "update control" => r
                    .update_control(
                        who,
                        org,
                        "RM-01",
                        None,
                        ControlUpdate {
                            notes: Some(format!("by {role}")),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| ()),
                "upload evidence" => r
                    .add_link_evidence(
                        who,
                        org,
                        NewEvidence {
                            title: format!("by {role}"),
                            ..Default::default()
                        },
                        "https://e.test",
                    )
                    .await
                    .map(|_| ()),
                "run assessment" => r.run_assessment(who, org, "hipaa").await.map(|_| ()),
                "read gaps" => r.gap_analysis(who, org).await.map(|_| ()),
                "read evidence" => r
                    .evidence(
                        who,
                        org,
                        crate::compliance::evidence::EvidenceQuery {
                            control: None,
                            limit: 500,
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|_| ()),
                "generate report" => r
                    .gap_report(
                        who,
                        org,
                        "hipaa",
                        crate::compliance::report::ReportFormat::Markdown,
                    )
                    .await
                    .map(|_| ()),
                other => unreachable!("{other}"),
            };
            match (allow, outcome) {
                (true, Ok(())) | (false, Err(Error::PermissionDenied { .. })) => {}
                (want, got) => panic!("{role} / {operation}: expected allowed={want}, got {got:?}"),
            }
        }
    }
}

pub async fn a_declared_file_hash_must_match_the_stored_bytes(store: Arc<dyn Store>) {
    use crate::compliance::evidence::NewFile;
    use sha2::Digest as _;
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    let bytes = b"access review, Q4".to_vec();
    let body = || futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes.clone())]);
    let file = |sha256: Option<String>| NewFile {
        name: "review.txt".into(),
        content_type: "text/plain".into(),
        sha256,
    };
    let meta = NewEvidence {
        title: "Access review".into(),
        ..Default::default()
    };
    let right = hex::encode(sha2::Sha256::digest(&bytes)).to_uppercase();
    let stored = r
        .upload_evidence_file(&f.officer, f.org, meta.clone(), file(Some(right)), body())
        .await
        .expect("a matching hash, in any case, is accepted");
    let before = actions(&f.msp, f.org).await.len();
    expect_invalid(
        r.upload_evidence_file(
            &f.officer,
            f.org,
            meta.clone(),
            file(Some("00".repeat(32))),
            body(),
        )
        .await,
        "file",
    );
    expect_invalid(
        r.upload_evidence_file(&f.officer, f.org, meta, file(Some("xyz".into())), body())
            .await,
        "sha256",
    );
    let listed = r
        .evidence(
            &f.manager,
            f.org,
            crate::compliance::evidence::EvidenceQuery {
                control: None,
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("list")
        .items;
    assert_eq!(
        listed.iter().map(|e| e.evidence.id).collect::<Vec<_>>(),
        [stored.id],
        "a mismatched upload leaves no record"
    );
    assert_eq!(
        actions(&f.msp, f.org).await.len(),
        before,
        "nor an audit event"
    );
}

pub async fn framework_keys_and_requirement_ids_are_taken_as_people_write_them(
    store: Arc<dyn Store>,
) {
    let f = compliance_fixture(store).await;
    let r = f.r();
    let adoption = r
        .adopt_framework(&f.manager, f.org, "ISO-27001")
        .await
        .expect("adopted");
    assert_eq!(adoption.framework, "iso27001", "stored under its key");
    let again = r
        .adopt_framework(&f.manager, f.org, "iso_27001")
        .await
        .expect("adopting again changes nothing");
    assert_eq!(again.id, adoption.id);
    match r.adopt_framework(&f.manager, f.org, "sox").await {
        Err(Error::Validation(errors)) => {
            assert_eq!(errors[0].field, "framework");
            for key in crate::catalog::Catalog::builtin().framework_keys() {
                assert!(errors[0].message.contains(key), "{}", errors[0].message);
            }
        }
        other => panic!("an unknown framework must be refused, got {other:?}"),
    }

    // The official id names its requirement, even one a short form shares
    // (ISO/IEC 27001 clause 8.1 and A.8.1); a short form has to name one.
    let scoped = r
        .scope_requirement(
            &f.manager,
            f.org,
            "ISO27001",
            "8.1",
            Some("covered elsewhere"),
        )
        .await
        .expect("clause 8.1");
    assert!(scoped.scoped_out.contains_key("8.1"));
    assert!(!scoped.scoped_out.contains_key("A.8.1"));
    let scoped = r
        .scope_requirement(&f.manager, f.org, "iso27001", "8.34", Some("no audits"))
        .await
        .expect("A.8.34");
    assert!(scoped.scoped_out.contains_key("A.8.34"));
    f.adopt("cmmc").await;
    expect_invalid(
        r.scope_requirement(&f.manager, f.org, "CMMC", "3.1.1", Some("x"))
            .await,
        "requirement",
    );
    let scoped = r
        .scope_requirement(&f.manager, f.org, "cmmc", "3.1.3", Some("no CUI flows"))
        .await
        .expect("AC.L2-3.1.3");
    assert!(scoped.scoped_out.contains_key("AC.L2-3.1.3"));

    let gaps = r
        .framework_gap_analysis(&f.manager, f.org, "Iso 27001")
        .await
        .expect("gaps");
    assert_eq!(gaps.framework, "iso27001");
    let titled = gaps.control_titles.get("CR-01").expect("A.8.24 maps CR-01");
    assert!(!titled.is_empty());
    expect_not_found(
        r.framework_gap_analysis(&f.manager, f.org, "soc2").await,
        "a framework that is not adopted",
    );
    r.gap_report(
        &f.manager,
        f.org,
        "iso-27001",
        crate::compliance::report::ReportFormat::Csv,
    )
    .await
    .expect("report");
    let assessment = r
        .run_assessment(&f.manager, f.org, "ISO27001")
        .await
        .expect("assessment");
    assert_eq!(assessment.framework, "iso27001");
    let past = r
        .assessments(
            &f.manager,
            f.org,
            "iso_27001",
            crate::store::PageRequest::first(10),
        )
        .await
        .expect("assessments");
    assert_eq!(past.items.len(), 1);
    let unadopted = r
        .unadopt_framework(&f.manager, f.org, "Iso27001")
        .await
        .expect("unadopted");
    assert!(!unadopted.active);
}

/// A control's page reads: its history (every change, oldest first, paged,
/// with who made it), where its evidence stands (none, current, expiring,
/// expired as the clock moves) and who could own it, by name; another
/// tenant's control and a technician are refused.
pub async fn a_controls_history_evidence_state_and_owners(store: Arc<dyn Store>) {
    use crate::compliance::EvidenceState;
    let f = compliance_fixture(store).await;
    let r = f.r();
    f.adopt("hipaa").await;
    let view = r
        .control(&f.officer, f.org, "RM-01")
        .await
        .expect("control");
    assert_eq!(view.evidence_state, EvidenceState::None);
    for status in [ControlStatus::InProgress, ControlStatus::Implemented] {
        r.update_control(
            &f.officer,
            f.org,
            "RM-01",
            None,
            ControlUpdate {
                status: Some(status),
                owner: Some(Some(f.manager.user)),
                ..Default::default()
            },
        )
        .await
        .expect("updated");
    }
    // Another control's change is not this one's history.
    r.update_control(
        &f.officer,
        f.org,
        "AC-01",
        None,
        ControlUpdate {
            status: Some(ControlStatus::InProgress),
            ..Default::default()
        },
    )
    .await
    .expect("other control");
    let first = r
        .control_history(&f.manager, f.org, "RM-01", None, 1)
        .await
        .expect("history");
    assert_eq!(first.items.len(), 1);
    let rest = r
        .control_history(&f.manager, f.org, "RM-01", first.next, 50)
        .await
        .expect("the next page");
    let trail: Vec<(String, serde_json::Value)> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|e| (e.action.clone(), e.details["status"]["to"].clone()))
        .collect();
    assert_eq!(
        trail,
        [
            ("control.updated".to_owned(), json!("in_progress")),
            ("control.updated".to_owned(), json!("implemented")),
        ]
    );
    assert_eq!(rest.items[0].actor.user, Some(f.officer.user));
    assert!(rest.next.is_none());

    // Evidence valid for 40 days: current, then expiring, then expired.
    let meta = NewEvidence {
        title: "Risk assessment".into(),
        valid_until: Some(at(0) + chrono::Duration::days(40)),
        controls: BTreeSet::from(["RM-01".to_owned()]),
        ..Default::default()
    };
    r.add_attestation(&f.officer, f.org, meta, "Assessed.")
        .await
        .expect("attestation");
    let state = || async {
        r.control(&f.officer, f.org, "RM-01")
            .await
            .expect("control")
            .evidence_state
    };
    assert_eq!(state().await, EvidenceState::Current);
    f.clock.advance(chrono::Duration::days(15));
    assert_eq!(state().await, EvidenceState::Expiring);
    let listed = r
        .evidence(&f.officer, f.org, Default::default())
        .await
        .expect("evidence");
    assert_eq!(listed.items[0].state, EvidenceState::Expiring);
    f.clock.advance(chrono::Duration::days(30));
    assert_eq!(state().await, EvidenceState::Expired);

    let owners = r.control_owners(&f.officer, f.org).await.expect("owners");
    assert!(owners.iter().any(|p| p.user == f.manager.user));
    assert!(owners.iter().any(|p| p.user == f.officer.user));
    assert!(
        !owners.iter().any(|p| p.user == f.msp.admin.user),
        "an MSP admin acts by delegation and is no member to own a control"
    );

    let other = f.msp.clients[1];
    expect_not_found(
        r.control_history(&f.msp.admin, other, "RM-01", None, 10)
            .await,
        "a control of a client that did not adopt it",
    );
    let tech = member(&f.msp, f.org, "tech@acme.test", Role::Technician).await;
    assert!(matches!(
        r.control_history(&tech, f.org, "RM-01", None, 10).await,
        Err(Error::PermissionDenied { .. })
    ));
    assert!(matches!(
        r.control_owners(&tech, f.org).await,
        Err(Error::PermissionDenied { .. })
    ));
}
