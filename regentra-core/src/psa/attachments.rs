//! Files attached to tickets: by the requester when they open a ticket or
//! reply, by staff with a reply or an internal note.
//!
//! A file is stored like an evidence file (the store's blobs, written chunk
//! by chunk as the upload streams in, hashed on the way), in two steps so
//! that a ticket or reply and its files commit together:
//! [`Regentra::stage_attachment`] stores the bytes and answers a
//! [`StagedAttachment`] (nothing refers to the blob yet), and the operation
//! that creates the ticket or the comment takes the staged files and
//! inserts one [`TicketAttachment`] record per file in its own commit, with
//! its audit event. A staged file that is never committed is deleted by
//! [`Regentra::discard_attachments`] (the host calls it when a form fails);
//! the operations that take staged files delete them themselves when they
//! fail.
//!
//! What a file may be: at most [`Regentra::attachment_limit`] bytes (10 MiB
//! unless configured), at most [`MAX_ATTACHMENTS`] with a new ticket or a
//! reply, not empty. A ticket holds at most [`MAX_TICKET_ATTACHMENTS`]
//! files and [`Regentra::ticket_attachment_bytes`] bytes in all, counted
//! from its `ticket` index when files join it. Programs and scripts (by extension or declared type, see
//! [`refused_kind`]) are refused, since a helpdesk passes files between
//! people who open them. The declared content type is kept only when it is
//! one of a list of inert document, image and archive types
//! ([`INERT_TYPES`]); any other file is stored as
//! `application/octet-stream`, so no upload can come back as HTML, SVG or
//! script. Downloads are always served as attachments.
//!
//! Who sees a file follows the comment it belongs to: a file of an
//! internal note is staff only, like the note; a file of a public reply, or
//! of the ticket itself, is seen by whoever reads the ticket.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::stream::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::ticket::{Comment, Ticket};
use crate::audit::Target;
use crate::compliance::evidence::StoredFile;
use crate::error::{Error, Result};
use crate::ids::{AttachmentId, BlobId, CommentId, OrgId, TicketId, UserId};
use crate::rbac::Permission;
use crate::service::{Principal, Regentra};
use crate::store::{self, ChangeSet, Entity, IndexEntry, Listing, PageRequest, Scope, Store};
use crate::tenancy::{User, validate_name};

/// The largest attachment accepted unless configured otherwise (10 MiB).
pub const ATTACHMENT_LIMIT: u64 = 10 * 1024 * 1024;

/// The most files one ticket or one reply carries.
pub const MAX_ATTACHMENTS: usize = 10;

/// The most files one ticket holds in all, the ticket's own and every
/// reply's and note's. [`MAX_ATTACHMENTS`] bounds one message only, and a
/// requester may reply as often as they like: without this a ticket would
/// be unlimited storage for anyone who may open one. Fifty is five full
/// messages of files, more than a long case of screenshots and logs needs;
/// past it, a new ticket (or a file share) is the better place.
pub const MAX_TICKET_ATTACHMENTS: usize = 50;

/// How many files at the size limit ([`Regentra::attachment_limit`]) one
/// ticket holds in bytes, in all: 100 MiB at the default 10 MiB
/// ([`Regentra::ticket_attachment_bytes`]). For the same reason as
/// [`MAX_TICKET_ATTACHMENTS`]; one full message's worth, so a new ticket
/// with every file at the limit still fits, while a run of replies cannot
/// fill the store. It follows the configured file limit, so a server that
/// accepts larger files accepts proportionately more per ticket.
pub const TICKET_BYTES_IN_FULL_FILES: u64 = MAX_ATTACHMENTS as u64;

/// Content types kept as declared: documents, images, text and archives
/// that a browser does not run. Anything else is stored as
/// `application/octet-stream`.
pub const INERT_TYPES: &[&str] = &[
    "application/pdf",
    "application/zip",
    "application/x-zip-compressed",
    "application/gzip",
    "application/x-7z-compressed",
    "application/json",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-outlook",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
    "message/rfc822",
    "text/plain",
    "text/csv",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/heic",
    "audio/mpeg",
    "audio/wav",
    "video/mp4",
    "video/quicktime",
];

/// File name extensions of programs and scripts, refused.
/// (Disk images and macro-enabled Office files are here too: opening one
/// runs or mounts what it carries.)
const REFUSED_EXTENSIONS: &[&str] = &[
    "exe",
    "com",
    "bat",
    "cmd",
    "scr",
    "pif",
    "msi",
    "msp",
    "msix",
    "msixbundle",
    "appx",
    "appxbundle",
    "dll",
    "cpl",
    "jar",
    "js",
    "jse",
    "vbs",
    "vbe",
    "wsf",
    "wsh",
    "ps1",
    "psm1",
    "hta",
    "lnk",
    "reg",
    "sh",
    "app",
    "apk",
    "chm",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "docm",
    "dotm",
    "xlsm",
    "xltm",
    "xlam",
    "pptm",
    "potm",
    "ppam",
    "scf",
    "url",
    "inf",
    "gadget",
];

/// Declared types of programs and scripts, refused whatever the name.
const REFUSED_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-ms-installer",
    "application/x-executable",
    "application/x-sh",
    "application/x-bat",
    "application/javascript",
    "text/javascript",
    "application/java-archive",
    "application/vnd.android.package-archive",
];

/// A file attached to a ticket.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketAttachment {
    pub id: AttachmentId,
    pub org: OrgId,
    pub ticket: TicketId,
    /// The reply or note it came with; none for a file of the ticket itself
    /// (sent with the new ticket).
    pub comment: Option<CommentId>,
    /// The file's name as uploaded (without any folder).
    pub name: String,
    /// As declared when it is an inert type, else `application/octet-stream`.
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes, computed while they were stored.
    pub sha256: String,
    /// Whether the requester sees it: its comment's visibility (a file of
    /// the ticket itself is public).
    pub public: bool,
    pub uploaded_by: UserId,
    pub created_at: DateTime<Utc>,
    /// Where the bytes are (reachable only through this record).
    pub blob: BlobId,
    pub chunks: u32,
}

impl Entity for TicketAttachment {
    const KIND: &'static str = "ticket_attachment";
    const NAME: &'static str = "attachment";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        vec![IndexEntry::multi("ticket", self.ticket.to_string())]
    }
}

/// A file being uploaded: its name and the type the uploader declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAttachment {
    pub name: String,
    pub content_type: String,
}

/// A file stored and not yet attached to anything: the proof, made only by
/// [`Regentra::stage_attachment`], that its bytes are in the store. Pass it
/// to the operation that creates the ticket or comment, or to
/// [`Regentra::discard_attachments`]. It is not `Clone`: each staged file
/// is consumed once, so one blob can never become two attachments (and
/// then be deleted under the other when one of them is discarded).
#[derive(Debug, PartialEq, Eq)]
pub struct StagedAttachment {
    org: OrgId,
    uploader: UserId,
    name: String,
    content_type: String,
    size: u64,
    sha256: String,
    blob: BlobId,
    chunks: u32,
}

impl StagedAttachment {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn content_type(&self) -> &str {
        &self.content_type
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// What files a ticket already holds, counted against
/// [`MAX_TICKET_ATTACHMENTS`] and [`MAX_TICKET_ATTACHMENT_BYTES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TicketFiles {
    pub(crate) count: usize,
    pub(crate) bytes: u64,
}

impl TicketFiles {
    /// Why `staged` cannot join a ticket holding these files, naming
    /// `attachments`: one message's limit, then the ticket's (`max_bytes`
    /// being [`Regentra::ticket_attachment_bytes`]).
    fn refuse(self, staged: &[StagedAttachment], max_bytes: u64) -> Result<()> {
        if staged.len() > MAX_ATTACHMENTS {
            return Err(Error::invalid(
                "attachments",
                format!("at most {MAX_ATTACHMENTS} files at a time"),
            ));
        }
        let files = |n: usize| {
            if n == 1 {
                "1 file".to_owned()
            } else {
                format!("{n} files")
            }
        };
        if self.count + staged.len() > MAX_TICKET_ATTACHMENTS {
            return Err(Error::invalid(
                "attachments",
                format!(
                    "this ticket already has {}; at most {MAX_TICKET_ATTACHMENTS}",
                    files(self.count)
                ),
            ));
        }
        let adding: u64 = staged.iter().map(|f| f.size).sum();
        if self.bytes.saturating_add(adding) > max_bytes {
            return Err(Error::invalid(
                "attachments",
                format!(
                    "this ticket already has {} ({}); at most {} of files in all",
                    files(self.count),
                    rounded_size(self.bytes),
                    rounded_size(max_bytes)
                ),
            ));
        }
        Ok(())
    }
}

/// A total of files' sizes as people read it, rounded to a tenth of its
/// unit: `900 bytes`, `12.5 KiB`, `100 MiB` (the evidence module's
/// `size_in_words` is exact, for limits; a total is rarely a round figure).
fn rounded_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    let (value, unit) = match bytes {
        0..KIB => return format!("{bytes} bytes"),
        KIB..MIB => (bytes as f64 / KIB as f64, "KiB"),
        _ => (bytes as f64 / MIB as f64, "MiB"),
    };
    if value.fract() < 0.05 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// One message of a ticket's public conversation, as the requester reads
/// it: who wrote it (their display name), and its files.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationEntry {
    pub comment: Comment,
    pub author_name: String,
    /// Written by the ticket's requester (else by staff).
    pub from_requester: bool,
    pub attachments: Vec<TicketAttachment>,
}

/// A page of a ticket's public conversation, oldest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversation {
    /// The files sent with the ticket itself.
    pub ticket_attachments: Vec<TicketAttachment>,
    pub entries: Vec<ConversationEntry>,
    /// The last comment of this page, when more follow.
    pub next: Option<CommentId>,
}

/// The file's own name, without the folders some browsers send with it.
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// Why a file is refused as a program or script (by its extension or its
/// declared type), if it is.
pub fn refused_kind(name: &str, content_type: &str) -> Option<String> {
    // Windows drops trailing dots and spaces when it saves a file, so
    // `run.exe.` or `run.exe ` is `run.exe` on the person's disk.
    let extension = base_name(name)
        .trim_end_matches(['.', ' '])
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    if let Some(ext) = extension.filter(|e| REFUSED_EXTENSIONS.contains(&e.as_str())) {
        return Some(format!(
            "is a program or script (.{ext}), which tickets do not accept"
        ));
    }
    let declared = media_type(content_type);
    REFUSED_TYPES
        .contains(&declared.as_str())
        .then(|| format!("is a program or script ({declared}), which tickets do not accept"))
}

/// Unicode format characters that change how a name reads without being
/// seen: the bidirectional controls, zero-width characters and the BOM.
fn is_format_character(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{061c}')
}

/// The media type of a declared content type, lower case, parameters off.
fn media_type(declared: &str) -> String {
    declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The content type an attachment is stored and served with: the declared
/// one when it is inert ([`INERT_TYPES`]), else `application/octet-stream`.
pub fn stored_content_type(declared: &str) -> String {
    let declared = media_type(declared);
    if INERT_TYPES.contains(&declared.as_str()) {
        declared
    } else {
        "application/octet-stream".to_owned()
    }
}

impl Regentra {
    /// Stores an uploaded file for a ticket or a reply the caller is about
    /// to send, chunk by chunk as the body streams in (never whole in
    /// memory). Refused, leaving nothing behind: a program or script, an
    /// empty file, one over [`Regentra::attachment_limit`], or a caller who
    /// may not submit tickets in the org. Errors name `file` (or `name`).
    pub async fn stage_attachment<S, E>(
        &self,
        principal: &Principal,
        org: OrgId,
        file: NewAttachment,
        body: S,
    ) -> Result<StagedAttachment>
    where
        S: Stream<Item = std::result::Result<Vec<u8>, E>> + Send,
        E: std::fmt::Display,
    {
        self.attachment_writer(principal, org).await?;
        let name = validate_name("name", base_name(&file.name))?;
        // Bidirectional and other invisible format characters can make
        // `photo\u{202e}gpj.exe` read as `photoexe.jpg`.
        if name.chars().any(is_format_character) {
            return Err(Error::invalid(
                "name",
                "must not contain invisible formatting characters",
            ));
        }
        if let Some(why) = refused_kind(&name, &file.content_type) {
            return Err(Error::invalid("file", why));
        }
        let content_type = stored_content_type(&file.content_type);
        let blob = BlobId(self.new_id());
        match self
            .store_blob(org, blob, self.attachment_limit(), body)
            .await
        {
            Ok(stored) => Ok(StagedAttachment {
                org,
                uploader: principal.user,
                name,
                content_type,
                size: stored.size,
                sha256: stored.sha256,
                blob,
                chunks: stored.chunks,
            }),
            Err(e) => {
                let _ = self.store().delete_blob(org, blob.0).await;
                Err(e)
            }
        }
    }

    /// The most bytes of files one ticket holds in all:
    /// [`TICKET_BYTES_IN_FULL_FILES`] files at [`Regentra::attachment_limit`].
    pub fn ticket_attachment_bytes(&self) -> u64 {
        self.attachment_limit()
            .saturating_mul(TICKET_BYTES_IN_FULL_FILES)
    }

    /// Deletes staged files that will not be attached (a form that failed).
    pub async fn discard_attachments(&self, staged: Vec<StagedAttachment>) {
        for file in staged {
            let _ = self.store().delete_blob(file.org, file.blob.0).await;
        }
    }

    /// Who may stage a file in `org`: whoever may send a public reply
    /// (`tickets.submit`) or work tickets (`tickets.manage`).
    async fn attachment_writer(&self, principal: &Principal, org: OrgId) -> Result<()> {
        match self
            .authorize(principal, org, Permission::TicketsSubmit)
            .await
        {
            Ok(_) => Ok(()),
            Err(Error::PermissionDenied { .. }) => self
                .authorize_all(principal, org, Permission::TicketsManage)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        }
    }

    /// The files `ticket` already holds, from its `ticket` index: at most
    /// [`MAX_TICKET_ATTACHMENTS`] + 1 records are read, since a ticket over
    /// the cap is refused whatever the exact count. (Two uploads to one
    /// ticket at the same moment may each see room for their files and
    /// together pass the cap by one message's worth; never more.)
    pub(crate) async fn ticket_files(&self, org: OrgId, ticket: TicketId) -> Result<TicketFiles> {
        let found = store::find::<TicketAttachment>(
            self.store(),
            Scope::Org(org),
            "ticket",
            &ticket.to_string(),
            PageRequest::first(MAX_TICKET_ATTACHMENTS + 1),
        )
        .await?;
        Ok(TicketFiles {
            count: found.len(),
            bytes: found.iter().map(|a| a.value.size).sum(),
        })
    }

    /// The records of staged files joining `ticket` (with `comment`), after
    /// checking they were staged by the caller in the ticket's org and fit
    /// in what the ticket holds (`so_far`).
    pub(crate) fn attachment_records(
        &self,
        principal: &Principal,
        ticket: &Ticket,
        comment: Option<&Comment>,
        staged: &[StagedAttachment],
        so_far: TicketFiles,
    ) -> Result<Vec<TicketAttachment>> {
        so_far.refuse(staged, self.ticket_attachment_bytes())?;
        let now = self.now();
        staged
            .iter()
            .map(|file| {
                if file.org != ticket.org || file.uploader != principal.user {
                    return Err(Error::invalid(
                        "attachments",
                        "a file was uploaded by someone else or for another organization",
                    ));
                }
                Ok(TicketAttachment {
                    id: AttachmentId(self.new_id()),
                    org: ticket.org,
                    ticket: ticket.id,
                    comment: comment.map(|c| c.id),
                    name: file.name.clone(),
                    content_type: file.content_type.clone(),
                    size: file.size,
                    sha256: file.sha256.clone(),
                    public: comment.is_none_or(|c| c.public),
                    uploaded_by: principal.user,
                    created_at: now,
                    blob: file.blob,
                    chunks: file.chunks,
                })
            })
            .collect()
    }

    /// Attaches staged files to a ticket, or to one of its comments (the
    /// caller's own: nobody adds files to another person's words), in one
    /// commit audited `ticket.attached`. The files take the comment's
    /// visibility; without a comment they are public, so attaching needs
    /// what a public reply needs. On failure the staged files are deleted.
    pub async fn attach_files(
        &self,
        principal: &Principal,
        org: OrgId,
        ticket: TicketId,
        comment: Option<CommentId>,
        staged: Vec<StagedAttachment>,
    ) -> Result<Vec<TicketAttachment>> {
        let result = self
            .commit_attachments(principal, org, ticket, comment, &staged)
            .await;
        if result.is_err() {
            self.discard_attachments(staged).await;
        }
        result
    }

    async fn commit_attachments(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        comment: Option<CommentId>,
        staged: &[StagedAttachment],
    ) -> Result<Vec<TicketAttachment>> {
        let ticket = self.ticket(principal, org, id).await?;
        let staff = self
            .authorize_all(principal, org, Permission::TicketsManage)
            .await
            .ok();
        // As for replies: a requester adds files while the ticket is worked on.
        if staff.is_none() && !ticket.status.is_active() {
            return Err(Error::invalid(
                "ticket",
                "is resolved or closed: reopen it (or open a new ticket) to add files",
            ));
        }
        let comment = match comment {
            Some(c) => {
                let found = store::load::<Comment>(self.store(), Scope::Org(org), c.0)
                    .await?
                    .map(|v| v.value)
                    .filter(|found| found.ticket == id && (found.public || staff.is_some()));
                let Some(found) = found else {
                    return Err(Error::NotFound {
                        what: Comment::NAME,
                    });
                };
                if found.author != principal.user {
                    return Err(Error::invalid(
                        "comment",
                        "files are added to one's own reply or note only",
                    ));
                }
                Some(found)
            }
            None => None,
        };
        let grant = match staff {
            Some(g) => g,
            None => {
                self.authorize(principal, org, Permission::TicketsSubmit)
                    .await?
            }
        };
        if staged.is_empty() {
            return Err(Error::invalid("file", "no file was sent"));
        }
        let so_far = self.ticket_files(org, id).await?;
        let records =
            self.attachment_records(principal, &ticket, comment.as_ref(), staged, so_far)?;
        let mut changes = ChangeSet::new();
        for record in &records {
            changes.insert(record)?;
        }
        changes.audit(self.event(
            principal,
            &grant,
            "ticket.attached",
            Target::new(Ticket::KIND, id),
            json!({ "comment": comment.map(|c| c.id), "attachments": attachment_details(&records) }),
        ));
        self.store().apply(changes).await?;
        Ok(records)
    }

    /// A page of a ticket's attachments the caller may see, oldest first:
    /// every file for staff who read every ticket, the public ones for the
    /// requester (files of internal notes are skipped as the pages are read).
    pub async fn ticket_attachments(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        page: PageRequest,
    ) -> Result<Listing<TicketAttachment>> {
        self.ticket(principal, org, id).await?;
        let staff = self
            .authorize_all(principal, org, Permission::TicketsRead)
            .await
            .is_ok();
        let limit = page.effective_limit();
        let mut out = Vec::with_capacity(limit);
        let mut after = page.after;
        loop {
            let found = store::find_page::<TicketAttachment>(
                self.store(),
                Scope::Org(org),
                "ticket",
                &id.to_string(),
                PageRequest::after(after, limit),
            )
            .await?;
            let more = found.next;
            after = found.items.last().map(|a| a.value.id.0);
            out.extend(
                found
                    .items
                    .into_iter()
                    .map(|v| v.value)
                    .filter(|a| staff || a.public),
            );
            if out.len() >= limit || more.is_none() {
                let next = if out.len() > limit || (out.len() == limit && more.is_some()) {
                    out.truncate(limit);
                    out.last().map(|a| a.id.0)
                } else {
                    None
                };
                return Ok(Listing { items: out, next });
            }
        }
    }

    /// Opens an attachment for reading, chunk by chunk: `NotFound` unless
    /// the caller reads the ticket and may see the file (a file of an
    /// internal note is staff only), exactly as for a missing one.
    pub async fn open_ticket_attachment(
        &self,
        principal: &Principal,
        org: OrgId,
        ticket: TicketId,
        attachment: AttachmentId,
    ) -> Result<StoredFile> {
        self.ticket(principal, org, ticket).await?;
        let staff = self
            .authorize_all(principal, org, Permission::TicketsRead)
            .await
            .is_ok();
        let found = store::load::<TicketAttachment>(self.store(), Scope::Org(org), attachment.0)
            .await?
            .map(|v| v.value)
            .filter(|a| a.ticket == ticket && (staff || a.public));
        let Some(a) = found else {
            return Err(Error::NotFound {
                what: TicketAttachment::NAME,
            });
        };
        let store: Arc<dyn Store> = self.shared_store();
        let (blob, chunks) = (a.blob, a.chunks);
        let stream = futures::stream::unfold(0u32, move |seq| {
            let store = Arc::clone(&store);
            async move {
                if seq >= chunks {
                    return None;
                }
                let chunk = match store.blob_chunk(org, blob.0, seq).await {
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => Err(Error::storage(format!(
                        "attachment {blob} lost chunk {seq}"
                    ))),
                    Err(e) => Err(e),
                };
                Some((chunk, seq + 1))
            }
        });
        Ok(StoredFile {
            name: a.name,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            chunks: stream.boxed(),
        })
    }

    /// A page of a ticket's public conversation as its requester reads it
    /// (the portal's ticket page): public replies only, whoever asks (staff
    /// reading it see what the requester sees), each with its author's
    /// name and files, after the comment `after`, oldest first; and the
    /// files of the ticket itself.
    pub async fn public_conversation(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Conversation> {
        let ticket = self.ticket(principal, org, id).await?;
        self.conversation_page(ticket, after, limit, false).await
    }

    /// A page of a ticket's whole conversation as staff read it (the
    /// console's ticket page): public replies and internal notes, each
    /// with its author's name and files, oldest first, and every file of
    /// the ticket itself. Needs `tickets.read` over every ticket of the
    /// org: a requester never reaches the notes this way.
    pub async fn staff_conversation(
        &self,
        principal: &Principal,
        org: OrgId,
        id: TicketId,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Conversation> {
        self.authorize_all(principal, org, Permission::TicketsRead)
            .await?;
        let ticket = self.ticket(principal, org, id).await?;
        self.conversation_page(ticket, after, limit, true).await
    }

    /// The conversation of `ticket` (already authorized), internal notes
    /// and their files included only when `internal`.
    async fn conversation_page(
        &self,
        ticket: Ticket,
        after: Option<CommentId>,
        limit: usize,
        internal: bool,
    ) -> Result<Conversation> {
        let (org, id) = (ticket.org, ticket.id);
        let limit = limit.clamp(1, store::MAX_PAGE);
        let mut comments: Vec<Comment> = Vec::new();
        let mut cursor = after.map(|c| c.0);
        let mut more = false;
        loop {
            let page = store::find_page::<Comment>(
                self.store(),
                Scope::Org(org),
                "ticket",
                &id.to_string(),
                PageRequest::after(cursor, limit),
            )
            .await?;
            cursor = page.items.last().map(|c| c.value.id.0);
            comments.extend(
                page.items
                    .into_iter()
                    .map(|v| v.value)
                    .filter(|c| internal || c.public),
            );
            if comments.len() > limit || (comments.len() == limit && page.next.is_some()) {
                comments.truncate(limit);
                more = true;
                break;
            }
            if page.next.is_none() {
                break;
            }
        }
        // The files: every public one of the ticket, grouped by comment (a
        // ticket carries a few; this reads them whole).
        let files: Vec<TicketAttachment> = store::find_all::<TicketAttachment>(
            self.store(),
            Scope::Org(org),
            "ticket",
            &id.to_string(),
        )
        .await?
        .into_iter()
        .map(|v| v.value)
        .filter(|a| internal || a.public)
        .collect();
        let mut by_comment: BTreeMap<Option<CommentId>, Vec<TicketAttachment>> = BTreeMap::new();
        for file in files {
            by_comment.entry(file.comment).or_default().push(file);
        }
        let authors: Vec<Uuid> = comments
            .iter()
            .map(|c| c.author.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let names: BTreeMap<UserId, String> =
            store::load_many::<User>(self.store(), Scope::Platform, &authors)
                .await?
                .into_iter()
                .flatten()
                .map(|u| (u.value.id, u.value.display_name))
                .collect();
        let next = if more {
            comments.last().map(|c| c.id)
        } else {
            None
        };
        let entries = comments
            .into_iter()
            .map(|comment| ConversationEntry {
                author_name: names.get(&comment.author).cloned().unwrap_or_default(),
                from_requester: comment.author == ticket.requester,
                attachments: by_comment.remove(&Some(comment.id)).unwrap_or_default(),
                comment,
            })
            .collect();
        Ok(Conversation {
            ticket_attachments: by_comment.remove(&None).unwrap_or_default(),
            entries,
            next,
        })
    }
}

/// What an audit event records of attached files.
pub(crate) fn attachment_details(records: &[TicketAttachment]) -> serde_json::Value {
    json!(
        records
            .iter()
            .map(|a| json!({ "id": a.id, "name": a.name, "size": a.size, "sha256": a.sha256 }))
            .collect::<Vec<_>>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_and_scripts_are_refused_by_name_or_type() {
        assert!(refused_kind("setup.EXE", "application/octet-stream").is_some());
        assert!(refused_kind("C:\\Users\\ann\\run.ps1", "text/plain").is_some());
        assert!(refused_kind("notes.txt", "application/x-msdownload").is_some());
        assert!(refused_kind("app.js", "text/plain").is_some());
        assert!(refused_kind("report.pdf", "application/pdf").is_none());
        assert!(refused_kind("no-extension", "").is_none());
        assert!(
            refused_kind("run.exe.", "text/plain").is_some(),
            "a trailing dot"
        );
        assert!(
            refused_kind("run.exe . ", "text/plain").is_some(),
            "and spaces"
        );
        assert!(refused_kind("budget.xlsm", "application/octet-stream").is_some());
        assert!(refused_kind("disk.iso", "application/octet-stream").is_some());
        assert!(is_format_character('\u{202e}') && !is_format_character('é'));
    }

    #[test]
    fn only_inert_types_are_kept_as_declared() {
        assert_eq!(stored_content_type("image/PNG"), "image/png");
        assert_eq!(
            stored_content_type("text/plain; charset=utf-8"),
            "text/plain"
        );
        for active in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "",
        ] {
            assert_eq!(
                stored_content_type(active),
                "application/octet-stream",
                "{active}"
            );
        }
    }

    #[test]
    fn totals_read_rounded_in_the_largest_unit() {
        assert_eq!(rounded_size(900), "900 bytes");
        assert_eq!(rounded_size(1024), "1 KiB");
        assert_eq!(rounded_size(1536), "1.5 KiB");
        assert_eq!(rounded_size(100 * 1024 * 1024), "100 MiB");
        assert_eq!(rounded_size(ATTACHMENT_LIMIT * 5 / 2), "25 MiB");
        assert_eq!(rounded_size(95_432_123), "91 MiB");
    }

    #[test]
    fn a_browsers_folder_is_taken_off_the_name() {
        assert_eq!(base_name("C:\\fakepath\\shot.png"), "shot.png");
        assert_eq!(base_name("a/b/c.txt"), "c.txt");
        assert_eq!(base_name("plain.txt"), "plain.txt");
    }
}
