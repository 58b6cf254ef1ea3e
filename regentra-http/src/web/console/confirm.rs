//! The confirmation page that stands before an action which is hard to
//! undo or reaches further than its button suggests (retiring an asset,
//! deleting an article, removing a member, offboarding a client,
//! unadopting a framework). It is a page of its own rather than a script
//! dialog, so it works without JavaScript: it says what will happen and
//! what is kept, then offers the one button that posts, and a way back.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Scope, Section, Shell, Staff};
use crate::web::{Chrome, CsrfField, render};

/// One paragraph of what the action does: an optional lead in bold
/// (a name, or "Nothing is deleted."), then the sentence.
#[derive(Debug, Clone)]
pub struct Consequence {
    pub lead: String,
    pub text: String,
}

impl Consequence {
    pub fn says(text: impl Into<String>) -> Self {
        Self {
            lead: String::new(),
            text: text.into(),
        }
    }

    pub fn led(lead: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            lead: lead.into(),
            text: text.into(),
        }
    }
}

/// What a confirmation page shows.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The question, as the page's heading and title ("Retire the laptop?").
    pub question: String,
    /// Where "back" and the breadcrumb lead, and the breadcrumb's words.
    pub back: String,
    pub back_label: String,
    pub consequences: Vec<Consequence>,
    /// Where the button posts.
    pub action: String,
    /// The button's words: the action itself, never "OK".
    pub button: String,
    /// The way back's words ("Cancel", "Keep it adopted").
    pub cancel: String,
}

#[derive(Template)]
#[template(path = "web/console/confirm.html")]
struct ConfirmPage {
    shell: Option<Shell>,
    chrome: Chrome,
    csrf_field: CsrfField,
    page: Confirmation,
}

/// The confirmation page, in the console's shell.
pub fn page(
    staff: &Staff,
    scope: &Scope,
    section: Section,
    confirmation: Confirmation,
) -> Response {
    let shell = Shell::new(staff, Some(scope), Some(section), &confirmation.question);
    render(
        StatusCode::OK,
        &ConfirmPage {
            chrome: shell.chrome.clone(),
            csrf_field: staff.csrf_field(),
            shell: Some(shell),
            page: confirmation,
        },
    )
}

/// The confirmation's form as posted: only its CSRF field, which the
/// console's form reader checks before anything else.
#[derive(Debug, Default, Deserialize)]
pub struct Confirmed {}
