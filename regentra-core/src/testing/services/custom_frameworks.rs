use super::*;

fn custom_framework(key: &str, control: &str) -> crate::catalog::CustomFrameworkDef {
    serde_json::from_value(json!({
        "framework": {
            "key": key,
            "name": "Acme Internal Standard",
            "version": "2026",
            "requirements": [
                { "id": "ACME", "title": "Acme requirements", "parent": null, "assessable": false },
                {
                    "id": "ACME-1", "title": "Laptops encrypted", "parent": "ACME", "assessable": true,
                    "description": "Every company laptop encrypts its disk.",
                    "controls": ["CR-01"]
                },
                {
                    "id": "ACME-2", "title": "Badge audit", "parent": "ACME", "assessable": true,
                    "description": "Badge logs are reviewed monthly.",
                    "controls": [control, "PS-02"]
                }
            ]
        },
        "controls": [{
            "key": "ACME-01", "domain": "physical_security", "title": "Monthly badge audit",
            "description": "Badge access logs are reviewed every month.", "evidence": ["record"]
        }]
    }))
    .expect("well-formed definition")
}

pub async fn custom_frameworks_are_checked_and_kept_per_org(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let [c1, c2] = f.clients;
    let added = r
        .add_custom_framework(&f.admin, c1, custom_framework("acme-internal", "ACME-01"))
        .await
        .expect("a valid custom framework is accepted");
    assert_eq!(added.framework.key, "acme-internal");
    let catalog = r.org_catalog(&f.admin, c1).await.expect("catalog");
    assert_eq!(
        catalog.frameworks().len(),
        9,
        "the built-in eight and the org's own"
    );
    let refs: Vec<String> = catalog
        .requirements_of("ACME-01")
        .iter()
        .map(|q| q.id.clone())
        .collect();
    assert_eq!(
        refs,
        ["ACME-2"],
        "the org's control is indexed like a built-in one"
    );
    assert!(
        catalog
            .requirements_of("CR-01")
            .iter()
            .any(|q| q.framework == "acme-internal"),
        "built-in controls now also satisfy the org's requirement"
    );
    // Another tenant sees only the built-in catalog.
    assert_eq!(
        r.org_catalog(&f.admin, c2)
            .await
            .expect("catalog")
            .frameworks()
            .len(),
        8
    );
    assert!(
        r.custom_frameworks(&f.admin, c2)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        r.custom_frameworks(&f.admin, c1).await.expect("list").len(),
        1
    );

    // Checked like the built-in catalogs, every problem named by its path.
    expect_invalid(
        r.add_custom_framework(&f.admin, c2, custom_framework("other", "NOPE-99"))
            .await,
        "framework.requirements[2].controls",
    );
    expect_invalid(
        r.add_custom_framework(&f.admin, c2, custom_framework("hipaa", "ACME-01"))
            .await,
        "framework.key",
    );
    let mut clash = custom_framework("clash", "ACME-01");
    clash.controls[0].key = "AC-01".into();
    expect_invalid(
        r.add_custom_framework(&f.admin, c2, clash).await,
        "controls[0].key",
    );
    match r
        .add_custom_framework(&f.admin, c1, custom_framework("acme-internal", "PS-01"))
        .await
    {
        Err(Error::Validation(errors)) => {
            assert!(errors.iter().any(|e| e.field == "framework.key"))
        }
        other => panic!("a second framework with the same key must be refused, got {other:?}"),
    }
    let viewer = member(&f, c1, "auditor@acme.test", Role::Viewer).await;
    expect_denied(
        r.add_custom_framework(&viewer, c1, custom_framework("viewer-made", "ACME-01"))
            .await,
        "viewer adding a framework",
    );
    assert_eq!(
        r.custom_frameworks(&viewer, c1)
            .await
            .expect("viewer reads")
            .len(),
        1
    );
    assert!(
        actions(&f, c1)
            .await
            .contains(&"framework.custom_added".to_owned())
    );

    // Its key is taken in other spellings like a built-in one's, and no
    // custom key may be only another spelling of an existing key.
    let adopted = r
        .adopt_framework(&f.admin, c1, "ACME_Internal")
        .await
        .expect("adopted");
    assert_eq!(adopted.framework, "acme-internal");
    expect_invalid(
        r.add_custom_framework(&f.admin, c2, custom_framework("soc-2", "ACME-01"))
            .await,
        "framework.key",
    );

    r.remove_custom_framework(&f.admin, c1, "acme-internal")
        .await
        .expect("removed");
    // The adoption outlives the framework and can still be ended.
    let unadopted = r
        .unadopt_framework(&f.admin, c1, "acme-internal")
        .await
        .expect("unadopted after the framework went");
    assert!(!unadopted.active);
    assert_eq!(
        r.org_catalog(&f.admin, c1)
            .await
            .expect("catalog")
            .frameworks()
            .len(),
        8
    );
    expect_not_found(
        r.remove_custom_framework(&f.admin, c1, "acme-internal")
            .await,
        "removing twice",
    );
}
