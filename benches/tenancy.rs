//! What every request pays before it does its own work: the authorization
//! chokepoint (matrix lookup plus the membership and delegation reads), and
//! one audited change set committed by the embedded store.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use regentra::embedded::EmbeddedStore;
use regentra::rbac::{Permission, Role, decide};
use regentra::tenancy::OrgKind;
use regentra::{Principal, Regentra};

struct Fixture {
    regentra: Regentra,
    admin: Principal,
    tech: Principal,
    msp: regentra::OrgId,
    client: regentra::OrgId,
}

async fn fixture(store: impl regentra::store::Store + 'static) -> Fixture {
    let regentra = Regentra::new(Arc::new(store));
    let ops = regentra
        .bootstrap_platform_admin("ops@bench.test", "Ops")
        .await
        .expect("bootstrap");
    let ops = Principal::new(ops.id);
    let msp = regentra
        .create_organization(&ops, "Bench MSP", OrgKind::Msp)
        .await
        .expect("msp")
        .id;
    let admin = regentra
        .add_member(&ops, msp, "admin@bench.test", "Admin", Role::MspAdmin)
        .await
        .expect("admin");
    let admin = Principal::new(admin.membership().expect("shown to the operator").user);
    let client = regentra
        .create_client(&admin, msp, "Bench Client")
        .await
        .expect("client")
        .id;
    let tech = regentra
        .add_member(&ops, msp, "tech@bench.test", "Tech", Role::Technician)
        .await
        .expect("tech");
    let tech = tech.membership().expect("shown to the operator").clone();
    regentra
        .assign_staff(&admin, msp, client, tech.user, Role::Technician)
        .await
        .expect("assign");
    Fixture {
        regentra,
        admin,
        tech: Principal::new(tech.user),
        msp,
        client,
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    c.bench_function("rbac/decide_full_matrix", |b| {
        b.iter(|| {
            let mut allowed = 0;
            for role in Role::ALL {
                for &p in Permission::ALL {
                    allowed += usize::from(decide(std::hint::black_box(role), p).is_allowed());
                }
            }
            allowed
        })
    });

    let memory =
        rt.block_on(async { fixture(EmbeddedStore::in_memory().await.expect("store")).await });
    c.bench_function("authorize/member_in_memory", |b| {
        b.to_async(&rt).iter(|| async {
            memory
                .regentra
                .authorize(&memory.tech, memory.client, Permission::TicketsManage)
                .await
                .expect("allowed")
        })
    });
    bench_rename(c, &rt, "apply/rename_with_audit_in_memory", &memory);

    let dir = tempfile::tempdir().expect("temp dir");
    let file = rt.block_on(async {
        fixture(
            EmbeddedStore::open(dir.path().join("bench.redb"))
                .await
                .expect("store"),
        )
        .await
    });
    bench_rename(c, &rt, "apply/rename_with_audit_on_disk", &file);

    // Postgres, when a server is configured (REGENTRA_TEST_DATABASE_URL); the
    // database is dropped when the fixture goes.
    if let Some(store) = rt.block_on(regentra_store_postgres::testing::fresh_store()) {
        let pg = rt.block_on(fixture(store));
        c.bench_function("authorize/member_postgres", |b| {
            b.to_async(&rt).iter(|| async {
                pg.regentra
                    .authorize(&pg.tech, pg.client, Permission::TicketsManage)
                    .await
                    .expect("allowed")
            })
        });
        bench_rename(c, &rt, "apply/rename_with_audit_postgres", &pg);
    }
}

/// One audited mutation: authorize, load, and commit a rename with its event.
fn bench_rename(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, f: &Fixture) {
    let mut n = 0u64;
    c.bench_function(name, |b| {
        b.to_async(rt).iter(|| {
            n += 1;
            let new_name = format!("Bench MSP {n}");
            async move {
                f.regentra
                    .rename_organization(&f.admin, f.msp, &new_name)
                    .await
                    .expect("renamed")
            }
        })
    });
}

criterion_group!(tenancy, benches);
criterion_main!(tenancy);
