//! An MSP on the embedded store, in memory: the platform operator creates the
//! MSP, its admin creates two clients and assigns staff, the program prints
//! who can do what where, then starts a client's HIPAA and SOC 2 program and
//! prints where it stands.
//!
//! Run it with `cargo run --example msp_quickstart`.

use std::sync::Arc;

use regentra::compliance::{ControlStatus, ControlUpdate, NewEvidence};
use regentra::embedded::EmbeddedStore;
use regentra::rbac::{Permission, Role};
use regentra::store::PageRequest;
use regentra::tenancy::{ChainVerification, OrgKind};
use regentra::{OrgId, Principal, Regentra, Result, UserId};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let store = EmbeddedStore::in_memory().await?;
    let regentra = Regentra::new(Arc::new(store));

    // The platform's first operator, then an MSP with its admin.
    let ops = regentra
        .bootstrap_platform_admin("ops@platform.example", "Platform Ops")
        .await?;
    let ops = Principal::new(ops.id);
    let msp = regentra
        .create_organization(&ops, "Northwind IT", OrgKind::Msp)
        .await?;
    let alice = regentra
        .add_member(
            &ops,
            msp.id,
            "alice@northwind.example",
            "Alice (MSP admin)",
            Role::MspAdmin,
        )
        .await?;
    let alice = Principal::new(alice.membership().expect("shown to the operator").user);

    // Alice creates two clients and hires two staff members into the MSP.
    let dental = regentra
        .create_client(&alice, msp.id, "Acme Dental")
        .await?;
    let legal = regentra.create_client(&alice, msp.id, "Bolt Legal").await?;
    regentra
        .add_member(
            &alice,
            msp.id,
            "tom@northwind.example",
            "Tom",
            Role::Technician,
        )
        .await?;
    let tom = account(&regentra, "tom@northwind.example").await?;
    regentra
        .add_member(
            &alice,
            msp.id,
            "cora@northwind.example",
            "Cora",
            Role::ComplianceOfficer,
        )
        .await?;
    let cora = account(&regentra, "cora@northwind.example").await?;

    // Tom is a technician at Acme Dental and the compliance officer of Bolt
    // Legal; Cora works Acme Dental's compliance program.
    regentra
        .assign_staff(&alice, msp.id, dental.id, tom, Role::Technician)
        .await?;
    regentra
        .assign_staff(&alice, msp.id, legal.id, tom, Role::ComplianceOfficer)
        .await?;
    regentra
        .assign_staff(&alice, msp.id, dental.id, cora, Role::ComplianceOfficer)
        .await?;
    // Acme Dental's office manager is an employee there, and nowhere else.
    regentra
        .add_member(
            &alice,
            dental.id,
            "erin@acme-dental.example",
            "Erin",
            Role::Employee,
        )
        .await?;
    let erin = account(&regentra, "erin@acme-dental.example").await?;

    let clients = regentra
        .list_clients(&alice, msp.id, PageRequest::first(50))
        .await?;
    println!("{} manages {} clients:", msp.name, clients.len());
    for client in &clients {
        println!("  - {}", client.name);
    }

    let people = [
        ("Alice", alice.clone()),
        ("Tom", Principal::new(tom)),
        ("Cora", Principal::new(cora)),
        ("Erin", Principal::new(erin)),
    ];
    let orgs = [
        (msp.name.as_str(), msp.id),
        (dental.name.as_str(), dental.id),
        (legal.name.as_str(), legal.id),
    ];
    let probes = [
        Permission::TenantsManage,
        Permission::MembersManage,
        Permission::TicketsManage,
        Permission::ControlsUpdate,
        Permission::PoliciesRead,
        Permission::AuditRead,
    ];

    println!("\nWho can do what where:");
    for (name, principal) in &people {
        println!("\n{name}:");
        for access in regentra.my_organizations(principal).await? {
            let held: Vec<String> = access
                .roles
                .iter()
                .map(|g| format!("{} ({})", g.role, via(&g.via)))
                .collect();
            println!("  in {:<13} as {}", access.org.name, held.join(", "));
        }
        for (org_name, org) in orgs {
            let mut allowed = Vec::new();
            for permission in probes {
                if let Some(mark) = check(&regentra, principal, org, permission).await {
                    allowed.push(format!("{permission}{mark}"));
                }
            }
            let summary = if allowed.is_empty() {
                "nothing (the org is invisible)".to_owned()
            } else {
                allowed.join(" ")
            };
            println!("    {org_name:<13} {summary}");
        }
    }

    // Alice starts Acme Dental's compliance program: HIPAA and SOC 2 share
    // their common controls, so Cora works each control once.
    regentra.adopt_framework(&alice, dental.id, "hipaa").await?;
    regentra.adopt_framework(&alice, dental.id, "soc2").await?;
    let cora = Principal::new(cora);
    for control in ["RM-01", "IA-01", "CR-01"] {
        regentra
            .update_control(
                &cora,
                dental.id,
                control,
                None,
                ControlUpdate {
                    status: Some(ControlStatus::Implemented),
                    ..Default::default()
                },
            )
            .await?;
        let evidence = NewEvidence {
            title: format!("{control} attestation"),
            controls: [control.to_owned()].into(),
            ..Default::default()
        };
        regentra
            .add_attestation(&cora, dental.id, evidence, "Reviewed and in place.")
            .await?;
    }
    let gaps = regentra.gap_analysis(&cora, dental.id).await?;
    println!("\nAcme Dental's compliance program:");
    for f in &gaps.summary.frameworks {
        println!(
            "  {:<6} {:>5.1}%  ({} satisfied, {} partial, {} gaps)",
            f.name, f.score, f.totals.satisfied, f.totals.partial, f.totals.gap
        );
    }
    let c = &gaps.summary.consolidation;
    println!(
        "  {} requirements come down to {} common controls; {} are shared by both frameworks.",
        c.requirements,
        c.controls,
        gaps.summary.shared_controls.len()
    );
    if let Some(next) = gaps.frameworks.first().and_then(|f| f.priorities.first()) {
        println!(
            "  Next best control: {} {} (helps close {} open requirements).",
            next.control, next.title, next.closes
        );
    }

    let report = regentra
        .verify_audit_chain(&alice, dental.id, ChainVerification::SinceCheckpoint)
        .await?;
    println!(
        "\nAcme Dental's audit chain: {} events, {}",
        report.events,
        match report.first_break {
            None => "verified".to_owned(),
            Some(b) => b.to_string(),
        }
    );
    Ok(())
}

/// `Some("")` when allowed on every record, `Some("(own)")` when only on the
/// caller's own, `None` when refused or the org is out of reach.
async fn check(
    regentra: &Regentra,
    who: &Principal,
    org: OrgId,
    permission: Permission,
) -> Option<&'static str> {
    match regentra.authorize(who, org, permission).await {
        Ok(grant) if grant.access == regentra::rbac::Access::Own => Some("(own)"),
        Ok(_) => Some(""),
        Err(_) => None,
    }
}

fn via(via: &regentra::rbac::Via) -> &'static str {
    match via {
        regentra::rbac::Via::Membership => "member",
        regentra::rbac::Via::MspDelegation { .. } => "through the MSP",
        regentra::rbac::Via::Platform => "platform operator",
    }
}

/// The account behind an email, as the host reads it from its store. An
/// MSP admin's `add_member` answer does not name the account: it would tell
/// whether the email already had one (another tenant's person).
async fn account(regentra: &Regentra, email: &str) -> Result<UserId> {
    regentra::store::find_unique::<regentra::tenancy::User>(
        regentra.store(),
        regentra::store::Scope::Platform,
        "email",
        email,
    )
    .await?
    .map(|u| u.value.id)
    .ok_or(regentra::Error::NotFound { what: "user" })
}
