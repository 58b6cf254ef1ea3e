//! The `regentra` command line.

pub mod catalog;
pub mod demo;
pub mod output;
pub mod serve;
pub mod sla;

use std::fmt::Write as _;

use clap::{Parser, Subcommand};
use regentra_core::rbac::{Access, Permission, Role, decide};
use regentra_store_postgres::PostgresStore;

#[derive(Debug, Parser)]
#[command(
    name = "regentra",
    version,
    about = "Compliance management and PSA for MSPs"
)]
pub struct Cli {
    /// Without a command, `regentra` serves (as `regentra serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

// Parsed once per process: the size of `serve`'s flags costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(serve::ServeArgs),
    /// Print the role-to-permission matrix, or one role's permissions.
    Roles {
        /// Only this role (for example `technician`).
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
    /// The built-in frameworks and common controls.
    Catalog {
        #[command(subcommand)]
        command: catalog::CatalogCommand,
    },
    /// Business-time arithmetic on a calendar file.
    Sla {
        #[command(subcommand)]
        command: sla::SlaCommand,
    },
    /// Apply the Postgres store's migrations to a database (idempotent), as
    /// the schema's owner; the server then runs as a login role that is
    /// only a member of regentra_app.
    Migrate {
        /// The database as its owner, e.g. postgres://regentra_owner@localhost:5432/regentra.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| {
        let known: Vec<&str> = Role::ALL.iter().map(|r| r.key()).collect();
        format!("{e}; expected one of {}", known.join(", "))
    })
}

/// Runs a parsed command: what to print on success, or the one line that
/// explains the failure.
pub async fn run(cli: Cli) -> Result<String, String> {
    // No command is `serve` with its defaults (and its environment).
    let command = match cli.command {
        Some(command) => command,
        None => Cli::try_parse_from(["regentra", "serve"])
            .map_err(|e| e.to_string())?
            .command
            .ok_or("no command")?,
    };
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Roles { role: None } => Ok(matrix()),
        Command::Roles { role: Some(role) } => Ok(role_permissions(role)),
        Command::Catalog { command } => catalog::run(command),
        Command::Sla { command } => sla::run(command),
        Command::Migrate { database_url } => migrate(&database_url).await,
    }
}

async fn migrate(url: &str) -> Result<String, String> {
    let store = PostgresStore::connect_with(url, 1)
        .await
        .map_err(|e| e.to_string())?;
    // The cause of a failed migration is shown: this is the operator's own
    // command, and the text is what they need to fix it.
    store
        .migrate()
        .await
        .map_err(|e| match std::error::Error::source(&e) {
            Some(cause) => format!("migration failed: {cause}"),
            None => format!("migration failed: {e}"),
        })?;
    Ok("migrations applied; the database is up to date\n".to_owned())
}

fn mark(access: Access) -> &'static str {
    match access {
        Access::All => "Y",
        Access::Own => "own",
        Access::Denied => "-",
    }
}

/// The whole matrix as a table, one row per permission.
pub fn matrix() -> String {
    let width = Permission::ALL
        .iter()
        .map(|p| p.key().len())
        .max()
        .unwrap_or(0);
    let mut out = format!("{:width$}", "permission");
    for role in Role::ALL {
        let _ = write!(out, "  {}", role.key());
    }
    out.push('\n');
    for &permission in Permission::ALL {
        let _ = write!(out, "{:width$}", permission.key());
        for role in Role::ALL {
            let _ = write!(
                out,
                "  {:^w$}",
                mark(decide(role, permission)),
                w = role.key().len()
            );
        }
        out.push('\n');
    }
    out
}

/// The permissions one role holds, with `(own)` where limited to the caller's records.
pub fn role_permissions(role: Role) -> String {
    Permission::ALL
        .iter()
        .filter_map(|&p| match decide(role, p) {
            Access::All => Some(format!("{p}\n")),
            Access::Own => Some(format!("{p} (own)\n")),
            Access::Denied => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_has_a_row_per_permission_and_a_column_per_role() {
        let table = matrix();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), Permission::ALL.len() + 1);
        assert!(lines[0].contains("super_admin") && lines[0].contains("technician"));
        let sign = lines
            .iter()
            .find(|l| l.starts_with("acknowledgments.sign"))
            .expect("row");
        assert_eq!(
            sign.split_whitespace().skip(1).collect::<Vec<_>>(),
            ["own", "own", "own", "own", "own", "own", "-", "own"]
        );
    }

    #[test]
    fn one_role_lists_only_what_it_holds() {
        let viewer = role_permissions(Role::Viewer);
        assert!(viewer.contains("audit.read\n"));
        assert!(!viewer.contains("tickets.manage"));
        let employee = role_permissions(Role::Employee);
        assert!(employee.contains("policies.read (own)"));
    }

    #[test]
    fn unknown_roles_are_refused_with_the_known_ones() {
        let err =
            Cli::try_parse_from(["regentra", "roles", "--role", "root"]).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("unknown role `root`") && text.contains("technician"),
            "{text}"
        );
    }
}
