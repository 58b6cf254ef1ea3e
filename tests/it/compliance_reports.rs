//! Gap-analysis reports, pinned as snapshots, and the cost rule: a gap
//! analysis reads the org's state a fixed number of times, whatever the
//! number of frameworks adopted.

use std::sync::Arc;

use regentra_core::compliance::report::{ReportFormat, summary_markdown};
use regentra_core::store::Store;
use regentra_core::testing::counting::CountingStore;
use regentra_core::testing::services::{ComplianceFixture, compliance_fixture};
use regentra_store_embedded::EmbeddedStore;

async fn fixture(store: Arc<dyn Store>) -> ComplianceFixture {
    let f = compliance_fixture(store).await;
    f.adopt("ftc-safeguards").await;
    f.adopt("hipaa").await;
    for control in ["GV-02", "RM-01", "AT-01", "IR-01", "IA-01"] {
        f.implement(control).await;
    }
    f
}

#[tokio::test]
async fn ftc_safeguards_gap_report_in_every_format() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory().await.expect("store"));
    let f = fixture(store).await;
    for (format, name) in [
        (ReportFormat::Json, "ftc_gap_report.json"),
        (ReportFormat::Csv, "ftc_gap_report.csv"),
        (ReportFormat::Markdown, "ftc_gap_report.md"),
    ] {
        let report = f
            .r()
            .gap_report(&f.manager, f.org, "ftc-safeguards", format)
            .await
            .expect("report");
        insta::assert_snapshot!(name, report);
    }
    let summary = f
        .r()
        .gap_analysis(&f.manager, f.org)
        .await
        .expect("gaps")
        .summary;
    insta::assert_snapshot!("summary.md", summary_markdown(&summary));
}

#[tokio::test]
async fn gap_analysis_reads_the_same_whatever_the_number_of_frameworks() {
    let counting = Arc::new(CountingStore::new(
        EmbeddedStore::in_memory().await.expect("store"),
    ));
    let f = compliance_fixture(counting.clone()).await;
    let reads_for_gap_analysis = |f: &ComplianceFixture| {
        let counting = counting.clone();
        let r = f.r().clone();
        let (manager, org) = (f.manager.clone(), f.org);
        async move {
            let before = counting.reads();
            let gaps = r.gap_analysis(&manager, org).await.expect("gap analysis");
            (counting.reads() - before, gaps)
        }
    };
    f.adopt("hipaa").await;
    let (one, gaps) = reads_for_gap_analysis(&f).await;
    assert_eq!(gaps.frameworks.len(), 1);
    for framework in [
        "soc2",
        "nist-csf",
        "iso27001",
        "cmmc",
        "pci-dss",
        "gdpr",
        "ftc-safeguards",
    ] {
        f.adopt(framework).await;
    }
    let (eight, gaps) = reads_for_gap_analysis(&f).await;
    assert_eq!(gaps.frameworks.len(), 8);
    let requirements: usize = gaps.frameworks.iter().map(|g| g.totals.total).sum();
    assert_eq!(requirements, 863);
    assert_eq!(
        one, eight,
        "reads do not grow with frameworks or requirements ({one} vs {eight})"
    );
    assert!(
        eight < 20,
        "a handful of reads for 863 requirements, not one per requirement: {eight}"
    );
}

/// One framework's analysis is evaluated alone (the other adopted
/// frameworks only count open requirements per control), and must equal its
/// entry in the full analysis: same gaps, same cross-framework leverage.
#[tokio::test]
async fn one_framework_analysis_equals_its_entry_in_the_full_analysis() {
    use regentra_core::catalog::Catalog;
    use regentra_core::compliance::report::render;

    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory().await.expect("store"));
    let f = fixture(store).await;
    for framework in ["soc2", "nist-csf", "iso27001", "cmmc", "pci-dss", "gdpr"] {
        f.adopt(framework).await;
    }
    // Scoping out changes what is open, so what each control closes.
    let catalog = Catalog::builtin();
    for framework in ["hipaa", "iso27001"] {
        let first = catalog
            .framework(framework)
            .and_then(|fw| fw.assessable().next())
            .expect("a requirement")
            .id
            .clone();
        f.r()
            .scope_requirement(
                &f.manager,
                f.org,
                framework,
                &first,
                Some("not in scope here"),
            )
            .await
            .expect("scoped out");
    }
    let full = f.r().gap_analysis(&f.manager, f.org).await.expect("gaps");
    assert_eq!(full.frameworks.len(), 8);
    for expected in &full.frameworks {
        let alone = f
            .r()
            .gap_report(&f.manager, f.org, &expected.framework, ReportFormat::Json)
            .await
            .expect("report");
        assert_eq!(
            alone,
            render(expected, ReportFormat::Json).expect("render"),
            "{} alone differs from its entry in the full analysis",
            expected.framework
        );
    }
    let not_adopted = f
        .r()
        .gap_report(&f.manager, f.org, "no-such-framework", ReportFormat::Json)
        .await;
    assert!(not_adopted.is_err());
}
