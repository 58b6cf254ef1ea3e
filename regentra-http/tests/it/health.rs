//! `/healthz` and `/readyz`, what a load balancer asks: alive while the
//! process runs; ready while the store answers with a current schema, and
//! not ready from the moment a shutdown starts draining the process.

use std::sync::Arc;
use std::time::Duration;

use regentra_core::Error;
use regentra_core::store::Store;
use regentra_http::cli::serve::App;
use regentra_http::server::serve_draining;
use regentra_store_postgres::testing::TestDatabase;

use crate::support::{self, Backend, M, Server, StatusCode, TestStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_is_alive_and_ready_embedded() {
    alive_and_ready(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_is_alive_and_ready_postgres() {
    alive_and_ready(Backend::Postgres).await;
}

async fn alive_and_ready(backend: Backend) {
    let Some(server) = Server::on(backend).await else {
        return;
    };
    let anonymous = server.anonymous();
    let alive = anonymous.call(M::GET, "/healthz", None).await;
    assert_eq!(alive.status, StatusCode::OK, "{}", alive.text);
    assert_eq!(alive.body["status"], "ok");
    // Asked every few seconds, by no one signed in: never limited, never
    // refused for want of a token.
    for _ in 0..30 {
        let ready = anonymous.call(M::GET, "/readyz", None).await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
        assert_eq!(ready.body["status"], "ready");
    }
    // Outside the API: the document does not list them.
    let spec = anonymous.call(M::GET, "/v1/openapi.json", None).await;
    let paths = spec.body["paths"].as_object().expect("paths");
    assert!(!paths.contains_key("/healthz") && !paths.contains_key("/readyz"));
}

/// A store that answers nothing: what a lost database looks like.
struct Unreachable(Arc<dyn Store>);

#[async_trait::async_trait]
impl Store for Unreachable {
    async fn get(
        &self,
        scope: regentra_core::store::Scope,
        kind: &str,
        id: uuid::Uuid,
    ) -> regentra_core::Result<Option<regentra_core::store::StoredRecord>> {
        self.0.get(scope, kind, id).await
    }
    async fn get_many(
        &self,
        scope: regentra_core::store::Scope,
        kind: &str,
        ids: &[uuid::Uuid],
    ) -> regentra_core::Result<Vec<Option<regentra_core::store::StoredRecord>>> {
        self.0.get_many(scope, kind, ids).await
    }
    async fn scan(
        &self,
        scope: regentra_core::store::Scope,
        kind: &str,
        scan: &regentra_core::store::IndexScan,
    ) -> regentra_core::Result<Vec<regentra_core::store::Scanned>> {
        self.0.scan(scope, kind, scan).await
    }
    async fn list(
        &self,
        scope: regentra_core::store::Scope,
        kind: &str,
        page: regentra_core::store::PageRequest,
    ) -> regentra_core::Result<Vec<regentra_core::store::StoredRecord>> {
        self.0.list(scope, kind, page).await
    }
    async fn find(
        &self,
        scope: regentra_core::store::Scope,
        kind: &str,
        index: &str,
        value: &str,
        page: regentra_core::store::PageRequest,
    ) -> regentra_core::Result<Vec<regentra_core::store::StoredRecord>> {
        self.0.find(scope, kind, index, value, page).await
    }
    async fn apply(
        &self,
        changes: regentra_core::store::ChangeSet,
    ) -> regentra_core::Result<regentra_core::store::Applied> {
        self.0.apply(changes).await
    }
    async fn audit_events(
        &self,
        org: regentra_core::OrgId,
        after: Option<u64>,
        limit: usize,
    ) -> regentra_core::Result<Vec<regentra_core::audit::AuditEvent>> {
        self.0.audit_events(org, after, limit).await
    }
    async fn audit_events_about(
        &self,
        org: regentra_core::OrgId,
        targets: &[regentra_core::audit::Target],
        after: Option<u64>,
        limit: usize,
    ) -> regentra_core::Result<Vec<regentra_core::audit::AuditEvent>> {
        self.0.audit_events_about(org, targets, after, limit).await
    }
    async fn put_blob_chunk(
        &self,
        org: regentra_core::OrgId,
        blob: uuid::Uuid,
        seq: u32,
        data: Vec<u8>,
    ) -> regentra_core::Result<()> {
        self.0.put_blob_chunk(org, blob, seq, data).await
    }
    async fn blob_chunk(
        &self,
        org: regentra_core::OrgId,
        blob: uuid::Uuid,
        seq: u32,
    ) -> regentra_core::Result<Option<Vec<u8>>> {
        self.0.blob_chunk(org, blob, seq).await
    }
    async fn delete_blob(
        &self,
        org: regentra_core::OrgId,
        blob: uuid::Uuid,
    ) -> regentra_core::Result<()> {
        self.0.delete_blob(org, blob).await
    }
    async fn ready(&self) -> regentra_core::Result<()> {
        Err(Error::Unavailable(
            "the store does not answer: connection refused".into(),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_does_not_answer_makes_the_server_not_ready() {
    let mut store = TestStore::on(Backend::Embedded).await.expect("a store");
    store.store = Arc::new(Unreachable(store.store.clone()));
    let server = Server::start_on(store, support::config(), false).await;
    let anonymous = server.anonymous();
    let ready = anonymous.call(M::GET, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.is_problem(), "{}", ready.content_type);
    assert_eq!(ready.body["status"], 503);
    assert!(
        ready.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("connection refused")),
        "says why: {}",
        ready.text
    );
    let alive = anonymous.call(M::GET, "/healthz", None).await;
    assert_eq!(alive.status, StatusCode::OK, "alive all the same");
}

/// A database the server's migrations have not reached is not ready: the
/// server's queries would fail there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_behind_the_migrations_is_not_ready() {
    let Some(db) = TestDatabase::create_empty().await else {
        return;
    };
    let store = regentra_store_postgres::PostgresStore::connect_with(db.url(), 2)
        .await
        .expect("connects");
    let problem = store.ready().await.expect_err("not ready");
    match problem {
        Error::Unavailable(why) => assert!(why.contains("migration"), "{why}"),
        other => panic!("not ready is Unavailable, not {other:?}"),
    }
    let current = TestDatabase::create().await.expect("configured");
    current
        .store()
        .await
        .ready()
        .await
        .expect("a current schema is ready");
}

/// On SIGTERM (here: the shutdown future), `/readyz` answers 503 while the
/// server still serves during its drain grace, and the worker stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_server_is_alive_but_not_ready() {
    let store = TestStore::on(Backend::Embedded).await.expect("a store");
    let app = App::build(Arc::clone(&store.store), support::config(), &mut |_| {})
        .await
        .expect("the app builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let worker = app.spawn_worker();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let drain = app.drain.clone();
    // A grace far longer than the test: it ends while the server drains.
    let server = tokio::spawn(serve_draining(
        listener,
        app.router,
        drain.clone(),
        Duration::from_secs(3600),
        async move {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::new();
    let status = |path: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.get(format!("{base}{path}"))
                .send()
                .await
                .expect("served")
                .status()
        }
    };
    assert_eq!(status("/readyz").await, StatusCode::OK);
    assert!(!drain.is_draining());
    stop.send(()).expect("the server listens for its shutdown");
    drain.started().await;
    let reply = support::reply(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .expect("still served while draining"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.is_problem());
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("shutting down")),
        "{}",
        reply.text
    );
    assert_eq!(
        status("/healthz").await,
        StatusCode::OK,
        "alive while draining"
    );
    // The worker takes no new org and ends (generous bound: not a timing check).
    tokio::time::timeout(Duration::from_secs(120), worker)
        .await
        .expect("the worker stops when the drain starts")
        .expect("the worker ends cleanly");
    server.abort();
}
