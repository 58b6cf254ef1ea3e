//! Gap analysis for an org with all eight frameworks adopted (861
//! requirements over 99 controls): the pure derivation, and the service
//! call that reads the org's state once and derives everything.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use regentra::embedded::EmbeddedStore;
use regentra::store::Store;
use regentra_core::catalog::Catalog;
use regentra_core::compliance::{evaluate, gap_analysis};
use regentra_core::testing::services::{ComplianceFixture, compliance_fixture};

const ALL: [&str; 8] = [
    "hipaa",
    "soc2",
    "nist-csf",
    "iso27001",
    "cmmc",
    "pci-dss",
    "gdpr",
    "ftc-safeguards",
];

/// All eight adopted; every other control implemented with evidence.
async fn org_with_everything() -> ComplianceFixture {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory().await.expect("store"));
    let f = compliance_fixture(store).await;
    for framework in ALL {
        f.adopt(framework).await;
    }
    for control in Catalog::builtin().controls().iter().step_by(2) {
        f.implement(&control.key).await;
    }
    f
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let f = rt.block_on(org_with_everything());
    let catalog = Catalog::builtin();
    // The same state the service reads, for the pure benchmark.
    let org_state = rt.block_on(async {
        let r = f.r();
        let scope = regentra::store::Scope::Org(f.org);
        regentra_core::compliance::OrgState {
            adoptions: regentra::store::all(r.store(), scope)
                .await
                .expect("adoptions")
                .into_iter()
                .map(|v| v.value)
                .collect(),
            controls: regentra::store::all::<regentra_core::compliance::ControlImplementation>(
                r.store(),
                scope,
            )
            .await
            .expect("controls")
            .into_iter()
            .map(|v| (v.value.control.clone(), v.value))
            .collect(),
            evidence: regentra::store::all(r.store(), scope)
                .await
                .expect("evidence")
                .into_iter()
                .map(|v| v.value)
                .collect(),
        }
    });
    let now = regentra_core::Clock::now(f.clock.as_ref());

    c.bench_function("gap_analysis/derive_8_frameworks", |b| {
        b.iter(|| {
            gap_analysis(
                catalog,
                &evaluate(catalog, std::hint::black_box(&org_state), now),
            )
        })
    });
    c.bench_function("gap_analysis/service_8_frameworks_in_memory", |b| {
        b.to_async(&rt).iter(|| async {
            f.r()
                .gap_analysis(&f.manager, f.org)
                .await
                .expect("gap analysis")
        })
    });
}

criterion_group!(compliance, benches);
criterion_main!(compliance);
