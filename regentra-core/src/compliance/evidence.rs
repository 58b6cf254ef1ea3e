//! Evidence: files (streamed chunk by chunk, hashed as they pass), links and
//! attestations, linked to the controls they support.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ControlImplementation, Evidence, NEVER_EXPIRES};
use crate::audit::Target;
use crate::catalog::Catalog;
use crate::error::{Error, FieldError, Result};
use crate::ids::{BlobId, CampaignId, EvidenceId, OrgId, PolicyId, UserId};
use crate::rbac::{Grant, Permission};
use crate::service::{Principal, Regentra};
use crate::store::{
    self, ChangeSet, Entity, IndexScan, Listing, PageRequest, ScanCursor, Scope, Store, Versioned,
};
use crate::tenancy::validate_name;

/// Files are stored in chunks of this size: the most of a file any layer
/// holds at once.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// What a piece of evidence is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvidenceContent {
    File {
        name: String,
        content_type: String,
        size: u64,
        /// Hex SHA-256 of the bytes, computed while they were stored.
        sha256: String,
        blob: BlobId,
        chunks: u32,
    },
    Link {
        url: String,
    },
    Attestation {
        statement: String,
        attested_by: UserId,
    },
    /// A signed policy acknowledgment: the signer attests to one exact
    /// version of a policy (its hash), whatever versions come later.
    PolicyAcknowledgment {
        policy: PolicyId,
        campaign: CampaignId,
        version: u32,
        version_hash: String,
        signer: UserId,
        typed_name: String,
    },
}

/// What every new piece of evidence says about itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvidence {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// When it was produced; defaults to now.
    pub collected_at: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// Common control keys it supports (controls of the org's program).
    #[serde(default)]
    pub controls: BTreeSet<String>,
}

/// The file of a file upload: its name, its type, and optionally the SHA-256
/// the uploader computed, which the stored bytes must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFile {
    pub name: String,
    pub content_type: String,
    /// Hex SHA-256 declared by the uploader; a mismatch stores nothing.
    pub sha256: Option<String>,
}

/// The order of an evidence list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvidenceOrder {
    /// The order it was added in (uuid v7 ids).
    #[default]
    Added,
    /// Soonest valid-until first; evidence that never expires last.
    Expiry,
}

/// A page request over the org's evidence: filters, order, where to
/// resume (the previous page's cursor), how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceQuery {
    /// Only evidence linked to this common control.
    pub control: Option<String>,
    /// Only evidence whose valid-until is before this instant (expired, or
    /// expiring by then), soonest first; evidence that never expires is
    /// left out.
    pub expiring_before: Option<DateTime<Utc>>,
    pub order: EvidenceOrder,
    pub after: Option<ScanCursor>,
    pub limit: usize,
}

impl Default for EvidenceQuery {
    fn default() -> Self {
        Self {
            control: None,
            expiring_before: None,
            order: EvidenceOrder::Added,
            after: None,
            limit: 50,
        }
    }
}

/// A piece of evidence as listed: whether it still counts is derived.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceView {
    #[serde(flatten)]
    pub evidence: Evidence,
    pub expired: bool,
    /// Current, expiring within [`EXPIRING_WITHIN_DAYS`], or expired.
    pub state: EvidenceState,
}

/// Evidence that stops counting within this many days is "expiring": time
/// to collect the next piece before the requirements it supports open up.
pub const EXPIRING_WITHIN_DAYS: i64 = 30;

/// Where evidence stands at an instant; for a control, where its evidence
/// stands taken together.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceState {
    /// Counts, and goes on counting past the expiring window.
    Current,
    /// Counts now, but every piece stops within [`EXPIRING_WITHIN_DAYS`].
    Expiring,
    /// There is evidence, and none of it counts any more.
    Expired,
    /// No evidence at all (a control only).
    None,
}

impl EvidenceState {
    pub fn key(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::None => "none",
        }
    }

    /// The state of one piece of evidence at `now`.
    pub fn of(evidence: &Evidence, now: DateTime<Utc>) -> Self {
        match evidence.valid_until {
            Some(until) if until <= now => Self::Expired,
            Some(until) if until <= now + chrono::Duration::days(EXPIRING_WITHIN_DAYS) => {
                Self::Expiring
            }
            _ => Self::Current,
        }
    }

    /// The state of a control's evidence taken together: current when one
    /// piece still counts past the window, expiring when what counts stops
    /// within it, expired when nothing counts any more, none without any.
    pub fn of_all<'e>(
        evidence: impl IntoIterator<Item = &'e Evidence>,
        now: DateTime<Utc>,
    ) -> Self {
        evidence
            .into_iter()
            .map(|e| Self::of(e, now))
            .min()
            .unwrap_or(Self::None)
    }
}

/// A stored file being read (an evidence file, a ticket attachment): its
/// description and its bytes, chunk by chunk.
pub struct StoredFile {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub chunks: BoxStream<'static, Result<Vec<u8>>>,
}

impl std::fmt::Debug for StoredFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredFile")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Regentra {
    /// Stores an uploaded file as evidence. The body is consumed as a stream:
    /// each chunk is hashed and written as it arrives, so the file is never
    /// held whole in memory; a body over the size limit, or one that fails
    /// midway, leaves nothing behind.
    pub async fn add_file_evidence<S, E>(
        &self,
        principal: &Principal,
        org: OrgId,
        meta: NewEvidence,
        name: &str,
        content_type: &str,
        body: S,
    ) -> Result<Evidence>
    where
        S: Stream<Item = std::result::Result<Vec<u8>, E>> + Send,
        E: std::fmt::Display,
    {
        let file = NewFile {
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            sha256: None,
        };
        self.upload_evidence_file(principal, org, meta, file, body)
            .await
    }

    /// [`Self::add_file_evidence`], with the uploader's own SHA-256 of the
    /// file checked against the bytes as stored (hashed once, on the way
    /// in): a mismatch, like any failure, leaves nothing behind.
    pub async fn upload_evidence_file<S, E>(
        &self,
        principal: &Principal,
        org: OrgId,
        meta: NewEvidence,
        file: NewFile,
        body: S,
    ) -> Result<Evidence>
    where
        S: Stream<Item = std::result::Result<Vec<u8>, E>> + Send,
        E: std::fmt::Display,
    {
        let grant = self
            .authorize_all(principal, org, Permission::EvidenceUpload)
            .await?;
        let name = validate_name("name", &file.name)?;
        let content_type = check_content_type(&file.content_type)?;
        let expected = file.sha256.as_deref().map(check_sha256).transpose()?;
        let meta = self.check_new_evidence(org, meta).await?;
        let blob = BlobId(self.new_id());
        let stored = match self
            .store_blob(org, blob, self.evidence_limit(), body)
            .await
        {
            Ok(stored) if expected.as_ref().is_some_and(|want| *want != stored.sha256) => {
                Err(Error::invalid(
                    "file",
                    format!(
                        "does not match the declared sha256: it hashes to {}",
                        stored.sha256
                    ),
                ))
            }
            other => other,
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(e) => {
                let _ = self.store().delete_blob(org, blob.0).await;
                return Err(e);
            }
        };
        let content = EvidenceContent::File {
            name,
            content_type,
            size: stored.size,
            sha256: stored.sha256,
            blob,
            chunks: stored.chunks,
        };
        let result = self.record_evidence(principal, &grant, meta, content).await;
        if result.is_err() {
            let _ = self.store().delete_blob(org, blob.0).await;
        }
        result
    }

    /// Records a link (to a ticket, a dashboard, a document system) as evidence.
    pub async fn add_link_evidence(
        &self,
        principal: &Principal,
        org: OrgId,
        meta: NewEvidence,
        url: &str,
    ) -> Result<Evidence> {
        let grant = self
            .authorize_all(principal, org, Permission::EvidenceUpload)
            .await?;
        let url = check_url(url)?;
        let meta = self.check_new_evidence(org, meta).await?;
        self.record_evidence(principal, &grant, meta, EvidenceContent::Link { url })
            .await
    }

    /// Records a signed statement by the caller as evidence.
    pub async fn add_attestation(
        &self,
        principal: &Principal,
        org: OrgId,
        meta: NewEvidence,
        statement: &str,
    ) -> Result<Evidence> {
        let grant = self
            .authorize_all(principal, org, Permission::EvidenceUpload)
            .await?;
        let statement = statement.trim();
        if statement.is_empty() {
            return Err(Error::invalid(
                "statement",
                "an attestation needs a statement",
            ));
        }
        let meta = self.check_new_evidence(org, meta).await?;
        let content = EvidenceContent::Attestation {
            statement: statement.to_owned(),
            attested_by: principal.user,
        };
        self.record_evidence(principal, &grant, meta, content).await
    }

    /// Links existing evidence to one more control.
    pub async fn link_evidence(
        &self,
        principal: &Principal,
        org: OrgId,
        evidence: EvidenceId,
        control: &str,
    ) -> Result<Evidence> {
        self.relink(principal, org, evidence, control, true).await
    }

    /// Removes the link between evidence and a control.
    pub async fn unlink_evidence(
        &self,
        principal: &Principal,
        org: OrgId,
        evidence: EvidenceId,
        control: &str,
    ) -> Result<Evidence> {
        self.relink(principal, org, evidence, control, false).await
    }

    /// A page of the org's evidence (or one control's), marked expired when
    /// past its valid-until: in the order it was added, or by valid-until
    /// (soonest first, evidence that never expires last; left out when
    /// `expiring_before` is given). Each query is one walk of an index
    /// (`control`, `expiry` or `control_expiry`), so a page reads about its
    /// own size whatever the org holds. A control that is not in the org's
    /// catalog is refused, naming `control`.
    pub async fn evidence(
        &self,
        principal: &Principal,
        org: OrgId,
        query: EvidenceQuery,
    ) -> Result<Listing<EvidenceView, ScanCursor>> {
        self.authorize_all(principal, org, Permission::EvidenceRead)
            .await?;
        let scope = Scope::Org(org);
        // A control of the catalog (the built-in one, else the org's own
        // frameworks'): evidence may name one the org has not adopted yet
        // (a signed policy names its policy's controls).
        if let Some(control) = &query.control
            && Catalog::builtin().control(control).is_none()
            && self.catalog_for(org).await?.control(control).is_none()
        {
            return Err(Error::invalid(
                "control",
                format!("no control {control} in this organization's catalog"),
            ));
        }
        let by_expiry = query.order == EvidenceOrder::Expiry || query.expiring_before.is_some();
        let found: Listing<Versioned<Evidence>, ScanCursor> = if by_expiry {
            let prefix = query
                .control
                .as_ref()
                .map_or_else(String::new, |c| format!("{c}|"));
            let to = match query.expiring_before {
                Some(before) => Bound::Excluded(format!("{prefix}{}", store::instant_key(before))),
                None => Bound::Included(format!("{prefix}{NEVER_EXPIRES}")),
            };
            let index = if query.control.is_some() {
                "control_expiry"
            } else {
                "expiry"
            };
            let walk = IndexScan::between(index, Bound::Included(prefix), to)
                .after(query.after)
                .limit(query.limit);
            store::scan_page::<Evidence>(self.store(), scope, &walk).await?
        } else if let Some(control) = &query.control {
            let walk = IndexScan::between(
                "control",
                Bound::Included(control.clone()),
                Bound::Included(control.clone()),
            )
            .after(query.after)
            .limit(query.limit);
            store::scan_page::<Evidence>(self.store(), scope, &walk).await?
        } else {
            // Id order: the store's list, its cursor carried as a scan
            // cursor with an empty value.
            let page = PageRequest::after(query.after.map(|c| c.id), query.limit);
            store::list_page::<Evidence>(self.store(), scope, page)
                .await?
                .map_next(|id| ScanCursor {
                    value: String::new(),
                    id,
                })
        };
        let now = self.now();
        Ok(found.map(|r| EvidenceView {
            expired: !r.value.is_current(now),
            state: EvidenceState::of(&r.value, now),
            evidence: r.value,
        }))
    }

    /// Opens an evidence file for reading, chunk by chunk.
    pub async fn open_evidence_file(
        &self,
        principal: &Principal,
        org: OrgId,
        evidence: EvidenceId,
    ) -> Result<StoredFile> {
        self.authorize_all(principal, org, Permission::EvidenceRead)
            .await?;
        let record = store::require::<Evidence>(self.store(), Scope::Org(org), evidence.0).await?;
        let EvidenceContent::File {
            name,
            content_type,
            size,
            sha256,
            blob,
            chunks,
        } = record.value.content
        else {
            return Err(Error::invalid("evidence", "this evidence is not a file"));
        };
        let store: Arc<dyn Store> = self.shared_store();
        let stream = futures::stream::unfold(0u32, move |seq| {
            let store = Arc::clone(&store);
            async move {
                if seq >= chunks {
                    return None;
                }
                let chunk = match store.blob_chunk(org, blob.0, seq).await {
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => Err(Error::storage(format!(
                        "evidence file {blob} lost chunk {seq}"
                    ))),
                    Err(e) => Err(e),
                };
                Some((chunk, seq + 1))
            }
        });
        Ok(StoredFile {
            name,
            content_type,
            size,
            sha256,
            chunks: stream.boxed(),
        })
    }

    async fn relink(
        &self,
        principal: &Principal,
        org: OrgId,
        evidence: EvidenceId,
        control: &str,
        link: bool,
    ) -> Result<Evidence> {
        let grant = self
            .authorize_all(principal, org, Permission::EvidenceUpload)
            .await?;
        let mut record: Versioned<Evidence> =
            store::require(self.store(), Scope::Org(org), evidence.0).await?;
        if link {
            self.check_controls(org, &BTreeSet::from([control.to_owned()]))
                .await?;
            record.value.controls.insert(control.to_owned());
        } else if !record.value.controls.remove(control) {
            return Err(Error::NotFound {
                what: "evidence link",
            });
        }
        let mut changes = ChangeSet::new();
        changes.update(&record)?;
        changes.audit(self.event(
            principal,
            &grant,
            if link {
                "evidence.linked"
            } else {
                "evidence.unlinked"
            },
            Target::new(Evidence::KIND, evidence),
            json!({ "control": control }),
        ));
        self.store().apply(changes).await?;
        Ok(record.value)
    }

    /// Builds and commits the evidence record; the caller has authorized.
    async fn record_evidence(
        &self,
        principal: &Principal,
        grant: &Grant,
        meta: NewEvidence,
        content: EvidenceContent,
    ) -> Result<Evidence> {
        let org = grant.org;
        let now = self.now();
        let evidence = Evidence {
            id: EvidenceId(self.new_id()),
            org,
            title: meta.title,
            description: meta.description,
            content,
            controls: meta.controls,
            collected_at: meta.collected_at.unwrap_or(now),
            uploaded_at: now,
            uploaded_by: principal.user,
            valid_until: meta.valid_until,
        };
        let kind = match &evidence.content {
            EvidenceContent::File { .. } => "file",
            EvidenceContent::Link { .. } => "link",
            EvidenceContent::Attestation { .. } => "attestation",
            EvidenceContent::PolicyAcknowledgment { .. } => "policy_acknowledgment",
        };
        let details = match &evidence.content {
            EvidenceContent::File {
                name, size, sha256, ..
            } => {
                json!({ "kind": kind, "title": evidence.title, "name": name, "size": size, "sha256": sha256, "controls": evidence.controls })
            }
            _ => json!({ "kind": kind, "title": evidence.title, "controls": evidence.controls }),
        };
        let mut changes = ChangeSet::new();
        changes.insert(&evidence)?;
        changes.audit(self.event(
            principal,
            grant,
            "evidence.added",
            Target::new(Evidence::KIND, evidence.id),
            details,
        ));
        self.store().apply(changes).await?;
        Ok(evidence)
    }

    /// Checks the description of new evidence, reporting every problem.
    async fn check_new_evidence(&self, org: OrgId, meta: NewEvidence) -> Result<NewEvidence> {
        let mut errors = Vec::new();
        let title = match validate_name("title", &meta.title) {
            Ok(t) => t,
            Err(Error::Validation(e)) => {
                errors.extend(e);
                String::new()
            }
            Err(e) => return Err(e),
        };
        let now = self.now();
        if let Some(collected) = meta.collected_at
            && collected > now + chrono::Duration::minutes(5)
        {
            errors.push(FieldError::new("collected_at", "must not be in the future"));
        }
        if let Some(until) = meta.valid_until
            && until <= meta.collected_at.unwrap_or(now)
        {
            errors.push(FieldError::new("valid_until", "must be after collected_at"));
        }
        if let Err(Error::Validation(e)) = self.check_controls(org, &meta.controls).await {
            errors.extend(e);
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(NewEvidence { title, ..meta })
    }

    /// Evidence can only support controls that are part of the org's program.
    async fn check_controls(&self, org: OrgId, controls: &BTreeSet<String>) -> Result<()> {
        for control in controls {
            let found = store::find_unique::<ControlImplementation>(
                self.store(),
                Scope::Org(org),
                "control",
                control,
            )
            .await?;
            if found.is_none() {
                return Err(Error::invalid(
                    "controls",
                    format!(
                        "control {control} is not part of this organization's program (adopt a framework that needs it)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Writes a body to a blob chunk by chunk, hashing as it goes, and
    /// refuses it (naming `file`) past `limit` bytes or empty. The chunks
    /// written before a failure stay: the caller deletes the blob.
    pub(crate) async fn store_blob<S, E>(
        &self,
        org: OrgId,
        blob: BlobId,
        limit: u64,
        body: S,
    ) -> Result<StoredBlob>
    where
        S: Stream<Item = std::result::Result<Vec<u8>, E>> + Send,
        E: std::fmt::Display,
    {
        let mut hasher = Sha256::new();
        let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
        let (mut size, mut chunks) = (0u64, 0u32);
        let mut body = std::pin::pin!(body);
        while let Some(piece) = body.next().await {
            let piece =
                piece.map_err(|e| Error::invalid("file", format!("the upload failed: {e}")))?;
            size += piece.len() as u64;
            if size > limit {
                return Err(Error::invalid(
                    "file",
                    format!("is larger than the limit of {}", size_in_words(limit)),
                ));
            }
            hasher.update(&piece);
            let mut rest = piece.as_slice();
            while !rest.is_empty() {
                let take = (CHUNK_SIZE - buffer.len()).min(rest.len());
                buffer.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if buffer.len() == CHUNK_SIZE {
                    let full = std::mem::replace(&mut buffer, Vec::with_capacity(CHUNK_SIZE));
                    self.store()
                        .put_blob_chunk(org, blob.0, chunks, full)
                        .await?;
                    chunks += 1;
                }
            }
        }
        if !buffer.is_empty() {
            self.store()
                .put_blob_chunk(org, blob.0, chunks, buffer)
                .await?;
            chunks += 1;
        }
        if size == 0 {
            return Err(Error::invalid("file", "is empty"));
        }
        Ok(StoredBlob {
            size,
            chunks,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

pub(crate) struct StoredBlob {
    pub(crate) size: u64,
    pub(crate) chunks: u32,
    pub(crate) sha256: String,
}

/// A size as people read it: whole mebibytes as `10 MiB`, whole kibibytes
/// as `512 KiB`, anything else in bytes.
pub fn size_in_words(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

/// A declared SHA-256: 64 hex digits, compared in lower case.
fn check_sha256(raw: &str) -> Result<String> {
    let hex = raw.trim().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(Error::invalid("sha256", "must be 64 hex digits"))
    }
}

fn check_content_type(raw: &str) -> Result<String> {
    let ct = raw.trim().to_ascii_lowercase();
    let valid = ct
        .split_once('/')
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !ct.contains(char::is_whitespace));
    if valid && ct.len() <= 255 {
        Ok(ct)
    } else {
        Err(Error::invalid(
            "content_type",
            "must be a media type such as application/pdf",
        ))
    }
}

fn check_url(raw: &str) -> Result<String> {
    let url = raw.trim();
    let valid = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2048
        && url
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty())
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(url.to_owned())
    } else {
        Err(Error::invalid("url", "must be an http or https address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{EvidenceId, OrgId, UserId};
    use chrono::TimeZone;

    fn until(days: Option<i64>, now: DateTime<Utc>) -> Evidence {
        Evidence {
            id: EvidenceId(uuid::Uuid::nil()),
            org: OrgId(uuid::Uuid::nil()),
            title: "Scan".into(),
            description: String::new(),
            content: EvidenceContent::Link {
                url: "https://x.test".into(),
            },
            controls: BTreeSet::new(),
            collected_at: now,
            uploaded_at: now,
            uploaded_by: UserId(uuid::Uuid::nil()),
            valid_until: days.map(|d| now + chrono::Duration::days(d)),
        }
    }

    #[test]
    fn a_controls_evidence_stands_by_its_best_piece() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let state = |days: &[Option<i64>]| {
            let all: Vec<Evidence> = days.iter().map(|d| until(*d, now)).collect();
            EvidenceState::of_all(&all, now)
        };
        assert_eq!(state(&[]), EvidenceState::None);
        assert_eq!(state(&[Some(0)]), EvidenceState::Expired, "ends now: gone");
        assert_eq!(state(&[Some(-3), Some(30)]), EvidenceState::Expiring);
        assert_eq!(state(&[Some(31)]), EvidenceState::Current);
        assert_eq!(state(&[Some(-3), Some(5), None]), EvidenceState::Current);
    }
}
