//! `regentra serve`: the reference server on the embedded store (default,
//! `./regentra-data/`) or Postgres (`--database-url`, as a login role that
//! is only a member of `regentra_app`; migrated on start only with
//! `--migrate-database-url`, the owner's), with the background worker
//! beside it.
//!
//! The binary and the in-process tests share the wiring: [`AppConfig`] is
//! what the flags and environment resolve to, [`open_store`] opens the store
//! they name, and [`App::build`] bootstraps the platform admin, seeds the
//! demo when asked and returns the router and the worker's configuration;
//! [`run`] then binds, spawns the worker and serves.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use clap::Args;
use regentra_core::store::Store;
use regentra_core::{Clock, PasswordHashing, Principal, Regentra, SystemClock, TokenLifetimes};
use regentra_store_embedded::EmbeddedStore;
use regentra_store_postgres::PostgresStore;

use crate::cli::demo;
use crate::server::dns::Dns;
use crate::server::mail::{self, MailConfig, Mailer};
use crate::server::worker::{self, WorkerConfig};
use crate::server::{
    AppState, Drain, HttpConfig, default_listen, router, serve_draining, shutdown_signal,
};

/// The platform admin's email unless `REGENTRA_ADMIN_EMAIL` names another.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@localhost";
/// Seconds between worker sweeps unless configured.
pub const DEFAULT_SWEEP_INTERVAL_SECS: u64 = 60;
/// The largest evidence file accepted unless configured, in MiB.
pub const DEFAULT_MAX_EVIDENCE_MIB: u64 = 100;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "REGENTRA_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded store.
    #[arg(long, env = "REGENTRA_DATA_DIR", default_value = "regentra-data")]
    pub data_dir: PathBuf,
    /// Use Postgres instead of the embedded store, connecting as a login
    /// role that is only a member of regentra_app (not superuser, owner or
    /// BYPASSRLS: refused otherwise).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Migrate on start, connecting as the schema's owner (otherwise the
    /// schema must be current: `regentra migrate`).
    #[arg(long, env = "REGENTRA_MIGRATE_DATABASE_URL", hide_env_values = true)]
    pub migrate_database_url: Option<String>,
    /// Development only: serve even when --database-url's user is a
    /// superuser, an owner or BYPASSRLS (tenant isolation then rests on the
    /// queries alone).
    #[arg(
        long,
        env = "REGENTRA_ALLOW_PRIVILEGED_DATABASE_USER",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::SetTrue
    )]
    pub allow_privileged_database_user: bool,
    /// Seed, once, a demo MSP with clients, staff, frameworks, a campaign and tickets.
    #[arg(long)]
    pub demo: bool,
    /// Browser origins allowed to call the API (CORS is off without one).
    #[arg(
        long = "cors-origin",
        env = "REGENTRA_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Webhook URLs the notification outbox is delivered to.
    #[arg(
        long = "webhook-url",
        env = "REGENTRA_WEBHOOK_URLS",
        value_delimiter = ','
    )]
    pub webhook_urls: Vec<String>,
    /// Secret that signs webhook deliveries (x-regentra-signature).
    #[arg(long, env = "REGENTRA_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Seconds between worker sweeps (escalations, reminders, deliveries).
    #[arg(long, env = "REGENTRA_SWEEP_INTERVAL", default_value_t = DEFAULT_SWEEP_INTERVAL_SECS)]
    pub sweep_interval: u64,
    /// Seconds to keep serving after SIGTERM with `/readyz` answering 503,
    /// before the listener closes: behind a load balancer, at least its
    /// readiness check interval times the failures it needs.
    #[arg(long, env = "REGENTRA_DRAIN_SECONDS", default_value_t = 0)]
    pub drain_seconds: u64,
    /// The DNS server (`ip:port`) that resolves tenant webhook names and
    /// portal host name challenges [default: the system's resolver].
    #[arg(long, env = "REGENTRA_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,
    /// Largest evidence file accepted, in MiB.
    #[arg(long, env = "REGENTRA_MAX_EVIDENCE_MIB", default_value_t = DEFAULT_MAX_EVIDENCE_MIB)]
    pub max_evidence_mib: u64,
    /// argon2id memory per password hash, in KiB (OWASP's minimum or more).
    #[arg(long, env = "REGENTRA_ARGON2_MEMORY_KIB", default_value_t = PasswordHashing::RECOMMENDED.memory_kib())]
    pub argon2_memory_kib: u32,
    /// argon2id passes per password hash.
    #[arg(long, env = "REGENTRA_ARGON2_ITERATIONS", default_value_t = PasswordHashing::RECOMMENDED.iterations())]
    pub argon2_iterations: u32,
    /// argon2id lanes per password hash.
    #[arg(long, env = "REGENTRA_ARGON2_PARALLELISM", default_value_t = PasswordHashing::RECOMMENDED.parallelism())]
    pub argon2_parallelism: u32,
    /// Minutes a login token lives without use (at least 10).
    #[arg(long, env = "REGENTRA_LOGIN_IDLE_MINUTES", default_value_t = TokenLifetimes::DEFAULT.idle().num_minutes().unsigned_abs())]
    pub login_idle_minutes: u64,
    /// Hours a login token lives whatever its use (at most 8784, a year).
    #[arg(long, env = "REGENTRA_LOGIN_MAX_HOURS", default_value_t = TokenLifetimes::DEFAULT.absolute().num_hours().unsigned_abs())]
    pub login_max_hours: u64,
    /// Where email goes: `smtp://[user:pass@]host[:port]` (STARTTLS
    /// required; `?tls=none` for a local relay without TLS) or
    /// `smtps://...` (TLS). Without it or --mail-dir, email is off.
    #[arg(long, env = "REGENTRA_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of every email: `Name <address>` or an address (required
    /// with --smtp-url).
    #[arg(long, env = "REGENTRA_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Write each email as an .eml file in this directory instead of
    /// sending it (for the demo, and to look at the output).
    #[arg(long, env = "REGENTRA_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,
    /// The server's address as people reach it, which links in emails
    /// start with [default: http://<listen address>].
    #[arg(long, env = "REGENTRA_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl ServeArgs {
    /// The login token lifetimes the flags ask for, refused naming the flag.
    fn token_lifetimes(&self) -> Result<TokenLifetimes, String> {
        // Capped far above what is accepted, so the durations cannot overflow.
        let minutes = i64::try_from(self.login_idle_minutes.min(100_000_000)).unwrap_or(0);
        let hours = i64::try_from(self.login_max_hours.min(1_000_000)).unwrap_or(0);
        TokenLifetimes::new(
            chrono::Duration::minutes(minutes),
            chrono::Duration::hours(hours),
        )
        .map_err(|e| match e {
            regentra_core::Error::Validation(fields) => fields
                .iter()
                .map(|f| {
                    let flag = match f.field.as_str() {
                        "login_idle" => "--login-idle-minutes",
                        _ => "--login-max-hours",
                    };
                    format!("{flag}: {}", f.message)
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
    }

    /// The password-hashing cost the flags ask for, refused below OWASP's
    /// minimum with the flag named.
    fn password_hashing(&self) -> Result<PasswordHashing, String> {
        PasswordHashing::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
        )
        .map_err(|e| match e {
            regentra_core::Error::Validation(fields) => fields
                .iter()
                .map(|f| format!("--argon2-{}: {}", f.field.replace('_', "-"), f.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
    }
}

/// What `regentra serve` runs with, once its flags and environment are
/// resolved and checked; everything but where the store is and where to
/// listen.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The argon2id cost of new password hashes.
    pub password_hashing: PasswordHashing,
    /// How long login tokens live (idle, absolute).
    pub token_lifetimes: TokenLifetimes,
    /// The largest evidence file accepted, in bytes.
    pub evidence_limit: u64,
    /// The platform admin's email: made on an empty store, found otherwise.
    pub admin_email: String,
    /// The platform admin's first token on an empty store; `None` issues a
    /// fresh one (see [`App::bootstrap_token`]).
    pub bootstrap_token: Option<String>,
    /// Seed the demo (once) on start.
    pub demo: bool,
    /// The DNS server tenant webhook names and portal host name challenges
    /// are resolved with; `None` uses the system's resolver.
    pub dns_server: Option<SocketAddr>,
    pub http: HttpConfig,
    pub worker: WorkerConfig,
    /// Email delivery (off unless SMTP or a mail directory is given).
    pub mail: MailConfig,
    /// The server's address as people reach it: links in emails (and the
    /// web pages) start with it. `None`: `http://` and the default listen
    /// address.
    pub public_url: Option<String>,
    /// The core's clock: the system's, or a test's own (expiries, TOTP
    /// steps and SLA clocks are then driven by the test).
    pub clock: AppClock,
}

/// The clock of [`AppConfig`] (a newtype so the config stays `Debug`).
#[derive(Clone)]
pub struct AppClock(pub Arc<dyn Clock>);

impl Default for AppClock {
    fn default() -> Self {
        Self(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for AppClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppClock")
    }
}

impl Default for AppConfig {
    /// `regentra serve`'s defaults with no flags and no environment.
    fn default() -> Self {
        Self {
            password_hashing: PasswordHashing::RECOMMENDED,
            token_lifetimes: TokenLifetimes::DEFAULT,
            evidence_limit: DEFAULT_MAX_EVIDENCE_MIB * 1024 * 1024,
            admin_email: DEFAULT_ADMIN_EMAIL.to_owned(),
            bootstrap_token: None,
            demo: false,
            dns_server: None,
            http: HttpConfig::default(),
            worker: WorkerConfig {
                every: Duration::from_secs(DEFAULT_SWEEP_INTERVAL_SECS),
                webhooks: Vec::new(),
                secret: None,
                first_retry: worker::FIRST_RETRY,
                dns: None,
            },
            mail: MailConfig::default(),
            public_url: None,
            clock: AppClock::default(),
        }
    }
}

impl AppConfig {
    /// The configuration the flags (and their environment variables) ask
    /// for, with `REGENTRA_ADMIN_EMAIL` and `REGENTRA_BOOTSTRAP_TOKEN` read
    /// from the environment; refused, naming the flag, when a value is out
    /// of bounds.
    pub fn from_args(args: &ServeArgs) -> Result<Self, String> {
        if args.sweep_interval == 0 {
            return Err("--sweep-interval: must be at least 1 second".into());
        }
        let public_url = match &args.public_url {
            Some(url) => Some(check_public_url(url)?),
            None => Some(format!(
                "http://{}",
                args.listen.unwrap_or_else(default_listen)
            )),
        };
        Ok(Self {
            password_hashing: args.password_hashing()?,
            token_lifetimes: args.token_lifetimes()?,
            evidence_limit: args.max_evidence_mib.saturating_mul(1024 * 1024),
            admin_email: std::env::var("REGENTRA_ADMIN_EMAIL")
                .unwrap_or_else(|_| DEFAULT_ADMIN_EMAIL.to_owned()),
            bootstrap_token: std::env::var("REGENTRA_BOOTSTRAP_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
            demo: args.demo,
            dns_server: args.dns_server,
            http: HttpConfig {
                cors_origins: args.cors_origins.clone(),
                ..HttpConfig::default()
            },
            worker: WorkerConfig {
                every: Duration::from_secs(args.sweep_interval),
                webhooks: args.webhook_urls.clone(),
                secret: args.webhook_secret.clone(),
                first_retry: worker::FIRST_RETRY,
                dns: None,
            },
            mail: MailConfig {
                smtp_url: args.smtp_url.clone().filter(|u| !u.is_empty()),
                mail_dir: args.mail_dir.clone(),
                from: args.mail_from.clone().filter(|f| !f.is_empty()),
                ..MailConfig::default()
            },
            public_url,
            clock: AppClock::default(),
        })
    }

    /// The public URL links start with.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", default_listen()))
    }
}

/// `--public-url` as links use it: an absolute http(s) URL, no trailing slash.
fn check_public_url(url: &str) -> Result<String, String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "--public-url: {url:?} is not an absolute http or https URL"
        )),
    }
}

/// The server `regentra serve` runs, built but not listening yet: the
/// services over the store, bootstrapped (and seeded with the demo when
/// asked), and the router over them.
#[derive(Debug)]
pub struct App {
    pub regentra: Arc<Regentra>,
    /// The whole API, ready for `axum::serve` with the peer's address
    /// (`into_make_service_with_connect_info::<SocketAddr>()`).
    pub router: Router,
    /// What [`App::spawn_worker`] runs with.
    pub worker: WorkerConfig,
    /// The email delivery loop [`App::spawn_mailer`] runs; `None` when
    /// email is off.
    pub mailer: Option<Mailer>,
    /// Started when the server shuts down: `/readyz` answers 503 and the
    /// worker takes no new org.
    pub drain: Drain,
    /// The platform admin, when the configured email names this store's.
    pub admin: Option<Principal>,
    /// The token issued to the platform admin on an empty store when none
    /// was configured (also told to `notice`).
    pub bootstrap_token: Option<String>,
    /// Whether this start made the platform admin (an empty store), who
    /// has no password yet: see [`first_password_hint`].
    pub first_start: bool,
}

impl App {
    /// Builds the app over `store`. What the operator must be told (the
    /// platform admin was created, a fresh bootstrap token, the demo's
    /// logins) goes to `notice`, a line at a time, as soon as it is known.
    pub async fn build(
        store: Arc<dyn Store>,
        config: AppConfig,
        notice: &mut dyn FnMut(&str),
    ) -> Result<App, String> {
        let public_url = config.public_url();
        let regentra = Arc::new(
            Regentra::new(store)
                .with_clock(config.clock.0)
                .with_evidence_limit(config.evidence_limit)
                .with_password_hashing(config.password_hashing)
                .with_token_lifetimes(config.token_lifetimes),
        );
        // The demo on an empty store is told as if it began two hours ago
        // (`demo::story`), its bootstrap included, so that audit chains
        // stay in time order.
        let fresh = regentra
            .platform_admin(&config.admin_email)
            .await
            .map_err(|e| format!("reading the store: {e}"))?
            .is_none();
        let seeding = if config.demo && fresh {
            demo::story(&regentra)
        } else {
            Regentra::clone(&regentra)
        };
        let (admin, bootstrap_token, first_start) = bootstrap(
            &seeding,
            &config.admin_email,
            config.bootstrap_token.as_deref(),
            notice,
        )
        .await?;
        if config.demo {
            let admin = admin.as_ref().ok_or(
                "--demo: REGENTRA_ADMIN_EMAIL does not name this store's platform admin, who seeds the demo",
            )?;
            let logins = demo::seed(&seeding, &regentra, admin).await?;
            for line in &logins.lines {
                notice(line);
            }
            notice(&demo::email_hint(
                config.mail.mail_dir.as_deref(),
                config.mail.smtp_url.is_some(),
            ));
        }
        let mailer = Mailer::from_config(&config.mail, &public_url)?;
        match &mailer {
            Some(mailer) => notice(&mailer.describe()),
            None => notice(
                "email is off: no --smtp-url or --mail-dir, so emails wait in the outbox \
                 (pending) until one is configured",
            ),
        }
        let dns = Dns::new(config.dns_server).map_err(|e| format!("--dns-server: {e}"))?;
        let drain = Drain::default();
        let state = AppState::new(Arc::clone(&regentra))
            .with_dns(dns.clone())
            .with_public_url(&public_url)
            .with_drain(drain.clone());
        let router = router(state, &config.http)?;
        let mut worker = config.worker;
        worker.dns = Some(dns);
        Ok(App {
            regentra,
            router,
            worker,
            mailer,
            drain,
            admin,
            bootstrap_token,
            first_start,
        })
    }

    /// Starts the background worker (escalations, reminders, webhook
    /// deliveries) on the current runtime; it runs until aborted, or until
    /// [`App::drain`] starts and the orgs it is sweeping are done.
    pub fn spawn_worker(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(worker::run_until(
            Arc::clone(&self.regentra),
            self.worker.clone(),
            self.drain.clone(),
        ))
    }

    /// Starts the email delivery loop on the current runtime, when email
    /// is on; it runs until aborted.
    pub fn spawn_mailer(&self) -> Option<tokio::task::JoinHandle<()>> {
        let mailer = self.mailer.clone()?;
        Some(tokio::spawn(mail::run(Arc::clone(&self.regentra), mailer)))
    }
}

pub async fn run(args: ServeArgs) -> Result<String, String> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let config = AppConfig::from_args(&args)?;
    let postgres = args
        .database_url
        .as_ref()
        .filter(|url| !url.is_empty())
        .map(|url| PostgresConfig {
            url: url.clone(),
            migrate_url: args
                .migrate_database_url
                .clone()
                .filter(|url| !url.is_empty()),
            allow_privileged_user: args.allow_privileged_database_user,
        });
    let store = open_store(postgres.as_ref(), &args.data_dir).await?;
    let app = App::build(store, config, &mut |line| super::output::stderr(line)).await?;
    let listen = args.listen.unwrap_or_else(default_listen);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("--listen: cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let sweeper = app.spawn_worker();
    let mailer = app.spawn_mailer();
    // Listen for SIGTERM and Ctrl-C before saying we listen: a signal sent
    // as soon as the line is read must shut down cleanly, not kill.
    let shutdown = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    super::output::stderr(&format!("listening on {bound}"));
    if app.first_start {
        for line in first_password_hint(bound, app.bootstrap_token.as_deref()) {
            super::output::stderr(&line);
        }
    }
    let drain_for = Duration::from_secs(args.drain_seconds);
    let served = serve_draining(listener, app.router, app.drain.clone(), drain_for, shutdown).await;
    // The worker finishes the orgs it is sweeping (their claims released
    // as it goes) and stops. Started already unless serving failed.
    app.drain.start();
    if let Err(e) = sweeper.await
        && !e.is_cancelled()
    {
        tracing::warn!(error = %e, "the worker ended badly");
    }
    if let Some(mailer) = mailer {
        mailer.abort();
    }
    served.map_err(|e| e.to_string())?;
    Ok(String::new())
}

/// Where `regentra serve` finds Postgres, and what it accepts there.
#[derive(Debug, Clone, Default)]
pub struct PostgresConfig {
    /// `--database-url`: the login role the server runs as.
    pub url: String,
    /// `--migrate-database-url`: the schema's owner, to migrate on start.
    pub migrate_url: Option<String>,
    /// `--allow-privileged-database-user`: serve (with a warning) even as a
    /// user that could get past row-level security.
    pub allow_privileged_user: bool,
}

/// The store `regentra serve` runs on: Postgres when `postgres` is given,
/// otherwise the embedded store in `data_dir` (created if missing).
pub async fn open_store(
    postgres: Option<&PostgresConfig>,
    data_dir: &Path,
) -> Result<Arc<dyn Store>, String> {
    match postgres {
        Some(postgres) => Ok(Arc::new(open_postgres(postgres).await?)),
        None => {
            create_private_dir(data_dir)
                .map_err(|e| format!("--data-dir: cannot create {}: {e}", data_dir.display()))?;
            Ok(Arc::new(
                EmbeddedStore::open(data_dir.join("regentra.redb"))
                    .await
                    .map_err(|e| e.to_string())?,
            ))
        }
    }
}

/// Postgres as `regentra serve` accepts it: migrated first when the
/// owner's URL is given, otherwise refused unless its schema is current;
/// then refused when the server's user could get past row-level security
/// ([`PostgresStore::check_least_privilege`]) unless allowed, loudly.
async fn open_postgres(config: &PostgresConfig) -> Result<PostgresStore, String> {
    if let Some(owner_url) = &config.migrate_url {
        let owner = PostgresStore::connect_with(owner_url, 1)
            .await
            .map_err(|e| format!("--migrate-database-url: {e}"))?;
        owner
            .migrate()
            .await
            .map_err(|e| format!("--migrate-database-url: migration failed: {}", cause(&e)))?;
        owner.pool().close().await;
    }
    let pg = PostgresStore::connect(&config.url)
        .await
        .map_err(|e| format!("--database-url: {e}"))?;
    let pending = pg
        .pending_migrations()
        .await
        .map_err(|e| format!("--database-url: {}", cause(&e)))?;
    if !pending.is_empty() {
        return Err(format!(
            "--database-url: the database schema is not current (migrations {pending:?} are not \
             applied): run `regentra migrate --database-url <the owner's URL>`, or start with \
             --migrate-database-url <the owner's URL>"
        ));
    }
    if let Err(problem) = pg.check_least_privilege().await {
        if !config.allow_privileged_user {
            return Err(format!(
                "--database-url: {problem}; for development only, \
                 --allow-privileged-database-user (REGENTRA_ALLOW_PRIVILEGED_DATABASE_USER=true) \
                 serves anyway"
            ));
        }
        tracing::warn!(
            "INSECURE: --allow-privileged-database-user: serving although {problem}. Tenant \
             isolation rests on the queries alone; never run this in production"
        );
    }
    Ok(pg)
}

/// What an operator needs to read of a store error: its cause when it has
/// one (this is the operator's own command, and storage errors hide it).
fn cause(e: &regentra_core::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => cause.to_string(),
        None => e.to_string(),
    }
}

/// Creates the data directory, and the parents it lacks, readable by this
/// user only (0700 on Unix): the store in it holds password and token
/// hashes. A directory that already exists is left as the operator made it
/// (it may be a mount point, or shared on purpose), with a warning if its
/// group or others may enter it; the database file itself is always 0600.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if dir.is_dir() {
            let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "--data-dir {} has mode {mode:04o}: others on this machine may list it; \
                     `chmod 700 {}` keeps it to this user",
                    dir.display(),
                    dir.display()
                );
            }
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// How the platform admin, made on this start with no password, sets the
/// one they log in with: a copy-paste `curl` line to `PUT /v1/me/password`
/// at `address` (a wildcard address becomes the loopback) with the
/// bootstrap `token` (`None`: the one from `REGENTRA_BOOTSTRAP_TOKEN`).
pub fn first_password_hint(address: SocketAddr, token: Option<&str>) -> Vec<String> {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let token = token.unwrap_or("$REGENTRA_BOOTSTRAP_TOKEN");
    vec![
        "the platform admin has no password yet; set one (once, no current password needed; \
         at least 12 characters and hard to guess), then log in with POST /v1/auth/login:"
            .to_owned(),
        format!(
            "  curl -X PUT http://{address}/v1/me/password -H \"Authorization: Bearer {token}\" \
             -H 'Content-Type: application/json' -d '{{\"password\":\"<your passphrase>\"}}'"
        ),
    ]
}

/// On an empty store: the platform admin and a token for them, `token` when
/// given, otherwise a fresh one (returned, and told to `notice`). Returns
/// the platform admin when `email` names them, and whether it was made now.
async fn bootstrap(
    regentra: &Regentra,
    email: &str,
    token: Option<&str>,
    notice: &mut dyn FnMut(&str),
) -> Result<(Option<Principal>, Option<String>, bool), String> {
    let admin = match regentra
        .bootstrap_platform_admin(email, "Platform admin")
        .await
    {
        Ok(admin) => admin,
        // Not an empty store: find the operator again.
        Err(regentra_core::Error::AlreadyExists { .. }) => {
            let id = regentra
                .platform_admin(email)
                .await
                .map_err(|e| format!("REGENTRA_ADMIN_EMAIL: {e}"))?;
            return Ok((id.map(Principal::new), None, false));
        }
        Err(e) => return Err(format!("bootstrap failed: {e}")),
    };
    let principal = Principal::new(admin.id);
    match token {
        Some(secret) if !secret.is_empty() => {
            regentra
                .register_token(&principal, "bootstrap", secret)
                .await
                .map_err(|e| format!("REGENTRA_BOOTSTRAP_TOKEN: {e}"))?;
            notice(&format!(
                "platform admin {email} created; use the token from REGENTRA_BOOTSTRAP_TOKEN"
            ));
            Ok((Some(principal), None, true))
        }
        _ => {
            let (_, secret) = regentra
                .issue_token(&principal, "bootstrap")
                .await
                .map_err(|e| format!("bootstrap failed: {e}"))?;
            notice(&format!("platform admin {email} created"));
            notice(&format!("bootstrap token: {secret}"));
            Ok((Some(principal), Some(secret), true))
        }
    }
}
