//! `regentra serve` as a command: its flags and environment, refusals that
//! end the process before it touches any data, and the embedded store's
//! lock on its data directory. The API itself is tested in process.

use std::path::Path;

use clap::Parser;
use regentra_http::cli::serve::AppConfig;
use regentra_http::cli::{Cli, Command};
use regentra_store_postgres::testing::{TestDatabase, TestRole};
use reqwest::Method;

use crate::support::process::{Process, serve_to_the_end};

/// The configuration `regentra serve` runs with for these arguments.
fn config_of(args: &[&str]) -> AppConfig {
    let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let Some(Command::Serve(serve)) = cli.command else {
        panic!("{args:?} is not serve");
    };
    AppConfig::from_args(&serve).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn serve_flags_become_the_app_config() {
    let config = config_of(&[
        "regentra",
        "serve",
        "--cors-origin",
        "https://app.example,https://admin.example",
        "--cors-origin",
        "https://ops.example",
        "--webhook-url",
        "http://hooks.example/a",
        "--webhook-url",
        "http://hooks.example/b",
        "--webhook-secret",
        "s3cret",
        "--sweep-interval",
        "7",
        "--max-evidence-mib",
        "3",
        "--argon2-memory-kib",
        "47104",
        "--argon2-iterations",
        "1",
        "--argon2-parallelism",
        "2",
        "--demo",
    ]);
    assert_eq!(
        config.http.cors_origins,
        [
            "https://app.example",
            "https://admin.example",
            "https://ops.example"
        ]
    );
    assert_eq!(
        config.worker.webhooks,
        ["http://hooks.example/a", "http://hooks.example/b"]
    );
    assert_eq!(config.worker.secret.as_deref(), Some("s3cret"));
    assert_eq!(config.worker.every, std::time::Duration::from_secs(7));
    assert_eq!(config.evidence_limit, 3 * 1024 * 1024);
    let hashing = config.password_hashing;
    assert_eq!(
        (
            hashing.memory_kib(),
            hashing.iterations(),
            hashing.parallelism()
        ),
        (47_104, 1, 2)
    );
    assert!(config.demo);
}

/// `regentra serve` refused at once: a non-zero exit and one line on
/// stderr naming `flag`, with nothing on stdout and the data directory
/// never created.
fn refused(args: &[&str], env: &[(&str, &str)], flag: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path");
    let mut all = vec!["--data-dir", data_arg];
    all.extend_from_slice(args);
    let out = serve_to_the_end(&all, env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} {env:?} started: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?} {env:?}: {stderr}");
    assert!(
        stderr.contains(flag),
        "{args:?} {env:?} does not name {flag}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?} {env:?}: nothing on stdout");
    assert!(
        !Path::new(&data).exists(),
        "{args:?} {env:?} made its data dir"
    );
}

#[test]
fn serve_refuses_an_argon2_cost_below_owasps_minimum_naming_the_flag() {
    refused(
        &["--argon2-memory-kib", "1024"],
        &[],
        "--argon2-memory-kib: weaker than OWASP's minimum",
    );
    refused(
        &["--argon2-memory-kib", "47104", "--argon2-iterations", "0"],
        &[],
        "--argon2-iterations: weaker than OWASP's minimum",
    );
    refused(&["--argon2-parallelism", "0"], &[], "--argon2-parallelism");
    // The same settings from the environment.
    refused(
        &[],
        &[("REGENTRA_ARGON2_MEMORY_KIB", "1024")],
        "--argon2-memory-kib",
    );
    refused(
        &[],
        &[("REGENTRA_ARGON2_ITERATIONS", "0")],
        "--argon2-iterations",
    );
}

#[test]
fn serve_takes_login_token_lifetimes_from_flags_and_refuses_bad_ones() {
    let defaults = config_of(&["regentra", "serve"]).token_lifetimes;
    assert_eq!(defaults, regentra_core::TokenLifetimes::DEFAULT);
    assert_eq!(defaults.idle(), chrono::Duration::hours(12));
    assert_eq!(defaults.absolute(), chrono::Duration::days(7));
    let set = config_of(&[
        "regentra",
        "serve",
        "--login-idle-minutes",
        "30",
        "--login-max-hours",
        "24",
    ])
    .token_lifetimes;
    assert_eq!(
        (set.idle(), set.absolute()),
        (chrono::Duration::minutes(30), chrono::Duration::hours(24))
    );
    refused(
        &["--login-idle-minutes", "5"],
        &[],
        "--login-idle-minutes: must be at least 10 minutes",
    );
    refused(
        &["--login-max-hours", "9000"],
        &[],
        "--login-max-hours: must be at most 366 days",
    );
    // The same settings from the environment.
    refused(
        &[],
        &[("REGENTRA_LOGIN_IDLE_MINUTES", "5")],
        "--login-idle-minutes",
    );
    refused(
        &[],
        &[("REGENTRA_LOGIN_MAX_HOURS", "1")],
        "--login-idle-minutes: must not be longer",
    );
}

#[test]
fn serve_refuses_a_sweep_interval_of_zero() {
    refused(&["--sweep-interval", "0"], &[], "--sweep-interval");
    refused(&[], &[("REGENTRA_SWEEP_INTERVAL", "0")], "--sweep-interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_its_settings_from_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let token = format!("rgt_{}", "cd".repeat(32));
    let server = Process::with(
        &[],
        &[
            ("REGENTRA_DATA_DIR", data),
            (
                "REGENTRA_CORS_ORIGINS",
                "https://app.example,https://admin.example",
            ),
            ("REGENTRA_ADMIN_EMAIL", "ops@example.test"),
            ("REGENTRA_BOOTSTRAP_TOKEN", &token),
        ],
    );
    assert!(
        server.log_text().contains(
            "platform admin ops@example.test created; use the token from REGENTRA_BOOTSTRAP_TOKEN"
        ),
        "{}",
        server.log_text()
    );
    assert!(!server.log_text().contains("bootstrap token:"));
    server.admin().get("/v1/me").await;
    assert!(dir.path().join("regentra.redb").exists());
    let preflight = |origin: &'static str| {
        let base = server.base.clone();
        async move {
            reqwest::Client::new()
                .request(Method::OPTIONS, format!("{base}/v1/me"))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .send()
                .await
                .expect("preflight")
                .headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap_or("").to_owned())
        }
    };
    for origin in ["https://app.example", "https://admin.example"] {
        assert_eq!(preflight(origin).await.as_deref(), Some(origin));
    }
    assert_eq!(preflight("https://evil.example").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let first = Process::embedded_at(data, &[], &[]);
    let out = serve_to_the_end(&["--data-dir", data], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second server started: {stderr}");
    assert!(
        stderr.contains("already open in another process") && stderr.contains("regentra.redb"),
        "{stderr}"
    );
    // The first one serves on, undisturbed.
    first.admin().get("/v1/me").await;
}

/// The data directory and the database file hold password and token
/// hashes: a fresh start creates them private to the server's user (0700,
/// 0600), whatever the umask.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_creates_its_data_directory_and_file_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("nested").join("data");
    let server = Process::embedded_at(data.to_str().expect("utf-8 path"), &[], &[]);
    server.admin().get("/v1/me").await;
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&dir.path().join("nested")), 0o700, "its new parent");
    assert_eq!(mode(&data.join("regentra.redb")), 0o600, "database file");
}

/// A data directory that already exists and lets others in is left as the
/// operator made it (it may be a mount point or shared on purpose), with a
/// warning naming it; the database file in it is still private.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_warns_about_an_existing_data_directory_open_to_others() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let server = Process::embedded_at(data.to_str().expect("utf-8 path"), &[], &[]);
    server.admin().get("/v1/me").await;
    let log = server.log_text();
    assert!(
        log.contains("WARN")
            && log.contains(&format!("{}", data.display()))
            && log.contains("0755"),
        "{log}"
    );
    let file = std::fs::metadata(data.join("regentra.redb")).expect("file");
    assert_eq!(file.permissions().mode() & 0o777, 0o600);
}

/// The attack: `regentra serve` connected as a superuser switched to the
/// runtime role only per transaction, which `RESET ROLE` undoes. Such a URL
/// is refused before serving, naming the problem and the fix.
#[test]
fn postgres_serve_refuses_a_superuser_database_url() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = rt.block_on(TestDatabase::create()) else {
        return;
    };
    let out = serve_to_the_end(&["--database-url", db.url()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "served as a superuser: {stderr}");
    for needle in [
        "--database-url",
        "is a superuser",
        "IN ROLE regentra_app",
        "--allow-privileged-database-user",
    ] {
        assert!(stderr.contains(needle), "{needle} missing: {stderr}");
    }
    assert!(!stderr.contains("listening on"), "{stderr}");
    drop(db);
}

/// The development flag (or its variable) serves anyway, with a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serve_as_a_superuser_only_with_the_development_flag() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let server = Process::with(
        &["--database-url", db.url()],
        &[("REGENTRA_ALLOW_PRIVILEGED_DATABASE_USER", "true")],
    );
    server.admin().get("/v1/me").await;
    let log = server.log_text();
    assert!(
        log.contains("WARN") && log.contains("INSECURE") && log.contains("is a superuser"),
        "{log}"
    );
}

/// As a login role that is only a member of `regentra_app`, the server
/// starts and serves; on an empty database it refuses to start unless told
/// how to migrate it, as its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serve_as_an_app_login_role_needs_a_current_schema() {
    let Some(app) = TestRole::create("IN ROLE regentra_app").await else {
        return;
    };
    let db = TestDatabase::create_empty().await.expect("server");
    let app_url = app.url(db.url());
    let out = serve_to_the_end(&["--database-url", &app_url], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "served an empty database: {stderr}");
    assert!(stderr.contains("run `regentra migrate"), "{stderr}");

    let server = Process::with(
        &["--database-url", &app_url],
        &[("REGENTRA_MIGRATE_DATABASE_URL", db.url())],
    );
    server.admin().get("/v1/me").await;
    assert!(!server.log_text().contains("INSECURE"));
    drop(server);
    // Migrated now: the app role alone serves.
    let again = Process::with(&["--database-url", &app_url], &[]);
    let log = again.log_text();
    assert!(!log.contains("INSECURE"), "{log}");
    drop(again);
    drop(db);
}

/// The line of the server's log that contains `needle`, once printed.
async fn log_line(server: &Process, needle: &str) -> String {
    for _ in 0..100 {
        if let Some(line) = server.log_text().lines().find(|l| l.contains(needle)) {
            return line.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {needle:?} in the log:\n{}", server.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_tells_on_first_start_how_the_operator_sets_a_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let mut server = Process::embedded_at(data, &[], &[]);
    let curl = log_line(&server, "curl -X PUT").await;
    // The printed line, followed as written: its URL, token and body.
    let url = curl
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("a URL");
    assert_eq!(url, format!("{}/v1/me/password", server.base), "{curl}");
    assert!(
        curl.contains(&format!("Authorization: Bearer {}", server.token)),
        "{curl}"
    );
    assert!(
        curl.contains(r#"-d '{"password":"<your passphrase>"}'"#),
        "{curl}"
    );
    let passphrase = "sturdy violet lanterns hum at noon";
    let set = reqwest::Client::new()
        .put(url)
        .bearer_auth(&server.token)
        .json(&serde_json::json!({ "password": passphrase }))
        .send()
        .await
        .expect("set password");
    assert_eq!(set.status(), reqwest::StatusCode::NO_CONTENT);
    let operator = server.login("admin@localhost", passphrase).await;
    assert_eq!(operator.get("/v1/me").await["platform_operator"], true);
    server.terminate();
    // Not on the next start: the operator is there already.
    let again = Process::embedded_at(data, &[], &[]);
    again
        .login("admin@localhost", passphrase)
        .await
        .get("/v1/me")
        .await;
    assert!(
        !again.log_text().contains("curl -X PUT"),
        "{}",
        again.log_text()
    );
}

/// The server runs with glibc's malloc arenas capped (it starts itself again
/// with `MALLOC_ARENA_MAX=2`, see `regentra_http::allocator`), and an
/// operator's own value is kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_with_malloc_arenas_capped_unless_the_operator_chose() {
    let environment = |server: &Process| {
        std::fs::read(format!("/proc/{}/environ", server.pid()))
            .expect("the server's environment")
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .filter(|v| v.starts_with("MALLOC_ARENA_MAX="))
            .collect::<Vec<_>>()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Process::embedded_at(dir.path().to_str().expect("utf-8 path"), &[], &[]);
    server.admin().get("/v1/me").await;
    assert_eq!(environment(&server), ["MALLOC_ARENA_MAX=2"]);
    drop(server);
    let dir = tempfile::tempdir().expect("temp dir");
    let chosen = Process::embedded_at(
        dir.path().to_str().expect("utf-8 path"),
        &[],
        &[("MALLOC_ARENA_MAX", "4")],
    );
    chosen.admin().get("/v1/me").await;
    assert_eq!(environment(&chosen), ["MALLOC_ARENA_MAX=4"]);
}
