use super::*;

pub async fn hosts_find_every_org_and_the_platform_admin(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .organization_ids(PageRequest::after(after, 2))
            .await
            .expect("ids");
        all.extend(page.iter().copied());
        match page.last() {
            Some(last) if page.len() == 2 => after = Some(last.0),
            _ => break,
        }
    }
    for org in [f.msp, f.clients[0], f.clients[1]] {
        assert!(all.contains(&org), "{org:?} is swept");
    }
    assert_eq!(all.len(), 3);
    let operator = r.platform_admin("Ops@Platform.test").await.expect("lookup");
    assert_eq!(operator, Some(f.operator.user));
    // An ordinary member is not the platform admin.
    assert_eq!(
        r.platform_admin("admin@northwind-it.test")
            .await
            .expect("lookup"),
        None
    );
}

pub async fn the_outbox_is_read_by_org_managers_only(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let r = &f.regentra;
    let other = msp_in(r.clone(), f.operator.clone(), "Southwind IT").await;
    let client = f.clients[0];
    let page = r
        .outbox(&f.admin, client, PageRequest::first(50))
        .await
        .expect("the MSP admin reads the client's outbox");
    assert!(page.is_empty());
    expect_not_found(
        r.outbox(&other.admin, client, PageRequest::first(50)).await,
        "another MSP's admin",
    );
}
