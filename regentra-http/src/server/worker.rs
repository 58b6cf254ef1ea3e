//! The background worker: on a schedule, for every org (several at a time),
//! fire due SLA escalations and campaign reminders (both commit through the
//! core, so a second sweep fires nothing twice), then deliver the
//! notification outbox to webhooks. The work is found through the core's
//! due-time indexes: an org with nothing due costs one empty index walk
//! for its escalations, and no ticket is read.
//!
//! Several processes may share one store: each org's sweep first claims it
//! (`Regentra::try_claim_sweep`; on Postgres an advisory lock every process
//! sees) and an org claimed elsewhere is skipped, so one org is swept by one
//! process at a time and the orgs spread over the processes. When the
//! process drains ([`Drain`]), the worker finishes the orgs it is sweeping
//! and takes no new one.
//!
//! Delivery is at least once: an entry is marked delivered only after every
//! target answered 2xx; a failed one is recorded in the entry itself
//! (attempts, last error, next attempt after an exponential backoff; dead
//! after `notify::MAX_DELIVERY_ATTEMPTS`), so a restart keeps each entry's
//! wait and a failing entry never holds newer ones back. The targets that
//! did take a failed entry are recorded with the failure (by a hash of the
//! URL, never the URL), so its retry goes to the others only. Entries are
//! delivered several at a time.
//!
//! A tenant's own webhook URL (an escalation's) is untrusted: it must pass
//! the core's `notify::webhook_url_problem` (https, no special-use literal
//! address), its name is resolved here and refused if any address fails
//! `notify::address_problem` (see [`CheckedResolver`]), the connection goes
//! to the checked addresses only, through no proxy, and redirects are not
//! followed (a 3xx is a failed delivery). The operator's `--webhook-url`s
//! are trusted (they may point at loopback) but redirects are not followed
//! there either.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hmac::{Hmac, Mac};
use regentra_core::Regentra;
use regentra_core::ids::OrgId;
use regentra_core::notify::{Deliveries, Notification, NotificationKind};
use regentra_core::store::PageRequest;
use sha2::Sha256;

use super::Drain;
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
/// Outbox entries taken per org per sweep.
const BATCH: usize = 100;
/// Orgs swept at once.
const ORGS_AT_ONCE: usize = 8;
/// Deliveries of one org in flight at once.
const DELIVERIES_AT_ONCE: usize = 8;
/// Orgs listed per page.
const ORG_PAGE: usize = 500;

/// Runs until the process ends.
pub async fn run(regentra: Arc<Regentra>, config: WorkerConfig) {
    run_until(regentra, config, Drain::default()).await;
}

/// Runs until `drain` starts; the orgs being swept then are finished first.
pub async fn run_until(regentra: Arc<Regentra>, config: WorkerConfig, drain: Drain) {
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
    backfill(&regentra).await;
    let worker = Worker {
        regentra,
        config,
        operator,
        tenant,
        drain,
    };
    let mut tick = tokio::time::interval(worker.config.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = worker.drain.started() => return,
        }
        worker.sweep().await;
    }
}

/// Records written before the due-time indexes get their entries, once per
/// store (after that, one read finds it done); until then the sweeps would
/// not see them.
async fn backfill(regentra: &Regentra) {
    // In order, each once per store.
    let pieces = [
        ("due-time indexes", regentra.backfill_due_indexes().await),
        (
            "portal usefulness index",
            regentra.backfill_portal_useful_index().await,
        ),
        (
            "MSP overview indexes",
            regentra.backfill_overview_indexes().await,
        ),
        (
            "chat activity index",
            regentra.backfill_chat_activity_index().await,
        ),
        (
            "article status index",
            regentra.backfill_article_status_index().await,
        ),
    ];
    for (piece, done) in pieces {
        match done {
            Ok(Some(n)) => tracing::info!(rewritten = n, "{piece} backfilled"),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "{piece} backfill failed; tried again at the next start")
            }
        }
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
    backfill(&regentra).await;
    let worker = Worker {
        regentra,
        config,
        operator,
        tenant,
        drain: Drain::default(),
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

impl Trust {
    fn whose(self) -> &'static str {
        match self {
            Trust::Operator => "the server's webhook",
            Trust::Tenant => "the escalation's webhook",
        }
    }
}

struct Worker {
    regentra: Arc<Regentra>,
    config: WorkerConfig,
    operator: reqwest::Client,
    tenant: reqwest::Client,
    /// Once started, no new org is taken.
    drain: Drain,
}

impl Worker {
    /// Every org that is not archived, [`ORGS_AT_ONCE`] at a time (an
    /// archived client's work waits until it is restored).
    async fn sweep(&self) {
        let mut after = None;
        loop {
            let orgs = match self
                .regentra
                .active_organization_ids(PageRequest::after(after, ORG_PAGE))
                .await
            {
                Ok(orgs) => orgs,
                Err(e) => {
                    tracing::warn!(error = %e, "sweep: cannot list organizations");
                    return;
                }
            };
            futures::stream::iter(orgs.items)
                .for_each_concurrent(ORGS_AT_ONCE, |org| self.sweep_org(org))
                .await;
            match orgs.next {
                Some(next) if !self.drain.is_draining() => after = Some(next),
                _ => return,
            }
        }
    }

    /// Sweeps one org unless the process is draining or another sweep
    /// (here or in another process) holds the org's claim.
    async fn sweep_org(&self, org: OrgId) {
        if self.drain.is_draining() {
            return;
        }
        let claim = match self.regentra.try_claim_sweep(org).await {
            Ok(Some(claim)) => claim,
            Ok(None) => {
                tracing::debug!(%org, "swept elsewhere right now: skipped");
                return;
            }
            Err(e) => {
                tracing::warn!(%org, error = %e, "cannot claim the org's sweep");
                return;
            }
        };
        self.sweep_claimed(org).await;
        claim.release().await;
    }

    async fn sweep_claimed(&self, org: OrgId) {
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

    /// The org's outbox entries due now, [`DELIVERIES_AT_ONCE`] at a time.
    /// With no webhooks of the operator's, only tenants' own webhook
    /// entries have somewhere to go; the others stay for the host.
    async fn deliver(&self, org: OrgId) {
        let deliveries = if self.config.webhooks.is_empty() {
            Deliveries::TenantWebhooks
        } else {
            Deliveries::All
        };
        let due = match self
            .regentra
            .notifications_due(org, deliveries, BATCH)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(%org, error = %e, "cannot read the outbox");
                return;
            }
        };
        futures::stream::iter(due)
            .for_each_concurrent(DELIVERIES_AT_ONCE, |entry| self.deliver_one(org, entry))
            .await;
    }

    /// Posts one entry to the targets that have not taken it yet and
    /// records the outcome in it: delivered when every one has, otherwise
    /// the failure with the targets that took it this time.
    async fn deliver_one(&self, org: OrgId, entry: Notification) {
        let targets = self.targets(&entry);
        let body = serde_json::to_vec(&entry).unwrap_or_default();
        let mut failure = targets.is_empty().then(|| {
            "no webhook may receive it (a tenant's must be https to a public host)".to_owned()
        });
        let mut reached = Vec::new();
        for (url, trust) in &targets {
            let key = target_key(url);
            if entry.reached.contains(&key) {
                continue;
            }
            match self.post(url, *trust, &body).await {
                Ok(()) => reached.push(key),
                Err(why) => failure = Some(why),
            }
        }
        let outcome = match &failure {
            None => self
                .regentra
                .mark_notification_delivered(org, entry.id)
                .await
                .map(|_| ()),
            Some(why) => {
                let first = chrono::Duration::from_std(self.config.first_retry)
                    .unwrap_or(chrono::Duration::seconds(5));
                self.regentra
                    .mark_notification_failed_after_reaching(org, entry.id, &reached, why, first)
                    .await
                    .map(|n| {
                        tracing::warn!(%org, id = %entry.id.0, attempts = n.attempts,
                            next_attempt_at = %n.next_attempt_at, dead = n.dead_at.is_some(),
                            "delivery failed");
                    })
            }
        };
        if let Err(e) = outcome {
            // Delivered (or not) but not recorded: it is due again, at least once.
            tracing::warn!(%org, id = %entry.id.0, error = %e, "delivery outcome not recorded");
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

    /// Posts `body` to `url`; the reason it failed, if it did. The reason
    /// is kept in the entry, which the org's admins read: it names whose
    /// webhook failed and how, never the operator's URL (it may hold a
    /// secret); the log has the details.
    async fn post(&self, url: &str, trust: Trust, body: &[u8]) -> Result<(), String> {
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
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => {
                tracing::warn!(url, status = %response.status(), "webhook refused the delivery");
                Err(format!("{} answered {}", trust.whose(), response.status()))
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
                Err(format!("{} was unreachable", trust.whose()))
            }
        }
    }
}

/// How an entry names a target that took it: a hash of the URL, since the
/// entry is shown to the org's admins and the operator's URL may hold a
/// secret.
fn target_key(url: &str) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(Sha256::digest(url.as_bytes())))
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

#[cfg(test)]
mod tests {
    use super::*;

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
