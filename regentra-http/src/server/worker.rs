//! The background worker: on a schedule, for every org, fire due SLA
//! escalations and campaign reminders (both commit through the core, so a
//! second sweep fires nothing twice), then deliver the notification outbox
//! to webhooks. Delivery is at least once: an entry is marked delivered
//! only after every target answered 2xx; a failed one is retried with
//! exponential backoff.
//!
//! A tenant's own webhook URL (an escalation's) is untrusted: it must pass
//! the core's `notify::webhook_url_problem` (https, no special-use literal
//! address), its name is resolved here and refused if any address fails
//! `notify::address_problem` (see [`CheckedResolver`]), the connection goes
//! to the checked addresses only, through no proxy, and redirects are not
//! followed (a 3xx is a failed delivery). The operator's `--webhook-url`s
//! are trusted (they may point at loopback) but redirects are not followed
//! there either.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use regentra_core::Regentra;
use regentra_core::ids::{NotificationId, OrgId};
use regentra_core::notify::{Notification, NotificationKind};
use regentra_core::store::PageRequest;
use sha2::Sha256;

use super::dns::{CheckedResolver, Dns};

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Time between sweeps.
    pub every: Duration,
    /// Where every notification is posted (besides a webhook escalation's own URL).
    pub webhooks: Vec<String>,
    /// Signs each delivery: `x-regentra-signature: sha256=<hex HMAC of the body>`.
    pub secret: Option<String>,
    /// How long a failed delivery waits before its first retry; each further
    /// retry waits twice as long, up to an hour.
    pub first_retry: Duration,
    /// Where tenant webhook names are resolved: the system's resolver when
    /// `None`, else this one (`--dns-server`).
    pub dns: Option<Dns>,
}

/// The first retry's wait unless configured.
pub const FIRST_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between retries.
const LONGEST_RETRY: Duration = Duration::from_secs(3600);
/// Outbox entries taken per org per sweep.
const BATCH: usize = 100;

/// Runs until the process ends.
pub async fn run(regentra: Arc<Regentra>, config: WorkerConfig) {
    if config.webhooks.is_empty() {
        tracing::info!(
            "no webhook URLs configured: notifications stay in the outbox for the host to deliver"
        );
    }
    let dns = match config.dns.clone() {
        Some(dns) => Ok(dns),
        None => Dns::new(None),
    };
    let (operator, tenant) = match dns.and_then(clients) {
        Ok(clients) => clients,
        Err(e) => {
            tracing::error!(error = %e, "worker not started: no HTTP client");
            return;
        }
    };
    let mut worker = Worker {
        regentra,
        config,
        operator,
        tenant,
        retries: HashMap::new(),
    };
    let mut tick = tokio::time::interval(worker.config.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        worker.sweep().await;
    }
}

/// One sweep over every org, as [`run`] makes each interval, then returns:
/// for a host that schedules sweeps itself, and for the scale benchmark,
/// which times one sweep and counts the records it reads.
pub async fn sweep_once(regentra: Arc<Regentra>, config: WorkerConfig) -> Result<(), String> {
    let dns = match config.dns.clone() {
        Some(dns) => dns,
        None => Dns::new(None)?,
    };
    let (operator, tenant) = clients(dns)?;
    let mut worker = Worker {
        regentra,
        config,
        operator,
        tenant,
        retries: HashMap::new(),
    };
    worker.sweep().await;
    Ok(())
}

/// The worker's two HTTP clients, `(operator, tenant)`: neither follows
/// redirects; the tenant one connects only to checked addresses, directly.
fn clients(dns: Dns) -> Result<(reqwest::Client, reqwest::Client), String> {
    let base = || {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
    };
    let operator = base().build().map_err(|e| e.to_string())?;
    let tenant = base()
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver(dns)))
        .build()
        .map_err(|e| e.to_string())?;
    Ok((operator, tenant))
}

/// Who chose a delivery's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// The operator (`--webhook-url`): delivered as configured.
    Operator,
    /// A tenant (an escalation's URL): resolved and checked first.
    Tenant,
}

struct Worker {
    regentra: Arc<Regentra>,
    config: WorkerConfig,
    operator: reqwest::Client,
    tenant: reqwest::Client,
    /// Failed deliveries: attempts so far and when to try next.
    retries: HashMap<NotificationId, (u32, Instant)>,
}

impl Worker {
    async fn sweep(&mut self) {
        let mut after = None;
        loop {
            let orgs = match self
                .regentra
                .organization_ids(PageRequest::after(after, 200))
                .await
            {
                Ok(orgs) => orgs,
                Err(e) => {
                    tracing::warn!(error = %e, "sweep: cannot list organizations");
                    return;
                }
            };
            for &org in &orgs {
                self.sweep_org(org).await;
            }
            match orgs.last() {
                Some(last) if orgs.len() == 200 => after = Some(last.0),
                _ => return,
            }
        }
    }

    async fn sweep_org(&mut self, org: OrgId) {
        match self.regentra.run_escalations(org).await {
            Ok(fired) if !fired.is_empty() => {
                tracing::info!(%org, count = fired.len(), "SLA escalations fired");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%org, error = %e, "escalation sweep failed"),
        }
        match self.regentra.send_due_reminders(org).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(%org, count = n, "campaign reminders queued"),
            Err(e) => tracing::warn!(%org, error = %e, "reminder sweep failed"),
        }
        self.deliver(org).await;
    }

    async fn deliver(&mut self, org: OrgId) {
        let pending = match self.regentra.pending_notifications(org, BATCH).await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::warn!(%org, error = %e, "cannot read the outbox");
                return;
            }
        };
        let now = Instant::now();
        for entry in pending {
            let targets = self.targets(&entry);
            if targets.is_empty() {
                continue;
            }
            if self
                .retries
                .get(&entry.id)
                .is_some_and(|(_, next)| *next > now)
            {
                continue;
            }
            let body = serde_json::to_vec(&entry).unwrap_or_default();
            let mut delivered = true;
            for (url, trust) in &targets {
                delivered &= self.post(url, *trust, &body).await;
            }
            if delivered {
                self.retries.remove(&entry.id);
                if let Err(e) = self
                    .regentra
                    .mark_notification_delivered(org, entry.id)
                    .await
                {
                    // It will be delivered again: at least once.
                    tracing::warn!(%org, id = %entry.id.0, error = %e, "delivered but not marked");
                }
            } else {
                let attempts = self.retries.get(&entry.id).map_or(0, |(n, _)| *n) + 1;
                let wait = backoff(self.config.first_retry, attempts);
                tracing::warn!(%org, id = %entry.id.0, attempts, retry_in_s = wait.as_secs(), "delivery failed");
                self.retries.insert(entry.id, (attempts, now + wait));
            }
        }
    }

    /// A webhook escalation goes to its own URL; everything goes to the
    /// configured webhooks.
    fn targets(&self, entry: &Notification) -> Vec<(String, Trust)> {
        let mut targets: Vec<(String, Trust)> = self
            .config
            .webhooks
            .iter()
            .map(|url| (url.clone(), Trust::Operator))
            .collect();
        if entry.kind == NotificationKind::Webhook
            && let Some(url) = entry.payload.get("url").and_then(|u| u.as_str())
        {
            // Checked when the policy was saved; again here for policies
            // saved before the rule.
            if regentra_core::notify::webhook_url_problem(url).is_none() {
                targets.push((url.to_owned(), Trust::Tenant));
            } else {
                tracing::warn!(org = %entry.org, url, "tenant webhook refused: https to a public host only");
            }
        }
        targets
    }

    async fn post(&self, url: &str, trust: Trust, body: &[u8]) -> bool {
        let client = match trust {
            Trust::Operator => &self.operator,
            Trust::Tenant => &self.tenant,
        };
        let mut request = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = self.config.secret.as_deref().and_then(|s| sign(s, body)) {
            request = request.header("x-regentra-signature", signature);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(url, status = %response.status(), "webhook refused the delivery");
                false
            }
            Err(e) => {
                // The error's sources say why (a refused address among them).
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    why = format!("{why}: {cause}");
                    source = cause.source();
                }
                tracing::warn!(url, error = %why, "webhook unreachable");
                false
            }
        }
    }
}

/// `sha256=<hex HMAC-SHA256 of the body>`, for receivers to check.
pub fn sign(secret: &str, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// `first`, twice that, four times, ... capped at an hour.
fn backoff(first: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
    first.saturating_mul(factor).min(LONGEST_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff(FIRST_RETRY, 1), Duration::from_secs(5));
        assert_eq!(backoff(FIRST_RETRY, 2), Duration::from_secs(10));
        assert_eq!(backoff(FIRST_RETRY, 4), Duration::from_secs(40));
        assert_eq!(backoff(FIRST_RETRY, 30), LONGEST_RETRY);
        assert_eq!(
            backoff(Duration::from_millis(100), 3),
            Duration::from_millis(400)
        );
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // RFC 4231 test case 2.
        let sig = sign("Jefe", b"what do ya want for nothing?").expect("any key length");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
