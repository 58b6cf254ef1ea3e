//! `regentra sla ...`: business-time arithmetic on a calendar file, for
//! scripts: one value on stdout, or one line on stderr and a non-zero exit.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use clap::Subcommand;
use regentra_core::Error;
use regentra_core::sla::BusinessCalendar;

#[derive(Debug, Subcommand)]
pub enum SlaCommand {
    /// The due instant: `--minutes` of business time after `--start`.
    Due {
        /// A calendar in the JSON form (see the README).
        #[arg(long)]
        calendar: String,
        /// The start, RFC 3339 (`2025-06-13T17:59:00-04:00`).
        #[arg(long)]
        start: String,
        /// Business minutes (validated here, so a negative number gets our
        /// one-line error rather than clap's usage text).
        #[arg(long, allow_hyphen_values = true)]
        minutes: String,
    },
    /// The business minutes between two instants.
    Elapsed {
        #[arg(long)]
        calendar: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

pub fn run(command: SlaCommand) -> Result<String, String> {
    match command {
        SlaCommand::Due {
            calendar,
            start,
            minutes,
        } => {
            let cal = load(&calendar)?;
            let start = instant("--start", &start)?;
            let minutes: i64 =
                minutes
                    .trim()
                    .parse()
                    .ok()
                    .filter(|m| *m >= 0)
                    .ok_or_else(|| {
                        format!(
                            "--minutes: `{minutes}` is not a whole number of minutes (0 or more)"
                        )
                    })?;
            let due = cal
                .add(start, Duration::minutes(minutes))
                .ok_or("--minutes: the due instant lies beyond the year 9999")?;
            Ok(format!(
                "{}\n",
                due.to_rfc3339_opts(SecondsFormat::Secs, true)
            ))
        }
        SlaCommand::Elapsed { calendar, from, to } => {
            let cal = load(&calendar)?;
            let (from, to) = (instant("--from", &from)?, instant("--to", &to)?);
            Ok(format!("{}\n", cal.elapsed(from, to).num_minutes()))
        }
    }
}

fn load(path: &str) -> Result<BusinessCalendar, String> {
    let json = std::fs::read_to_string(path)
        .map_err(|e| format!("--calendar: cannot read {path}: {e}"))?;
    json.parse::<BusinessCalendar>().map_err(|e| match e {
        Error::Validation(errors) => {
            let problems: Vec<String> = errors
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            format!(
                "--calendar: invalid calendar in {path}: {}",
                problems.join("; ").replace('\n', " ")
            )
        }
        other => format!("--calendar: {other}"),
    })
}

fn instant(flag: &str, raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{flag}: `{raw}` is not an RFC 3339 instant ({e})"))
}
