//! `regentra serve`: the reference server on the embedded store (default,
//! `./regentra-data/`) or Postgres (`--database-url`, migrated on start),
//! with the background worker beside it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use regentra_core::store::Store;
use regentra_core::{PasswordHashing, Principal, Regentra};
use regentra_store_embedded::EmbeddedStore;
use regentra_store_postgres::PostgresStore;

use crate::cli::demo;
use crate::server::worker::{self, WorkerConfig};
use crate::server::{AppState, HttpConfig, default_listen, router, serve};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "REGENTRA_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded store.
    #[arg(long, env = "REGENTRA_DATA_DIR", default_value = "regentra-data")]
    pub data_dir: PathBuf,
    /// Use Postgres instead of the embedded store.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
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
    #[arg(long, env = "REGENTRA_SWEEP_INTERVAL", default_value_t = 60)]
    pub sweep_interval: u64,
    /// Largest evidence file accepted, in MiB.
    #[arg(long, env = "REGENTRA_MAX_EVIDENCE_MIB", default_value_t = 100)]
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
}

impl ServeArgs {
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

pub async fn run(args: ServeArgs) -> Result<String, String> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    if args.sweep_interval == 0 {
        return Err("--sweep-interval: must be at least 1 second".into());
    }
    let hashing = args.password_hashing()?;
    let regentra = Arc::new(
        Regentra::new(open_store(&args).await?)
            .with_evidence_limit(args.max_evidence_mib.saturating_mul(1024 * 1024))
            .with_password_hashing(hashing),
    );
    let admin = bootstrap(&regentra).await?;
    if args.demo {
        let admin = admin.ok_or(
            "--demo: REGENTRA_ADMIN_EMAIL does not name this store's platform admin, who seeds the demo",
        )?;
        let logins = demo::seed(&regentra, &admin).await?;
        for line in logins.lines {
            eprintln!("{line}");
        }
    }
    let app = router(
        AppState::new(Arc::clone(&regentra)),
        &HttpConfig {
            cors_origins: args.cors_origins.clone(),
            ..HttpConfig::default()
        },
    )?;
    let listen = args.listen.unwrap_or_else(default_listen);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("--listen: cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let sweeper = tokio::spawn(worker::run(
        Arc::clone(&regentra),
        WorkerConfig {
            every: Duration::from_secs(args.sweep_interval),
            webhooks: args.webhook_urls.clone(),
            secret: args.webhook_secret.clone(),
        },
    ));
    eprintln!("listening on {bound}");
    let served = serve(listener, app).await;
    sweeper.abort();
    served.map_err(|e| e.to_string())?;
    Ok(String::new())
}

async fn open_store(args: &ServeArgs) -> Result<Arc<dyn Store>, String> {
    match &args.database_url {
        Some(url) if !url.is_empty() => {
            let pg = PostgresStore::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            pg.migrate()
                .await
                .map_err(|e| format!("migration failed: {e}"))?;
            Ok(Arc::new(pg))
        }
        _ => {
            std::fs::create_dir_all(&args.data_dir).map_err(|e| {
                format!("--data-dir: cannot create {}: {e}", args.data_dir.display())
            })?;
            Ok(Arc::new(
                EmbeddedStore::open(args.data_dir.join("regentra.redb"))
                    .await
                    .map_err(|e| e.to_string())?,
            ))
        }
    }
}

/// On an empty store: the platform admin and a token for them, the value of
/// `REGENTRA_BOOTSTRAP_TOKEN` when set, otherwise a fresh one printed once.
/// Returns the platform admin when `REGENTRA_ADMIN_EMAIL` names them.
async fn bootstrap(regentra: &Regentra) -> Result<Option<Principal>, String> {
    let email = std::env::var("REGENTRA_ADMIN_EMAIL").unwrap_or_else(|_| "admin@localhost".into());
    let admin = match regentra
        .bootstrap_platform_admin(&email, "Platform admin")
        .await
    {
        Ok(admin) => admin,
        // Not an empty store: find the operator again.
        Err(regentra_core::Error::AlreadyExists { .. }) => {
            let id = regentra
                .platform_admin(&email)
                .await
                .map_err(|e| format!("REGENTRA_ADMIN_EMAIL: {e}"))?;
            return Ok(id.map(Principal::new));
        }
        Err(e) => return Err(format!("bootstrap failed: {e}")),
    };
    let principal = Principal::new(admin.id);
    match std::env::var("REGENTRA_BOOTSTRAP_TOKEN") {
        Ok(secret) if !secret.is_empty() => {
            regentra
                .register_token(&principal, "bootstrap", &secret)
                .await
                .map_err(|e| format!("REGENTRA_BOOTSTRAP_TOKEN: {e}"))?;
            eprintln!(
                "platform admin {email} created; use the token from REGENTRA_BOOTSTRAP_TOKEN"
            );
        }
        _ => {
            let (_, secret) = regentra
                .issue_token(&principal, "bootstrap")
                .await
                .map_err(|e| format!("bootstrap failed: {e}"))?;
            eprintln!("platform admin {email} created");
            eprintln!("bootstrap token: {secret}");
        }
    }
    Ok(Some(principal))
}
