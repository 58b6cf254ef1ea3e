//! Authorization over a store: what one request reads, writes that assert
//! the role they were authorized by, and delegated reads recorded once per
//! window.

use std::sync::Mutex;

use futures::future::BoxFuture;

use super::*;
use crate::ManualClock;
use crate::store::{
    Applied, ChangeSet, IndexScan, Read, ReadResult, Scanned, Store as StoreContract,
};
use crate::testing::counting::CountingStore;

/// A store that runs one piece of work (another caller's commit) right
/// before it applies the next change set: what a concurrent role change
/// looks like to an operation that authorized before it.
struct InterposedStore {
    inner: Arc<dyn Store>,
    before_next_apply: Mutex<Option<BoxFuture<'static, ()>>>,
}

impl InterposedStore {
    fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            before_next_apply: Mutex::new(None),
        }
    }

    fn before_next_apply(&self, work: BoxFuture<'static, ()>) {
        *self.before_next_apply.lock().expect("lock") = Some(work);
    }
}

#[async_trait::async_trait]
impl StoreContract for InterposedStore {
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
        scan: &IndexScan,
    ) -> crate::Result<Vec<Scanned>> {
        self.inner.scan(scope, kind, scan).await
    }
    async fn count(&self, scope: Scope, kind: &str, scan: &IndexScan) -> crate::Result<u64> {
        self.inner.count(scope, kind, scan).await
    }
    async fn read(&self, reads: Vec<Read>) -> crate::Result<Vec<ReadResult>> {
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
    async fn apply(&self, changes: ChangeSet) -> crate::Result<Applied> {
        let work = self.before_next_apply.lock().expect("lock").take();
        if let Some(work) = work {
            work.await;
        }
        self.inner.apply(changes).await
    }
    async fn audit_events(
        &self,
        org: OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> crate::Result<Vec<crate::audit::AuditEvent>> {
        self.inner.audit_events(org, after, limit).await
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

fn expect_conflict<T: std::fmt::Debug>(result: crate::Result<T>, what: &str) {
    match result {
        Err(Error::Conflict { .. }) => {}
        other => panic!("{what}: expected Conflict, got {other:?}"),
    }
}

pub async fn a_role_changed_before_the_commit_makes_the_write_conflict(store: Arc<dyn Store>) {
    let interposed = Arc::new(InterposedStore::new(store.clone()));
    let f = msp_fixture(interposed.clone(), "Northwind IT").await;
    let r = &f.regentra;
    let [c1, _] = f.clients;
    // The same platform without the interposed step, for the other caller.
    let direct = Regentra::new(store.clone())
        .with_password_hashing(crate::auth::PasswordHashing::insecure_for_tests());
    let admin = f.admin.clone();
    let [a1, a2, a3] = [
        member(&f, c1, "a1@acme.test", Role::OrgAdmin).await,
        member(&f, c1, "a2@acme.test", Role::OrgAdmin).await,
        member(&f, c1, "a3@acme.test", Role::OrgAdmin).await,
    ];
    let second = member(&f, f.msp, "second@northwind.test", Role::MspAdmin).await;
    let name = || async {
        store::require::<Organization>(store.as_ref(), Scope::Platform, c1.0)
            .await
            .expect("client")
            .value
            .name
    };

    // Without anything in between, the write commits (its check passes).
    r.rename_organization(&a3, c1, "Acme Dental One")
        .await
        .expect("an admin renames");

    // The admin's own role changes between authorize and the commit.
    let (d, by, user) = (direct.clone(), admin.clone(), a1.user);
    interposed.before_next_apply(Box::pin(async move {
        d.change_member_role(&by, c1, user, Role::Viewer)
            .await
            .expect("the other caller demotes a1");
    }));
    expect_conflict(
        r.rename_organization(&a1, c1, "Renamed by a1").await,
        "a write authorized by a role changed before its commit",
    );
    assert_eq!(name().await, "Acme Dental One", "nothing of it was written");
    expect_denied(
        r.rename_organization(&a1, c1, "Renamed by a1").await,
        "the next request is judged by the new role",
    );

    // The admin is removed between authorize and the commit.
    let (d, by, user) = (direct.clone(), admin.clone(), a2.user);
    interposed.before_next_apply(Box::pin(async move {
        d.remove_member(&by, c1, user)
            .await
            .expect("the other caller removes a2");
    }));
    expect_conflict(
        r.rename_organization(&a2, c1, "Renamed by a2").await,
        "a write authorized by a membership removed before its commit",
    );
    assert_eq!(name().await, "Acme Dental One");
    expect_not_found(
        r.rename_organization(&a2, c1, "Renamed by a2").await,
        "a removed member is a stranger",
    );

    // An MSP admin acting in a client loses the MSP role in between: the
    // write stood on the MSP membership.
    let (d, by, user) = (direct.clone(), admin.clone(), second.user);
    interposed.before_next_apply(Box::pin(async move {
        d.change_member_role(&by, f.msp, user, Role::Technician)
            .await
            .expect("the other caller demotes the second MSP admin");
    }));
    expect_conflict(
        r.rename_organization(&second, c1, "Renamed by the MSP")
            .await,
        "a delegated write whose MSP role changed before its commit",
    );
    assert_eq!(name().await, "Acme Dental One");

    // A change that does not touch the writer's role does not stop it.
    let (d, by) = (direct.clone(), admin.clone());
    interposed.before_next_apply(Box::pin(async move {
        d.add_member(&by, c1, "new@acme.test", "New", Role::Employee)
            .await
            .expect("the other caller adds someone");
    }));
    r.rename_organization(&a3, c1, "Acme Dental Two")
        .await
        .expect("an unrelated change in between");
    assert_eq!(name().await, "Acme Dental Two");
}

pub async fn one_request_reads_the_directory_once(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let f = msp_fixture(counting.clone(), "Northwind IT").await;
    let r = &f.regentra;
    let [c1, _] = f.clients;
    let manager = member(&f, c1, "manager@acme.test", Role::ComplianceManager).await;
    let asked = [
        Permission::OrgRead,
        Permission::ControlsUpdate,
        Permission::EvidenceRead,
    ];

    // Without a request's memory, each check reads the directory again:
    // one batch each (the org's own membership decides).
    counting.reset();
    for permission in asked {
        r.authorize(&manager, c1, permission)
            .await
            .expect("the manager may");
    }
    assert_eq!(counting.reads(), asked.len(), "one batch per check");

    // One request: the first check reads, the others decide from it.
    let request = manager.clone().for_one_request();
    counting.reset();
    for permission in asked {
        r.authorize(&request, c1, permission)
            .await
            .expect("the manager may");
    }
    r.authorize_all(&request, c1, Permission::ControlsUpdate)
        .await
        .expect("over every record");
    assert_eq!(counting.reads(), 1, "one batch for the whole request");
    // A permission the role lacks: in a client, the MSP membership could
    // still allow it, so it is read once, and then known.
    expect_denied(
        r.authorize(&request, c1, Permission::MembersManage).await,
        "a permission the role lacks",
    );
    expect_denied(
        r.authorize(&request, c1, Permission::StaffAssign).await,
        "another one",
    );
    assert_eq!(counting.reads(), 2, "the MSP membership, once");

    // An MSP admin in a client: the client's batch, then the MSP
    // membership with when such reads were last recorded.
    let admin = f.admin.clone().for_one_request();
    counting.reset();
    r.authorize(&admin, c1, Permission::OrgRead)
        .await
        .expect("delegated read");
    assert_eq!(counting.reads(), 2, "two batches through a delegation");
    r.authorize(&admin, c1, Permission::OrgRead)
        .await
        .expect("again in the same request");
    r.authorize(&admin, c1, Permission::OrgManage)
        .await
        .expect("a delegated write right");
    assert_eq!(counting.reads(), 2, "nothing more in the same request");

    // A role changed after a request applies to the next one.
    assert!(rbac_allows(
        Role::ComplianceManager,
        Permission::ControlsUpdate
    ));
    assert!(!rbac_allows(Role::Viewer, Permission::ControlsUpdate));
    r.change_member_role(&f.admin, c1, manager.user, Role::Viewer)
        .await
        .expect("demoted");
    expect_denied(
        r.authorize(
            &manager.clone().for_one_request(),
            c1,
            Permission::ControlsUpdate,
        )
        .await,
        "the next request reads the new role",
    );
    r.remove_member(&f.admin, c1, manager.user)
        .await
        .expect("removed");
    expect_not_found(
        r.authorize(&manager.clone().for_one_request(), c1, Permission::OrgRead)
            .await,
        "a removed member's next request",
    );
}

fn rbac_allows(role: Role, permission: Permission) -> bool {
    crate::rbac::decide(role, permission).is_allowed()
}

pub async fn delegated_reads_are_recorded_once_per_window(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let [c1, c2] = f.clients;
    let clock = Arc::new(ManualClock::new(at(0)));
    let r = f.regentra.clone().with_clock(clock.clone());
    let delegated = |org: OrgId| {
        let r = r.clone();
        async move {
            store::audit_chain(r.store(), org)
                .await
                .expect("audit")
                .into_iter()
                .filter(|e| e.action == "access.delegated")
                .collect::<Vec<_>>()
        }
    };

    for _ in 0..5 {
        r.list_members(&f.admin, c1, PageRequest::first(10))
            .await
            .expect("MSP admin reads");
    }
    let events = delegated(c1).await;
    assert_eq!(events.len(), 1, "five reads in one window: one event");
    assert_eq!(
        events[0].details,
        json!({ "permission": "org.read", "window_minutes": 5 })
    );

    // Another kind of access, another org, another person: each its own.
    r.authorize(&f.admin, c1, Permission::TicketsRead)
        .await
        .expect("the admin reads tickets");
    r.list_members(&f.admin, c2, PageRequest::first(10))
        .await
        .expect("the other client");
    r.get_organization(&f.operator, c1)
        .await
        .expect("the operator reads");
    let events = delegated(c1).await;
    assert_eq!(
        events.len(),
        3,
        "org.read and tickets.read by the admin, org.read by the operator"
    );
    assert_eq!(delegated(c2).await.len(), 1);

    // Within the window, nothing more; once it has passed, one more.
    clock.advance(chrono::Duration::minutes(4));
    r.list_members(&f.admin, c1, PageRequest::first(10))
        .await
        .expect("reads");
    assert_eq!(delegated(c1).await.len(), 3);
    clock.advance(chrono::Duration::minutes(1));
    // Concurrent readers after the window: one of them records it.
    let reads = (0..8).map(|_| r.list_members(&f.admin, c1, PageRequest::first(10)));
    for read in join_all(reads).await {
        read.expect("every concurrent read is answered");
    }
    let events = delegated(c1).await;
    assert_eq!(events.len(), 4, "one more event for the new window");
    assert_eq!(events[3].at, at(0) + chrono::Duration::minutes(5));

    // A delegated write still records itself, every time.
    r.rename_organization(&f.admin, c1, "Acme Dental Group")
        .await
        .expect("rename");
    r.rename_organization(&f.admin, c1, "Acme Dental")
        .await
        .expect("rename back");
    let chain = store::audit_chain(r.store(), c1).await.expect("audit");
    assert_eq!(
        chain
            .iter()
            .filter(|e| e.action == "organization.renamed")
            .count(),
        2
    );
    let report = r
        .verify_audit_chain(&f.admin, c1, crate::tenancy::ChainVerification::Full)
        .await
        .expect("verifies");
    assert_eq!(report.first_break, None);
}

/// A window recorded at a time still ahead of this server's clock (another
/// server whose clock runs fast, a clock set back) covers nothing here:
/// the read is recorded now instead of going unrecorded until this clock
/// catches up.
pub async fn a_window_recorded_ahead_of_the_clock_covers_no_read(store: Arc<dyn Store>) {
    let f = msp_fixture(store, "Northwind IT").await;
    let [c1, _] = f.clients;
    let ahead = Arc::new(ManualClock::new(at(0) + chrono::Duration::hours(1)));
    let fast = f.regentra.clone().with_clock(ahead);
    let clock = Arc::new(ManualClock::new(at(0)));
    let r = f.regentra.clone().with_clock(clock.clone());
    let delegated = || {
        let r = r.clone();
        async move {
            store::audit_chain(r.store(), c1)
                .await
                .expect("audit")
                .into_iter()
                .filter(|e| e.action == "access.delegated")
                .count()
        }
    };
    fast.list_members(&f.admin, c1, PageRequest::first(10))
        .await
        .expect("read on the fast server");
    assert_eq!(delegated().await, 1);
    r.list_members(&f.admin, c1, PageRequest::first(10))
        .await
        .expect("read on this server");
    assert_eq!(
        delegated().await,
        2,
        "a window that starts in this clock's future does not cover its reads"
    );
    // The window this server recorded covers its own later reads.
    clock.advance(chrono::Duration::minutes(4));
    r.list_members(&f.admin, c1, PageRequest::first(10))
        .await
        .expect("reads");
    assert_eq!(delegated().await, 2);
}

pub async fn my_organizations_reads_a_bounded_number_of_times(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let f = msp_fixture(counting.clone(), "Northwind IT").await;
    let r = &f.regentra;
    let mut clients = f.clients.to_vec();
    for n in clients.len()..200 {
        clients.push(
            r.create_client(&f.admin, f.msp, &format!("Client {n:03}"))
                .await
                .expect("client")
                .id,
        );
    }
    let tech = member(&f, f.msp, "tech@northwind.test", Role::Technician).await;
    for client in &clients {
        r.assign_staff(&f.admin, f.msp, *client, tech.user, Role::Technician)
            .await
            .expect("assigned");
    }

    counting.reset();
    let orgs = r.my_organizations(&tech).await.expect("orgs");
    assert_eq!(orgs.len(), 201, "the MSP and its 200 clients");
    assert!(
        counting.reads() <= 2,
        "my_organizations read {} times",
        counting.reads()
    );
    // What `GET /v1/me` does: the token, then `me`.
    let (_, secret) = r
        .issue_api_token(&tech, "laptop", None)
        .await
        .expect("a token");
    counting.reset();
    let caller = r.authenticate(&secret).await.expect("authenticated");
    assert_eq!(counting.reads(), 1, "a token is one read");
    let me = r.me(&caller).await.expect("me");
    assert_eq!(me.organizations, orgs);
    assert_eq!(me.account.id, tech.user);
    assert!(
        counting.reads() <= 4,
        "/v1/me read {} times",
        counting.reads()
    );
    counting.reset();
    let admins = r.my_organizations(&f.admin).await.expect("admin's orgs");
    assert_eq!(admins.len(), 201);
    assert!(
        counting.reads() <= 2,
        "an MSP admin's: {}",
        counting.reads()
    );
}
