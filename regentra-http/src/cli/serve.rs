//! `regentra serve`: the reference server on the embedded store (default,
//! `./regentra-data/`) or Postgres (`--database-url`, migrated on start).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use regentra_core::store::Store;
use regentra_core::{Principal, Regentra};
use regentra_store_embedded::EmbeddedStore;
use regentra_store_postgres::PostgresStore;

use crate::server::{AppState, default_listen, serve};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded store.
    #[arg(long, default_value = "regentra-data")]
    pub data_dir: PathBuf,
    /// Use Postgres instead of the embedded store.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            listen: None,
            data_dir: PathBuf::from("regentra-data"),
            database_url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        }
    }
}

pub async fn run(args: ServeArgs) -> Result<String, String> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let store: Arc<dyn Store> = match &args.database_url {
        Some(url) => {
            let pg = PostgresStore::connect(url)
                .await
                .map_err(|e| e.to_string())?;
            pg.migrate()
                .await
                .map_err(|e| format!("migration failed: {e}"))?;
            Arc::new(pg)
        }
        None => {
            std::fs::create_dir_all(&args.data_dir).map_err(|e| {
                format!("--data-dir: cannot create {}: {e}", args.data_dir.display())
            })?;
            Arc::new(
                EmbeddedStore::open(args.data_dir.join("regentra.redb"))
                    .await
                    .map_err(|e| e.to_string())?,
            )
        }
    };
    let regentra = Arc::new(Regentra::new(store));
    bootstrap(&regentra).await?;
    let listen = args.listen.unwrap_or_else(default_listen);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("--listen: cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("listening on {bound}");
    serve(listener, AppState { regentra })
        .await
        .map_err(|e| e.to_string())?;
    Ok(String::new())
}

/// On an empty store: the platform admin and a token for them, the value of
/// `REGENTRA_BOOTSTRAP_TOKEN` when set, otherwise a fresh one printed once.
async fn bootstrap(regentra: &Regentra) -> Result<(), String> {
    let email = std::env::var("REGENTRA_ADMIN_EMAIL").unwrap_or_else(|_| "admin@localhost".into());
    let admin = match regentra
        .bootstrap_platform_admin(&email, "Platform admin")
        .await
    {
        Ok(admin) => admin,
        // Not an empty store: nothing to do.
        Err(regentra_core::Error::AlreadyExists { .. }) => return Ok(()),
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
    Ok(())
}
