//! Email delivery: a loop of its own beside the worker takes the emails the
//! core says are due ([`Regentra::emails_due`]), renders each
//! ([`render`]), sends it over SMTP (lettre, `--smtp-url`) or writes it as
//! an `.eml` file (`--mail-dir`), and records the outcome in the email's
//! record (sent, or failed with its backoff; dead after the core's maximum
//! of attempts). The state lives in the store, so a restarted server
//! resumes each email where it was, and one failing message only ever
//! delays itself. Delivery is at least once: an email sent but not marked
//! (the store unreachable right then) goes again. Several processes on one
//! store take turns: a pass first claims the store's email outbox, so no
//! two processes send the same email.

pub mod render;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, Message, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use regentra_core::Regentra;
use regentra_core::mail::OutgoingEmail;

/// Emails taken per pass.
const BATCH: usize = 50;
/// Time between passes unless configured.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(5);
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// What the flags say about email.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `--smtp-url`: `smtp://` (STARTTLS required unless `?tls=none` or
    /// `?tls=opportunistic`), `smtps://` (TLS from the start), with
    /// `user:password@` for authentication.
    pub smtp_url: Option<String>,
    /// `--mail-dir`: write each message there as an `.eml` file instead.
    pub mail_dir: Option<PathBuf>,
    /// `--mail-from`: the sender address (`Name <address>` or an address).
    pub from: Option<String>,
    /// Time between delivery passes.
    pub every: Duration,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            mail_dir: None,
            from: None,
            every: DEFAULT_EVERY,
        }
    }
}

/// The sender when `--mail-from` names none (for `--mail-dir` only).
const DEFAULT_FROM: &str = "Regentra <regentra@localhost>";

/// Where messages go.
#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Dir(PathBuf),
}

/// The delivery loop's means: where messages go, who they are from, and
/// the public URL their links are made absolute on.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    public_url: String,
    every: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("public_url", &self.public_url)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer `config` asks for; `None` when email is off (neither
    /// SMTP nor a mail directory). Refused, naming the flag, when a value
    /// is unusable.
    pub fn from_config(config: &MailConfig, public_url: &str) -> Result<Option<Mailer>, String> {
        let transport = match (&config.smtp_url, &config.mail_dir) {
            (Some(_), Some(_)) => {
                return Err("--mail-dir: give either --smtp-url or --mail-dir, not both".into());
            }
            (Some(url), None) => Transport::Smtp(smtp(url)?),
            (None, Some(dir)) => {
                // The messages hold working links (a password reset): the
                // directory and its files are this user's only.
                private_dir(dir)
                    .map_err(|e| format!("--mail-dir: cannot create {}: {e}", dir.display()))?;
                Transport::Dir(dir.clone())
            }
            (None, None) => return Ok(None),
        };
        let from = match (&config.from, &transport) {
            (Some(from), _) => from,
            (None, Transport::Dir(_)) => DEFAULT_FROM,
            (None, Transport::Smtp(_)) => {
                return Err("--mail-from: required with --smtp-url (the sender address)".into());
            }
        };
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("--mail-from: {from:?} is not an email address: {e}"))?;
        Ok(Some(Mailer {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            every: config.every,
        }))
    }

    /// Where this mailer delivers, for the start-up line.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => format!("email is on: over SMTP, from {}", self.from),
            Transport::Dir(dir) => format!(
                "email is on: messages are written to {} as .eml files",
                dir.display()
            ),
        }
    }

    /// Delivers what is due, one pass: each email rendered, sent and
    /// marked, a failure recorded and the next one tried. Returns how many
    /// were sent.
    ///
    /// The pass holds the store's claim on the email outbox
    /// ([`Regentra::try_claim_email_outbox`]) from reading the due emails
    /// to marking the last one, so the loops of several processes on one
    /// store never send the same email; while another holds it, this pass
    /// sends nothing (the next one tries again).
    pub async fn deliver_due(&self, regentra: &Regentra) -> usize {
        let claim = match regentra.try_claim_email_outbox().await {
            Ok(Some(claim)) => claim,
            Ok(None) => return 0,
            Err(e) => {
                tracing::warn!(error = %e, "email: cannot claim the outbox");
                return 0;
            }
        };
        let sent = self.deliver_claimed(regentra).await;
        claim.release().await;
        sent
    }

    /// One pass of [`Mailer::deliver_due`], under its claim.
    async fn deliver_claimed(&self, regentra: &Regentra) -> usize {
        let due = match regentra.emails_due(BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "email: cannot read the due emails");
                return 0;
            }
        };
        let mut sent = 0;
        for email in due {
            let outcome = self.send(regentra, &email).await;
            let marked = match &outcome {
                Ok(()) => regentra.mark_email_sent(email.id).await,
                Err(why) => regentra.mark_email_failed(email.id, why).await,
            };
            match (outcome, marked) {
                (Ok(()), Ok(_)) => sent += 1,
                (Ok(()), Err(e)) => {
                    // It goes again: at least once.
                    tracing::warn!(id = %email.id.0, error = %e, "email sent but not marked");
                }
                (Err(why), Ok(after)) => tracing::warn!(
                    id = %email.id.0,
                    kind = ?email.kind,
                    attempts = after.attempts,
                    state = ?after.state,
                    next_attempt_at = %after.next_attempt_at,
                    error = %why,
                    "email delivery failed"
                ),
                (Err(why), Err(e)) => {
                    tracing::warn!(id = %email.id.0, error = %e, failure = %why, "email failed and not marked");
                }
            }
        }
        sent
    }

    async fn send(&self, regentra: &Regentra, email: &OutgoingEmail) -> Result<(), String> {
        let branding = match email.org {
            Some(org) => regentra
                .email_branding(org)
                .await
                .map_err(|e| format!("branding: {e}"))?,
            None => None,
        };
        let rendered = render::render(email, branding.as_ref(), &self.public_url)?;
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| format!("recipient {:?}: {e}", email.to))?;
        let from = Mailbox::new(Some(rendered.sender.clone()), self.from.email.clone());
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(rendered.subject)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| format!("message: {e}"))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| smtp_error(&e)),
            Transport::Dir(dir) => {
                let name = format!(
                    "{}-{:?}-{}.eml",
                    email.created_at.format("%Y%m%dT%H%M%S"),
                    email.kind,
                    email.id.0
                );
                write_private(dir.join(name), message.formatted())
                    .await
                    .map_err(|e| format!("--mail-dir: {e}"))
            }
        }
    }
}

/// Creates `dir` (and its parents) readable by this user only.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a new file readable by this user only.
async fn write_private(path: std::path::PathBuf, bytes: Vec<u8>) -> std::io::Result<()> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    use tokio::io::AsyncWriteExt as _;
    let mut file = options.open(path).await?;
    file.write_all(&bytes).await?;
    file.flush().await
}

/// The SMTP failure with its causes (the server's reply among them).
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    let mut why = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        why = format!("{why}: {cause}");
        source = cause.source();
    }
    why
}

/// The SMTP transport of `--smtp-url`. `smtp://` asks for STARTTLS unless
/// the URL says otherwise (`?tls=opportunistic`, or `?tls=none` for a
/// local relay that has no TLS); `smtps://` is TLS from the start.
fn smtp(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("--smtp-url: {e}"))?;
    if parsed.scheme() == "smtp" {
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let others: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(k, _)| k != "tls")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let tls = match tls.as_deref() {
            None | Some("required") => Some("required"),
            Some("opportunistic") => Some("opportunistic"),
            Some("none") => None,
            Some(other) => {
                return Err(format!(
                    "--smtp-url: tls={other} is not one of required, opportunistic, none"
                ));
            }
        };
        parsed.set_query(None);
        {
            let mut query = parsed.query_pairs_mut();
            for (k, v) in &others {
                query.append_pair(k, v);
            }
            if let Some(tls) = tls {
                query.append_pair("tls", tls);
            }
        }
        if parsed.query() == Some("") {
            parsed.set_query(None);
        }
    }
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::from_url(parsed.as_str())
            .map_err(|e| format!("--smtp-url: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build(),
    )
}

/// Runs the delivery loop until the process ends (or the task is aborted).
pub async fn run(regentra: Arc<Regentra>, mailer: Mailer) {
    let mut tick = tokio::time::interval(mailer.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sent = mailer.deliver_due(&regentra).await;
        if sent > 0 {
            tracing::info!(count = sent, "emails sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_ask_for_starttls_unless_told_otherwise() {
        for ok in [
            "smtp://user:pass@mail.example:587",
            "smtp://mail.example?tls=opportunistic",
            "smtp://127.0.0.1:2525?tls=none",
            "smtps://user:pass@mail.example",
        ] {
            assert!(smtp(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://mail.example",
            "smtp://mail.example?tls=maybe",
            "not a url",
        ] {
            let e = smtp(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad} is refused"));
            assert!(e.starts_with("--smtp-url"), "{e}");
        }
    }

    #[test]
    fn the_sender_is_required_with_smtp_and_must_be_an_address() {
        let config = MailConfig {
            smtp_url: Some("smtp://127.0.0.1:2525?tls=none".into()),
            ..MailConfig::default()
        };
        let e = Mailer::from_config(&config, "http://x").expect_err("no sender");
        assert!(e.starts_with("--mail-from"), "{e}");
        let config = MailConfig {
            from: Some("not an address".into()),
            ..config
        };
        let e = Mailer::from_config(&config, "http://x").expect_err("bad sender");
        assert!(e.starts_with("--mail-from"), "{e}");
        assert!(
            Mailer::from_config(&MailConfig::default(), "http://x")
                .expect("off")
                .is_none()
        );
    }
}
