//! Forms with files, for the portal and the console alike: a
//! `multipart/form-data` body read as it streams, its CSRF token first
//! (a form without it, or another session's, is refused before any file
//! is read), its text fields kept whole up to a limit, and each file of
//! its `attachments` field staged in the core (which bounds each file as
//! it arrives and keeps none of a message that does not commit); or one
//! small file held whole for the core to judge (a portal's logo).

use axum::extract::{DefaultBodyLimit, Multipart};
use axum::http::StatusCode;
use axum::response::Response;
use regentra_core::ids::OrgId;
use regentra_core::psa::attachments::{
    ATTACHMENT_LIMIT, MAX_ATTACHMENTS, NewAttachment, StagedAttachment,
};
use regentra_core::{Error, FieldError, Principal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

use crate::server::{AppState, browser};

/// The most text a form field holds (a ticket's description, a reply).
pub const TEXT_LIMIT: usize = 64 * 1024;

/// What a page says of a text over [`TEXT_LIMIT`].
pub const TOO_LONG: &str = "A ticket's subject, description or reply can be at most 64 KiB of \
                            text. Shorten it, or attach the text as a file, and send it again.";

/// The longest a form may go without sending a byte before it is dropped.
const IDLE: Duration = Duration::from_secs(60);

/// The longest a whole form may take to arrive (100 MiB of files at
/// about 170 KB/s): a body trickled in slower holds a task, a connection
/// and a half-written file for no one's good.
const WHOLE_FORM: Duration = Duration::from_secs(10 * 60);

/// `step`, unless the form stalls (nothing for [`IDLE`]) or its time is up.
async fn in_time<T>(deadline: Instant, step: impl Future<Output = T>) -> Option<T> {
    let until = deadline.min(Instant::now() + IDLE);
    tokio::time::timeout_at(until, step).await.ok()
}

/// The body limit of a route that takes files: [`MAX_ATTACHMENTS`] files at
/// the core's limit, and the text beside them. The core bounds each file
/// as it streams; this bounds the whole body.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_ATTACHMENTS * ATTACHMENT_LIMIT as usize + 1024 * 1024)
}

/// A posted form: its text fields and the files staged from it.
#[derive(Debug)]
pub struct Posted {
    pub fields: Vec<(String, String)>,
    pub files: Vec<StagedAttachment>,
    /// The first file problem, for the `attachments` field.
    pub files_error: Option<String>,
}

impl Posted {
    pub fn field(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Why a form was refused before anything of it was kept.
#[derive(Debug)]
pub enum Refusal {
    /// No CSRF token first, or not the session's.
    Forged,
    /// The body broke off, is not a multipart form, stalled, or took too
    /// long to arrive.
    Unreadable,
    /// A text field over [`TEXT_LIMIT`].
    TooLong,
    /// The core could not stage a file for a reason not the person's.
    Failed(Error),
}

/// The page of a [`Refusal::Forged`] form (the same on every site).
pub fn forged_page() -> Response {
    super::error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this site's own page, or its security token is missing \
         or out of date. Go back, reload the page and try again.",
    )
}

/// Reads `form` for `caller` in `org` (whose session's secret is
/// `secret`): the CSRF token first, then the `text_fields` (each once and
/// whole) and the files of `attachments`, staged in the core. A file the
/// core refuses is named in `files_error`; the files after it are read and
/// dropped (the browser is still sending them), never stored. Fields the
/// form does not have are read past, never kept: a body of many junk
/// fields costs no memory.
pub async fn read_form(
    state: &AppState,
    org: OrgId,
    caller: &Principal,
    secret: &str,
    text_fields: &[&str],
    mut form: Multipart,
) -> Result<Posted, Refusal> {
    let deadline = Instant::now() + WHOLE_FORM;
    csrf_first(deadline, secret, &mut form).await?;
    let mut posted = Posted {
        fields: Vec::new(),
        files: Vec::new(),
        files_error: None,
    };
    loop {
        let mut field = match in_time(deadline, form.next_field()).await {
            Some(Ok(Some(field))) => field,
            Some(Ok(None)) => break,
            Some(Err(_)) | None => {
                state.regentra.discard_attachments(posted.files).await;
                return Err(Refusal::Unreadable);
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "attachments" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let content_type = field.content_type().unwrap_or_default().to_owned();
            // After a refused file, and for the empty part a browser sends
            // for a file input left empty: read past.
            if posted.files_error.is_some() || file_name.is_empty() {
                while let Some(Ok(Some(_))) = in_time(deadline, field.chunk()).await {}
                continue;
            }
            if posted.files.len() == MAX_ATTACHMENTS {
                posted.files_error = Some(format!(
                    "Attach at most {MAX_ATTACHMENTS} files to one message."
                ));
                while let Some(Ok(Some(_))) = in_time(deadline, field.chunk()).await {}
                continue;
            }
            // A file that stalls ends its stream with an error, so the core
            // drops what it has written of it; the form is then refused.
            let stalled = AtomicBool::new(false);
            let body = futures::stream::unfold((&mut field, &stalled), |(f, stalled)| async move {
                match in_time(deadline, f.chunk()).await {
                    Some(Ok(Some(bytes))) => Some((Ok(bytes.to_vec()), (f, stalled))),
                    Some(Ok(None)) => None,
                    Some(Err(e)) => Some((Err(e.to_string()), (f, stalled))),
                    None => {
                        stalled.store(true, Ordering::Relaxed);
                        Some((Err("the upload stalled".to_owned()), (f, stalled)))
                    }
                }
            });
            let file = NewAttachment {
                name: file_name.clone(),
                content_type,
            };
            let staged = state
                .regentra
                .stage_attachment(caller, org, file, body)
                .await;
            if stalled.load(Ordering::Relaxed) {
                if let Ok(staged) = staged {
                    posted.files.push(staged);
                }
                state.regentra.discard_attachments(posted.files).await;
                return Err(Refusal::Unreadable);
            }
            match staged {
                Ok(staged) => posted.files.push(staged),
                Err(Error::Validation(errors)) => {
                    let why = errors
                        .first()
                        .map(|e| e.message.clone())
                        .unwrap_or_else(|| "could not be stored".to_owned());
                    posted.files_error = Some(format!("{file_name} {why}."));
                    // Drain what the browser still sends of this file.
                    while let Some(Ok(Some(_))) = in_time(deadline, field.chunk()).await {}
                }
                Err(e) => {
                    state.regentra.discard_attachments(posted.files).await;
                    return Err(Refusal::Failed(e));
                }
            }
        } else if text_fields.contains(&name.as_str())
            && !posted.fields.iter().any(|(known, _)| *known == name)
        {
            // A text over the limit is refused rather than cut short.
            let mut text = Vec::new();
            loop {
                match in_time(deadline, field.chunk()).await {
                    Some(Ok(Some(chunk))) => {
                        if text.len() + chunk.len() > TEXT_LIMIT {
                            state.regentra.discard_attachments(posted.files).await;
                            return Err(Refusal::TooLong);
                        }
                        text.extend_from_slice(&chunk);
                    }
                    Some(Ok(None)) => break,
                    // Cut off or stalled: a text is never kept half.
                    Some(Err(_)) | None => {
                        state.regentra.discard_attachments(posted.files).await;
                        return Err(Refusal::Unreadable);
                    }
                }
            }
            posted
                .fields
                .push((name, String::from_utf8_lossy(&text).into_owned()));
        } else {
            while let Some(Ok(Some(_))) = in_time(deadline, field.chunk()).await {}
        }
    }
    Ok(posted)
}

/// The form's first field must be the CSRF token of the session whose
/// secret is `secret`; anything else is [`Refusal::Forged`], before any
/// file is read.
async fn csrf_first(deadline: Instant, secret: &str, form: &mut Multipart) -> Result<(), Refusal> {
    match in_time(deadline, form.next_field()).await {
        Some(Ok(Some(mut first))) if first.name() == Some(browser::CSRF_FIELD) => {
            let mut token = Vec::new();
            while let Some(Ok(Some(chunk))) = in_time(deadline, first.chunk()).await {
                token.extend_from_slice(&chunk);
                if token.len() > 256 {
                    return Err(Refusal::Forged);
                }
            }
            if browser::csrf_matches(secret, &String::from_utf8_lossy(&token)) {
                Ok(())
            } else {
                Err(Refusal::Forged)
            }
        }
        _ => Err(Refusal::Forged),
    }
}

/// Reads a form of one small file (a portal's logo), held whole: the CSRF
/// token first as [`read_form`] does, then the bytes of the field `file`
/// up to `limit` and one more, so that the core, whose rule the size is,
/// sees a file over its limit and names it (the rest is read past).
/// `None` when no file was chosen. Other fields are read past.
pub async fn read_small_file(
    secret: &str,
    file: &str,
    limit: usize,
    mut form: Multipart,
) -> Result<Option<Vec<u8>>, Refusal> {
    let deadline = Instant::now() + WHOLE_FORM;
    csrf_first(deadline, secret, &mut form).await?;
    let mut found = None;
    loop {
        let mut field = match in_time(deadline, form.next_field()).await {
            Some(Ok(Some(field))) => field,
            Some(Ok(None)) => break,
            Some(Err(_)) | None => return Err(Refusal::Unreadable),
        };
        let chosen = field.name() == Some(file)
            && found.is_none()
            && field.file_name().is_some_and(|name| !name.is_empty());
        let mut bytes = Vec::new();
        loop {
            match in_time(deadline, field.chunk()).await {
                Some(Ok(Some(chunk))) => {
                    if chosen && bytes.len() <= limit {
                        let room = limit + 1 - bytes.len();
                        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                }
                Some(Ok(None)) => break,
                Some(Err(_)) | None => return Err(Refusal::Unreadable),
            }
        }
        if chosen {
            found = Some(bytes);
        }
    }
    Ok(found)
}

/// The core's refusal of a message's files (on `attachments`: too many at
/// once, or more than the ticket holds), as a sentence under the field.
/// The whole message was refused with them, so it says nothing was sent.
pub fn files_error(errors: &[FieldError]) -> Option<String> {
    errors.iter().find(|e| e.field == "attachments").map(|e| {
        let mut sentence = e.message.trim_end_matches('.').to_owned();
        if let Some(first) = sentence.get(..1) {
            sentence.replace_range(..1, &first.to_uppercase());
        }
        format!("{sentence}. Nothing was sent.")
    })
}

/// Runs a form with files to its end in a task of its own. The core keeps
/// no file of a form that does not commit, but only if its code runs to
/// the end: a handler dropped half-way (the server's request timeout, a
/// client gone) would leave the files staged so far, and the blob being
/// written, behind. A task is not dropped with the request: it reads the
/// body until it ends or breaks, and the core then commits or cleans up.
pub async fn detached(work: impl Future<Output = Response> + Send + 'static) -> Response {
    match tokio::spawn(work).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a form's task failed");
            super::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The form could not be handled. Try again in a moment.",
            )
        }
    }
}
