//! The audit log: per-organization, append-only, hash-chained.
//!
//! Every mutation hands an [`AuditDraft`] to the store in the same change set
//! as the change. Inside its transaction the adapter reads the org's chain
//! head and calls [`seal`], which numbers the event and links it to the head
//! with SHA-256. [`verify`] recomputes the chain and names the first broken
//! link, so an edited, removed or reordered event is detected.

use std::fmt::Write as _;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ids::{AuditEventId, OrgId, UserId};
use crate::rbac::{Role, Via};

/// The `prev_hash` of an org's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain of platform-level events (accounts, new tenants, platform
/// operators' own actions), kept apart from every tenant's chain. The nil
/// uuid is never a real org id (org ids are uuid v7).
pub const PLATFORM_CHAIN: OrgId = OrgId(uuid::Uuid::nil());

/// Where a request came from, as the host application knows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The longest request id kept.
pub const MAX_REQUEST_ID: usize = 64;

/// The most characters of a user agent (or an address) kept.
pub const MAX_USER_AGENT: usize = 256;

/// Whether `id` is a request id the audit trail and logs may carry as it
/// came: 1 to 64 letters, digits, `.`, `_`, `:` or `-`. Anything else (a
/// novel, quotes, control characters) is replaced by the host.
pub fn is_safe_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// `text` without control characters, at most `max` characters long.
fn bounded_text(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

impl RequestMeta {
    /// What an audit event may record of this metadata: a request id only
    /// when it is safe ([`is_safe_request_id`]), the address and user agent
    /// without control characters and cut to [`MAX_USER_AGENT`] characters,
    /// so a client cannot write novels or forged lines into the chain.
    pub fn bounded(self) -> Self {
        Self {
            request_id: self.request_id.filter(|id| is_safe_request_id(id)),
            ip: self.ip.map(|ip| bounded_text(&ip, MAX_USER_AGENT)),
            user_agent: self.user_agent.map(|ua| bounded_text(&ua, MAX_USER_AGENT)),
        }
    }
}

/// Who did it: a user acting with a role obtained some way, or the system.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `None` for the platform itself (bootstrap, scheduled work).
    pub user: Option<UserId>,
    pub role: Option<Role>,
    pub via: Option<Via>,
}

impl Actor {
    pub fn system() -> Self {
        Self {
            user: None,
            role: None,
            via: None,
        }
    }
}

/// What it was done to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: String,
    pub id: String,
}

impl Target {
    pub fn new(kind: &str, id: impl ToString) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.to_string(),
        }
    }
}

/// An event before the store numbers and links it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditDraft {
    pub id: AuditEventId,
    pub org: OrgId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// Dotted verb, e.g. `membership.added`.
    pub action: String,
    pub target: Target,
    pub request: RequestMeta,
    /// Action-specific facts (the new role, the old name, ...).
    pub details: Value,
}

/// A sealed event of an org's chain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// 1 for the org's first event, then consecutive.
    pub seq: u64,
    pub id: AuditEventId,
    pub org: OrgId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: String,
    pub target: Target,
    pub request: RequestMeta,
    pub details: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Where an org's chain ends: what the next event links to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

impl AuditEvent {
    /// The chain head this event makes when it is the last one.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// The last event of an org's chain that a verification found sound, kept
/// (one record per org, id = the org's) so that the next verification
/// checks only what follows it. It vouches for the events up to `seq` as
/// they were when they were verified: a later edit of one of them is found
/// by a full verification, not by an incremental one (see
/// `Regentra::verify_audit_chain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditCheckpoint {
    pub org: OrgId,
    pub seq: u64,
    /// The hash of event `seq`, which the next event must link to.
    pub hash: String,
    pub verified_at: DateTime<Utc>,
}

impl AuditCheckpoint {
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

impl crate::store::Entity for AuditCheckpoint {
    const KIND: &'static str = "audit_checkpoint";
    const NAME: &'static str = "audit checkpoint";
    fn scope(&self) -> crate::store::Scope {
        crate::store::Scope::Org(self.org)
    }
    /// One per org: two first checkpoints collide instead of coexisting.
    fn id(&self) -> uuid::Uuid {
        self.org.0
    }
}

/// Checks that `events`, read from the checkpoint's own event on, start
/// with that event unchanged (same number and hash, content matching its
/// hash), then verifies the rest from it. A chain cut short below the
/// checkpoint, or a checkpointed last event edited, is a break at `seq`.
pub fn verify_from_checkpoint(
    org: OrgId,
    checkpoint: &ChainHead,
    events: &[AuditEvent],
) -> Result<(), ChainBreak> {
    let at_checkpoint = |problem| ChainBreak {
        seq: checkpoint.seq,
        problem,
    };
    let Some((first, rest)) = events.split_first() else {
        return Err(at_checkpoint(BreakKind::Sequence { found: 0 }));
    };
    if first.org != org {
        return Err(at_checkpoint(BreakKind::ForeignEvent));
    }
    if first.seq != checkpoint.seq {
        return Err(at_checkpoint(BreakKind::Sequence { found: first.seq }));
    }
    if first.hash != checkpoint.hash || digest(first) != first.hash {
        return Err(at_checkpoint(BreakKind::Content));
    }
    verify_after(org, Some(checkpoint), rest)
}

/// Numbers `draft` after `head` (the org's chain head, `None` for an empty
/// chain) and links it.
/// Times are kept to the microsecond, the precision every store can hold, so
/// a hash computed here verifies after a round trip through any adapter.
pub fn seal(head: Option<&ChainHead>, draft: AuditDraft) -> AuditEvent {
    let (seq, prev_hash) = match head {
        Some(h) => (h.seq + 1, h.hash.clone()),
        None => (1, GENESIS.to_owned()),
    };
    let mut event = AuditEvent {
        seq,
        id: draft.id,
        org: draft.org,
        at: draft.at.trunc_subsecs(6),
        actor: draft.actor,
        action: draft.action,
        target: draft.target,
        request: draft.request,
        details: draft.details,
        prev_hash,
        hash: String::new(),
    };
    event.hash = digest(&event);
    event
}

/// The first broken link of a chain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("audit chain broken at event {seq}: {problem}")]
pub struct ChainBreak {
    /// The sequence number where the chain stops verifying.
    pub seq: u64,
    pub problem: BreakKind,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    #[error("event belongs to another organization")]
    ForeignEvent,
    #[error("sequence gap or reorder (found {found})")]
    Sequence { found: u64 },
    #[error("does not link to the previous event's hash")]
    Link,
    #[error("content does not match its hash (edited after sealing)")]
    Content,
}

/// Checks a whole chain, in order, as read from the store.
pub fn verify(org: OrgId, events: &[AuditEvent]) -> Result<(), ChainBreak> {
    verify_after(org, None, events)
}

/// Checks the events that continue a chain from `head`, a head already
/// verified (`None`: from the start), so a chain that grows is checked in
/// time proportional to what it grew by.
pub fn verify_after(
    org: OrgId,
    head: Option<&ChainHead>,
    events: &[AuditEvent],
) -> Result<(), ChainBreak> {
    let (first_seq, mut prev_hash) = match head {
        Some(h) => (h.seq + 1, h.hash.as_str()),
        None => (1, GENESIS),
    };
    for (i, event) in events.iter().enumerate() {
        let expected_seq = first_seq + i as u64;
        let fail = |problem| {
            Err(ChainBreak {
                seq: expected_seq,
                problem,
            })
        };
        if event.org != org {
            return fail(BreakKind::ForeignEvent);
        }
        if event.seq != expected_seq {
            return fail(BreakKind::Sequence { found: event.seq });
        }
        if event.prev_hash != prev_hash {
            return fail(BreakKind::Link);
        }
        if digest(event) != event.hash {
            return fail(BreakKind::Content);
        }
        prev_hash = &event.hash;
    }
    Ok(())
}

/// SHA-256 over a canonical encoding of every field but the hash itself.
fn digest(event: &AuditEvent) -> String {
    let fields = serde_json::json!({
        "seq": event.seq,
        "id": event.id,
        "org": event.org,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "request": event.request,
        "details": event.details,
        "prev_hash": event.prev_hash,
    });
    let mut canonical = String::new();
    write_canonical(&fields, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// JSON with object keys sorted at every level, whatever map type serde_json
/// was built with and whatever order a database hands keys back in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(&Value::String(key.clone()), out);
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        // Scalars have one serde_json rendering.
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn draft(org: OrgId, n: u128, action: &str) -> AuditDraft {
        AuditDraft {
            id: AuditEventId(Uuid::from_u128(n)),
            org,
            at: DateTime::from_timestamp(1_700_000_000 + n as i64, 123_456_789).expect("valid"),
            actor: Actor::system(),
            action: action.into(),
            target: Target::new("organization", org),
            request: RequestMeta::default(),
            details: serde_json::json!({"b": 1, "a": [1, {"z": null, "y": "x"}]}),
        }
    }

    #[test]
    fn request_metadata_is_bounded_before_it_reaches_the_chain() {
        for ok in ["a", "req-42", "0f2a:b_c.d-E", &"x".repeat(MAX_REQUEST_ID)] {
            assert!(is_safe_request_id(ok), "{ok:?}");
        }
        for bad in [
            "",
            &"x".repeat(MAX_REQUEST_ID + 1),
            "a\"b",
            "a b",
            "line\nbreak",
            "caf\u{e9}",
            "a/b",
        ] {
            assert!(!is_safe_request_id(bad), "{bad:?}");
        }
        let meta = RequestMeta {
            request_id: Some("x".repeat(8000)),
            ip: Some("127.0.0.1".into()),
            user_agent: Some(format!("Mozilla\r\nforged: yes{}", "a".repeat(8000))),
        }
        .bounded();
        assert_eq!(meta.request_id, None);
        assert_eq!(meta.ip.as_deref(), Some("127.0.0.1"));
        let ua = meta.user_agent.expect("kept, bounded");
        assert_eq!(ua.chars().count(), MAX_USER_AGENT);
        assert!(ua.starts_with("Mozillaforged: yes"), "{ua}");
        let kept = RequestMeta {
            request_id: Some("req-42".into()),
            ip: None,
            user_agent: Some("curl/8".into()),
        };
        assert_eq!(kept.clone().bounded(), kept);
    }

    fn chain(org: OrgId, len: u128) -> Vec<AuditEvent> {
        let mut events: Vec<AuditEvent> = Vec::new();
        for n in 1..=len {
            let e = seal(
                events.last().map(AuditEvent::head).as_ref(),
                draft(org, n, "thing.done"),
            );
            events.push(e);
        }
        events
    }

    #[test]
    fn sealed_chain_verifies_and_numbers_from_one() {
        let org = OrgId(Uuid::from_u128(1));
        let events = chain(org, 5);
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(events[0].prev_hash, GENESIS);
        assert_eq!(events[1].prev_hash, events[0].hash);
        assert_eq!(verify(org, &events), Ok(()));
        assert_eq!(verify(org, &[]), Ok(()));
    }

    #[test]
    fn a_chain_checked_in_steps_is_checked_like_a_whole() {
        let org = OrgId(Uuid::from_u128(1));
        let events = chain(org, 6);
        let head = events[2].head();
        assert_eq!(verify_after(org, Some(&head), &events[3..]), Ok(()));
        assert_eq!(verify_after(org, Some(&head), &[]), Ok(()));
        // A continuation that skips an event, or links to another head, breaks.
        assert_eq!(
            verify_after(org, Some(&head), &events[4..]),
            Err(ChainBreak {
                seq: 4,
                problem: BreakKind::Sequence { found: 5 }
            })
        );
        let forged_head = ChainHead {
            seq: 3,
            hash: events[1].hash.clone(),
        };
        assert_eq!(
            verify_after(org, Some(&forged_head), &events[3..]),
            Err(ChainBreak {
                seq: 4,
                problem: BreakKind::Link
            })
        );
        let mut edited = events[3..].to_vec();
        edited[1].action = "thing.undone".into();
        assert_eq!(
            verify_after(org, Some(&head), &edited),
            Err(ChainBreak {
                seq: 5,
                problem: BreakKind::Content
            })
        );
    }

    #[test]
    fn each_kind_of_tampering_names_the_first_broken_link() {
        let org = OrgId(Uuid::from_u128(1));
        let events = chain(org, 5);

        let mut edited = events.clone();
        edited[2].action = "thing.undone".into();
        assert_eq!(
            verify(org, &edited),
            Err(ChainBreak {
                seq: 3,
                problem: BreakKind::Content
            })
        );

        let mut removed = events.clone();
        removed.remove(1);
        assert_eq!(
            verify(org, &removed),
            Err(ChainBreak {
                seq: 2,
                problem: BreakKind::Sequence { found: 3 }
            })
        );

        // Rewriting an event and its own hash still breaks the next link.
        let mut rehashed = events.clone();
        rehashed[1].details = serde_json::json!({"forged": true});
        rehashed[1].hash = digest(&rehashed[1]);
        assert_eq!(
            verify(org, &rehashed),
            Err(ChainBreak {
                seq: 3,
                problem: BreakKind::Link
            })
        );

        let other = OrgId(Uuid::from_u128(2));
        assert_eq!(
            verify(other, &events),
            Err(ChainBreak {
                seq: 1,
                problem: BreakKind::ForeignEvent
            })
        );
    }

    #[test]
    fn hash_ignores_key_order_and_sub_microsecond_time() {
        let org = OrgId(Uuid::from_u128(1));
        let e = seal(None, draft(org, 1, "x"));
        assert_eq!(e.at.timestamp_subsec_nanos(), 123_456_000);
        let mut reordered = e.clone();
        reordered.details =
            serde_json::from_str(r#"{"a":[1,{"y":"x","z":null}],"b":1}"#).expect("json");
        assert_eq!(digest(&reordered), e.hash);
    }
}
