//! What an email says and how it looks: a subject per kind, the body as
//! paragraphs with at most one quote and one button, and a footer saying
//! why the person got it (and, for the optional kinds, how to stop them),
//! rendered twice by askama: HTML with the sending org's branding (inline
//! CSS only, as mail clients want; every value escaped) and plain text.

use askama::Template;
use chrono::{DateTime, Utc};
use regentra_core::mail::{EmailKind, OutgoingEmail};
use regentra_core::portal::Branding;
use serde_json::Value;

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    /// Who it is from, as people read it ("Northwind IT on behalf of Acme Dental").
    pub sender: String,
    pub html: String,
    pub text: String,
}

/// The button of a message: what it does and where it goes.
#[derive(Debug, Clone)]
pub struct Action {
    pub label: String,
    pub url: String,
}

/// The colors used when the org chose none.
const DEFAULT_PRIMARY: &str = "#1f2933";
const DEFAULT_ACCENT: &str = "#2563eb";

#[derive(Template)]
#[template(path = "mail/message.html")]
struct Html<'a> {
    subject: &'a str,
    sender: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    quote: &'a Option<String>,
    action: &'a Option<Action>,
    footer: &'a [String],
    primary: &'a str,
    accent: &'a str,
    logo_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct Text<'a> {
    sender: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    quote: &'a Option<String>,
    action: &'a Option<Action>,
    footer: &'a [String],
}

/// What a message says, before it is laid out.
struct Message {
    subject: String,
    heading: String,
    paragraphs: Vec<String>,
    quote: Option<String>,
    action: Option<(&'static str, Option<String>)>,
    why: String,
}

/// Renders `email` with `branding` (the sending org's, if it has any),
/// links made absolute on `public_url`.
pub fn render(
    email: &OutgoingEmail,
    branding: Option<&Branding>,
    public_url: &str,
) -> Result<Rendered, String> {
    let c = Content(&email.content);
    let org = branding
        .and_then(|b| b.display_name.clone())
        .or_else(|| c.opt("org_name"))
        .unwrap_or_else(|| "Regentra".to_owned());
    let sender = match c.opt("msp_name") {
        Some(msp) if msp != org => format!("{msp} on behalf of {org}"),
        _ => org.clone(),
    };
    let message = message(email.kind, &c, &org);
    let action = match &message.action {
        Some((label, Some(path))) => link(public_url, path).map(|url| Action {
            label: (*label).to_owned(),
            url,
        }),
        _ => None,
    };
    let mut footer = vec![message.why.clone()];
    if email.kind.is_optional() {
        footer.push(format!(
            "You can turn off {} emails in your email preferences (PUT /v1/me/email-preferences); \
             they stay in your in-app inbox.",
            kind_label(email.kind)
        ));
    }
    footer.push(format!("Sent by {sender} through Regentra."));
    let primary = color(
        branding.and_then(|b| b.primary_color.as_deref()),
        DEFAULT_PRIMARY,
    );
    let accent = color(
        branding.and_then(|b| b.accent_color.as_deref()),
        DEFAULT_ACCENT,
    );
    let logo_url = branding
        .and_then(|b| b.logo_url.as_deref())
        .filter(|u| u.starts_with("https://"));
    let html = Html {
        subject: &message.subject,
        sender: &sender,
        heading: &message.heading,
        paragraphs: &message.paragraphs,
        quote: &message.quote,
        action: &action,
        footer: &footer,
        primary,
        accent,
        logo_url,
    }
    .render()
    .map_err(|e| format!("html template: {e}"))?;
    let text = Text {
        sender: &sender,
        heading: &message.heading,
        paragraphs: &message.paragraphs,
        quote: &message.quote,
        action: &action,
        footer: &footer,
    }
    .render()
    .map_err(|e| format!("text template: {e}"))?;
    Ok(Rendered {
        subject: message.subject,
        sender,
        html,
        text,
    })
}

/// A `#rrggbb` color, or the default (the core validates colors when they
/// are saved; this keeps anything else out of a style attribute).
fn color<'a>(chosen: Option<&'a str>, default: &'a str) -> &'a str {
    match chosen {
        Some(c)
            if c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|d| d.is_ascii_hexdigit()) =>
        {
            c
        }
        _ => default,
    }
}

/// The absolute URL of a link path on the server; `None` for anything that
/// is not a path (a link is always one of ours).
fn link(public_url: &str, path: &str) -> Option<String> {
    (path.starts_with('/') && !path.starts_with("//"))
        .then(|| format!("{}{path}", public_url.trim_end_matches('/')))
}

/// How a kind is named in the footer.
fn kind_label(kind: EmailKind) -> &'static str {
    match kind {
        EmailKind::Invitation => "invitation",
        EmailKind::PasswordReset => "password reset",
        EmailKind::CampaignInvitation => "policy acknowledgment",
        EmailKind::CampaignReminder => "policy reminder",
        EmailKind::SlaWarning => "SLA warning",
        EmailKind::SlaBreach => "SLA breach",
        EmailKind::TicketReply => "ticket reply",
        EmailKind::ChatWaiting => "waiting chat",
    }
}

/// The fields of an email's content, read leniently: a missing field reads
/// as a neutral word rather than failing the delivery.
struct Content<'a>(&'a Value);

impl Content<'_> {
    fn opt(&self, field: &str) -> Option<String> {
        match self.0.get(field)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn get(&self, field: &str, otherwise: &str) -> String {
        self.opt(field).unwrap_or_else(|| otherwise.to_owned())
    }

    /// An instant as people read it, in UTC.
    fn when(&self, field: &str) -> Option<String> {
        let raw = self.opt(field)?;
        Some(match DateTime::parse_from_rfc3339(&raw) {
            Ok(t) => t
                .with_timezone(&Utc)
                .format("%A %-d %B %Y, %H:%M UTC")
                .to_string(),
            Err(_) => raw,
        })
    }

    fn link(&self) -> Option<String> {
        self.opt("link")
    }
}

fn message(kind: EmailKind, c: &Content<'_>, org: &str) -> Message {
    let name = c.get("recipient_name", "there");
    let hello = format!("Hello {name},");
    match kind {
        EmailKind::Invitation => {
            let inviter = c.get("inviter_name", "Someone");
            let mut paragraphs = vec![format!(
                "{inviter} invited you to join {org} on Regentra{}.",
                c.opt("role")
                    .map(|r| format!(" as {}", r.replace('_', " ")))
                    .unwrap_or_default()
            )];
            if let Some(until) = c.when("expires_at") {
                paragraphs.push(format!("The invitation works once, until {until}."));
            }
            Message {
                subject: format!("{inviter} invited you to {org}"),
                heading: format!("Join {org}"),
                paragraphs,
                quote: None,
                action: Some(("Accept the invitation", c.link())),
                why: "You received this because someone invited this address. If you did not \
                      expect it, ignore this email: nothing happens unless you accept."
                    .into(),
            }
        }
        EmailKind::PasswordReset => {
            // `org` is "Regentra" for the product's own reset and the
            // portal's name for a reset asked for on a client's portal.
            let mut paragraphs = vec![
                hello,
                format!("Someone (we hope you) asked to reset the password of your {org} account."),
            ];
            if let Some(until) = c.when("expires_at") {
                paragraphs.push(format!("The link works once, until {until}."));
            }
            Message {
                subject: "Reset your password".into(),
                heading: "Choose a new password".into(),
                paragraphs,
                quote: None,
                action: Some(("Choose a new password", c.link())),
                why: "You received this because a password reset was asked for this address. \
                      If it was not you, ignore this email: your password stays as it is."
                    .into(),
            }
        }
        EmailKind::CampaignInvitation => {
            let policy = c.get("policy_title", "a policy");
            let due = c.when("due").unwrap_or_else(|| "its due date".into());
            Message {
                subject: format!("Please read and acknowledge: {policy}"),
                heading: format!("{policy} is waiting for your signature"),
                paragraphs: vec![
                    hello,
                    format!(
                        "{org} asks you to read and acknowledge {policy}{} by {due}.",
                        c.opt("version")
                            .map(|v| format!(" (version {v})"))
                            .unwrap_or_default()
                    ),
                ],
                quote: None,
                action: Some(("Read and sign", c.link())),
                why: format!(
                    "You received this because {org} included you in its \"{}\" campaign.",
                    c.get("campaign_title", &policy)
                ),
            }
        }
        EmailKind::CampaignReminder => {
            let policy = c.get("policy_title", "a policy");
            let due = c.when("due").unwrap_or_else(|| "its due date".into());
            let overdue = c.0.get("overdue").and_then(Value::as_bool) == Some(true);
            Message {
                subject: if overdue {
                    format!("Overdue: please acknowledge {policy}")
                } else {
                    format!("Reminder: please acknowledge {policy} by {due}")
                },
                heading: format!("{policy} still needs your signature"),
                paragraphs: vec![
                    hello,
                    if overdue {
                        format!(
                            "Your acknowledgment of {policy} was due {due}. Please sign it now."
                        )
                    } else {
                        format!(
                            "{org} is still waiting for your acknowledgment of {policy}, due {due}."
                        )
                    },
                ],
                quote: None,
                action: Some(("Read and sign", c.link())),
                why: format!(
                    "You received this because your acknowledgment in {org}'s \"{}\" campaign is pending.",
                    c.get("campaign_title", &policy)
                ),
            }
        }
        EmailKind::SlaWarning | EmailKind::SlaBreach => {
            let number = c.get("ticket_number", "?");
            let subject_line = c.get("ticket_subject", "a ticket");
            let clock = c.get("clock", "resolution");
            let due = c.when("due");
            let breach = kind == EmailKind::SlaBreach;
            let state = match (breach, due) {
                (true, Some(due)) => format!("The {clock} target was due {due} and has passed."),
                (true, None) => format!("The {clock} target has passed."),
                (false, Some(due)) => format!("The {clock} target is due {due}."),
                (false, None) => format!("The {clock} target is near."),
            };
            Message {
                subject: format!(
                    "{} ticket #{number}: {subject_line}",
                    if breach {
                        "SLA breached on"
                    } else {
                        "SLA warning on"
                    }
                ),
                heading: format!("Ticket #{number}: {subject_line}"),
                paragraphs: vec![
                    hello,
                    format!(
                        "{state} The ticket is {} priority, in {org}.",
                        c.get("priority", "its")
                    ),
                ],
                quote: None,
                action: Some(("Open the ticket", c.link())),
                why: format!(
                    "You received this because you work this ticket or {org}'s SLA policy names you."
                ),
            }
        }
        EmailKind::TicketReply => {
            let number = c.get("ticket_number", "?");
            let subject_line = c.get("ticket_subject", "your ticket");
            let replier = c.get("replier_name", "Support");
            Message {
                subject: format!("Re: [#{number}] {subject_line}"),
                heading: format!("{replier} replied to your ticket"),
                paragraphs: vec![
                    hello,
                    format!("{replier} replied to ticket #{number}, \"{subject_line}\":"),
                ],
                quote: c.opt("reply"),
                action: Some(("View your ticket", c.link())),
                why: format!("You received this because you opened this ticket with {org}."),
            }
        }
        EmailKind::ChatWaiting => {
            let requester = c.get("requester_name", "Someone");
            Message {
                subject: format!("{requester} is waiting in a chat ({org})"),
                heading: "A chat is waiting".into(),
                paragraphs: vec![
                    hello,
                    format!(
                        "{requester} started a chat with {org} and is waiting for a technician:"
                    ),
                ],
                quote: c.opt("message"),
                action: Some(("Open the chat", c.link())),
                why: format!("You received this because you are a technician of {org}."),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn email(kind: EmailKind, content: Value) -> OutgoingEmail {
        let now = Utc::now();
        OutgoingEmail {
            id: regentra_core::ids::EmailId(uuid::Uuid::nil()),
            org: None,
            to: "erin@acme.test".into(),
            recipient: None,
            kind,
            content,
            state: regentra_core::mail::EmailState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }

    #[test]
    fn names_and_links_are_escaped_in_html_and_plain_in_text() {
        let e = email(
            EmailKind::TicketReply,
            json!({
                "org_name": "Acme <Dental>",
                "msp_name": "Northwind IT",
                "recipient_name": "Erin \"E\"",
                "ticket_number": 7,
                "ticket_subject": "Printer <script>alert(1)</script>",
                "replier_name": "Tom",
                "reply": "Try tray 2\n<b>now</b>",
                "link": "/portal/acme/tickets/1",
            }),
        );
        let branding = Branding {
            primary_color: Some("#112233".into()),
            accent_color: Some("red;background:url(x)".into()),
            logo_url: Some("javascript:alert(1)".into()),
            ..Branding::default()
        };
        let r = render(&e, Some(&branding), "https://help.example/").expect("renders");
        assert_eq!(r.subject, "Re: [#7] Printer <script>alert(1)</script>");
        assert_eq!(r.sender, "Northwind IT on behalf of Acme <Dental>");
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(
            r.html.contains("Printer &#60;script&#62;")
                || r.html.contains("Printer &lt;script&gt;")
        );
        assert!(
            r.html
                .contains("https://help.example/portal/acme/tickets/1")
        );
        assert!(r.html.contains("#112233"));
        assert!(!r.html.contains("url(x)"), "a bad color is replaced");
        assert!(
            !r.html.contains("javascript:"),
            "a non-https logo is left out"
        );
        assert!(r.text.contains("> <b>now</b>"), "{}", r.text);
        assert!(
            r.text
                .contains("View your ticket: https://help.example/portal/acme/tickets/1")
        );
        assert!(r.text.contains("turn off ticket reply emails"));
    }

    #[test]
    fn required_kinds_say_why_but_offer_no_opt_out() {
        let e = email(
            EmailKind::PasswordReset,
            json!({ "link": "/reset?token=abc", "expires_at": "2026-11-30T10:00:00Z" }),
        );
        let r = render(&e, None, "http://127.0.0.1:8080").expect("renders");
        assert_eq!(r.subject, "Reset your password");
        assert!(r.text.contains("http://127.0.0.1:8080/reset?token=abc"));
        assert!(r.text.contains("Monday 30 November 2026, 10:00 UTC"));
        assert!(!r.text.contains("turn off"));
        assert!(r.text.contains("your Regentra account"), "{}", r.text);
        let foreign = email(
            EmailKind::Invitation,
            json!({ "link": "https://evil.example/x", "org_name": "Acme" }),
        );
        let r = render(&foreign, None, "http://127.0.0.1:8080").expect("renders");
        assert!(
            !r.html.contains("evil.example"),
            "only paths of ours become links"
        );
    }

    #[test]
    fn a_reset_asked_for_on_a_portal_comes_from_the_portals_org() {
        let mut e = email(
            EmailKind::PasswordReset,
            json!({
                "link": "/portal/acme/reset-password?token=rgr_x",
                "recipient_name": "Ann Example",
                "org_name": "Acme Dental",
                "msp_name": "Northwind IT",
            }),
        );
        e.org = Some(regentra_core::ids::OrgId(uuid::Uuid::nil()));
        let branding = Branding {
            display_name: Some("Acme help desk".into()),
            primary_color: Some("#0b5394".into()),
            ..Branding::default()
        };
        let r = render(&e, Some(&branding), "https://help.example").expect("renders");
        assert_eq!(r.sender, "Northwind IT on behalf of Acme help desk");
        assert!(r.text.contains("Hello Ann Example,"), "{}", r.text);
        assert!(r.text.contains("your Acme help desk account"), "{}", r.text);
        assert!(
            r.text
                .contains("https://help.example/portal/acme/reset-password?token=rgr_x")
        );
        assert!(r.html.contains("#0b5394"));
    }
}
