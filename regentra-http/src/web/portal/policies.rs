//! Policies in the portal: the person's acknowledgments (the policies
//! waiting for them, with their due dates, and those they acknowledged,
//! with a receipt), a policy's page where they read the exact version a
//! campaign asks them to sign and sign it (a box to tick and their typed
//! name, which must be their account's name, loosely), and the receipt.
//!
//! The same core operations as the product's signing page and the API
//! (`my_acknowledgments`, `policy_to_sign`, `sign_acknowledgment`): the
//! signature becomes evidence in the same commit. Campaign emails link
//! here when the org has a portal; the product's signing page sends a
//! browser here too (`web::signing`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use regentra_core::Error;
use regentra_core::ids::CampaignId;
use regentra_core::policies::campaign::{MyAcknowledgment, PolicyToSign, typed_name_matches};
use regentra_core::policies::{AcknowledgmentStatus, CampaignStatus};
use regentra_core::sla::Tz;
use regentra_core::store::PageRequest;
use serde::Deserialize;

use super::{
    Nav, PortalView, Visitor, failed, local_date, local_time, not_found_page, portal, signed_in,
    zone_of,
};
use crate::server::AppState;
use crate::web::markdown::to_safe_html;
use crate::web::{Chrome, CsrfField, SessionForm, render};

/// A policy waiting for the person's signature.
struct Pending {
    href: String,
    title: String,
    version: u32,
    due: String,
    overdue: bool,
    due_at: DateTime<Utc>,
}

/// A policy the person acknowledged.
struct Signed {
    href: String,
    receipt: String,
    title: String,
    version: u32,
    signed: String,
    signed_at: DateTime<Utc>,
}

/// A campaign that closed before the person signed.
struct Missed {
    href: String,
    title: String,
    version: u32,
}

#[derive(Template)]
#[template(path = "web/portal/policies.html")]
struct ListPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    pending: Vec<Pending>,
    signed: Vec<Signed>,
    missed: Vec<Missed>,
}

#[derive(Template)]
#[template(path = "web/portal/policy.html")]
struct PolicyPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    policy: PolicyToSign,
    body_html: String,
    due: String,
    overdue: bool,
    closed: bool,
    /// When it was signed, and the receipt's address.
    signed: Option<(String, String)>,
    action: String,
    csrf_field: CsrfField,
    account_name: String,
    typed_name: String,
    agreed: bool,
    agree_error: Option<String>,
    name_error: Option<String>,
    alert: Option<String>,
}

#[derive(Template)]
#[template(path = "web/portal/receipt.html")]
struct ReceiptPage {
    chrome: Chrome,
    view: PortalView,
    nav: Option<Nav>,
    policy: PolicyToSign,
    just_signed: bool,
    typed_name: String,
    account: String,
    signed_at: String,
    version_hash: String,
    evidence: String,
    policy_href: String,
}

/// Every acknowledgment of the caller in the org. A person is asked to
/// sign a handful of policies a year, so all of them make one page; the
/// store pages them, and they are read page by page.
async fn all_acknowledgments(
    state: &AppState,
    visitor: &Visitor,
    view: &PortalView,
) -> Result<Vec<MyAcknowledgment>, Error> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .regentra
            .my_acknowledgments(
                &visitor.caller,
                view.portal.org,
                PageRequest::after(after, regentra_core::store::MAX_PAGE),
            )
            .await?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// `GET /portal/{slug}/policies`: what is waiting, and what was signed.
pub(crate) async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (view, visitor) = match signed_in(&state, &headers, &slug, uri.path()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mine = match all_acknowledgments(&state, &visitor, &view).await {
        Ok(mine) => mine,
        // A role that signs nothing (a viewer) is asked for nothing.
        Err(Error::PermissionDenied { .. }) => Vec::new(),
        Err(e) => return failed(&e),
    };
    let zone = zone_of(&state, &view).await;
    let now = state.regentra.now();
    let (mut pending, mut signed, mut missed) = (Vec::new(), Vec::new(), Vec::new());
    for m in mine {
        let (c, a) = (&m.campaign, &m.acknowledgment);
        let href = view.path(&format!("policies/{}", c.id));
        match (&a.signature, a.status, c.status) {
            (Some(s), AcknowledgmentStatus::Signed, _) => signed.push(Signed {
                receipt: format!("{href}/receipt"),
                href,
                title: m.policy_title,
                version: c.version,
                signed: local_date(zone, s.signed_at),
                signed_at: s.signed_at,
            }),
            (_, _, CampaignStatus::Open) => pending.push(Pending {
                href,
                title: m.policy_title,
                version: c.version,
                due: local_date(zone, c.due),
                overdue: now >= c.due,
                due_at: c.due,
            }),
            (_, _, CampaignStatus::Closed) => missed.push(Missed {
                href,
                title: m.policy_title,
                version: c.version,
            }),
        }
    }
    // The most pressing first; the latest signature first.
    pending.sort_by_key(|p| p.due_at);
    signed.sort_by_key(|s| std::cmp::Reverse(s.signed_at));
    render(
        StatusCode::OK,
        &ListPage {
            chrome: view.chrome("Policies").with_session(&visitor.secret),
            nav: Some(Nav::new(&view, &visitor, "policies")),
            view,
            pending,
            signed,
            missed,
        },
    )
}

/// What a signing form's page shows around the form.
struct Form {
    typed_name: String,
    /// The box was ticked: it stays ticked when the form comes back.
    agreed: bool,
    agree_error: Option<String>,
    name_error: Option<String>,
    alert: Option<String>,
}

impl Form {
    fn empty() -> Self {
        Self {
            typed_name: String::new(),
            agreed: false,
            agree_error: None,
            name_error: None,
            alert: None,
        }
    }

    fn has_errors(&self) -> bool {
        self.agree_error.is_some() || self.name_error.is_some() || self.alert.is_some()
    }
}

fn policy_page(
    status: StatusCode,
    view: PortalView,
    visitor: &Visitor,
    policy: PolicyToSign,
    form: Form,
    zone: Tz,
    now: DateTime<Utc>,
) -> Response {
    let href = view.path(&format!("policies/{}", policy.campaign.id));
    let signed = policy
        .acknowledgment
        .signature
        .as_ref()
        .filter(|_| policy.acknowledgment.status == AcknowledgmentStatus::Signed)
        .map(|s| (local_time(zone, s.signed_at), format!("{href}/receipt")));
    render(
        status,
        &PolicyPage {
            chrome: view
                .chrome(&policy.policy_title)
                .with_session(&visitor.secret),
            nav: Some(Nav::new(&view, visitor, "policies")),
            body_html: to_safe_html(&policy.version.body),
            due: local_date(zone, policy.campaign.due),
            overdue: now >= policy.campaign.due,
            closed: policy.campaign.status == CampaignStatus::Closed,
            signed,
            action: href,
            csrf_field: visitor.csrf_field(),
            account_name: visitor.name.clone(),
            typed_name: form.typed_name,
            agreed: form.agreed,
            agree_error: form.agree_error,
            name_error: form.name_error,
            alert: form.alert,
            policy,
            view,
        },
    )
}

/// The page for a campaign the core does not show this person (another
/// org's, one that does not ask them, an id that names nothing).
fn unknown(error: &Error, view: &PortalView, visitor: &Visitor) -> Response {
    match error {
        Error::NotFound { .. } | Error::PermissionDenied { .. } => {
            not_found_page(view, visitor, "policies")
        }
        other => failed(other),
    }
}

/// `GET /portal/{slug}/policies/{campaign_id}`: the policy's text and,
/// while the campaign is open and unsigned, the form to sign it.
pub(crate) async fn page(
    State(state): State<AppState>,
    Path((slug, campaign)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (view, visitor) = match signed_in(&state, &headers, &slug, uri.path()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(campaign) = campaign.parse::<CampaignId>() else {
        return not_found_page(&view, &visitor, "policies");
    };
    let policy = match state
        .regentra
        .policy_to_sign(&visitor.caller, view.portal.org, campaign)
        .await
    {
        Ok(policy) => policy,
        Err(e) => return unknown(&e, &view, &visitor),
    };
    let zone = zone_of(&state, &view).await;
    policy_page(
        StatusCode::OK,
        view,
        &visitor,
        policy,
        Form::empty(),
        zone,
        state.regentra.now(),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignForm {
    #[serde(default)]
    agree: Option<String>,
    #[serde(default)]
    typed_name: String,
}

/// `POST /portal/{slug}/policies/{campaign_id}`: signs, then the
/// receipt; what is missing is said next to its field.
pub(crate) async fn sign(
    State(state): State<AppState>,
    Path((slug, campaign)): Path<(String, String)>,
    form: SessionForm<SignForm>,
) -> Response {
    let view = match portal(&state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let SessionForm {
        caller,
        secret,
        form,
    } = form;
    let account = match state.regentra.account(&caller).await {
        Ok(account) => account,
        Err(e) => return failed(&e),
    };
    let visitor = Visitor {
        caller,
        secret,
        name: account.display_name,
        email: account.email,
    };
    let Ok(campaign) = campaign.parse::<CampaignId>() else {
        return not_found_page(&view, &visitor, "policies");
    };
    let org = view.portal.org;
    let policy = match state
        .regentra
        .policy_to_sign(&visitor.caller, org, campaign)
        .await
    {
        Ok(policy) => policy,
        Err(e) => return unknown(&e, &view, &visitor),
    };
    let receipt = view.path(&format!("policies/{campaign}/receipt"));
    if policy.acknowledgment.status == AcknowledgmentStatus::Signed {
        return Redirect::to(&receipt).into_response();
    }
    // Spacing typed by accident is not part of a signature.
    let typed_name = form
        .typed_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let agreed = form.agree.as_deref() == Some("yes");
    let mut checked = Form {
        agreed,
        agree_error: (!agreed).then(|| {
            "Tick the box to confirm that you have read and understood the policy.".to_owned()
        }),
        name_error: if typed_name.is_empty() {
            Some("Type your full name to sign.".to_owned())
        } else if !typed_name_matches(&typed_name, &visitor.name) {
            Some(format!(
                "Type your name as it is on your account: {}.",
                visitor.name
            ))
        } else {
            None
        },
        alert: None,
        typed_name,
    };
    if !checked.has_errors() {
        match state
            .regentra
            .sign_acknowledgment(&visitor.caller, org, campaign, &checked.typed_name)
            .await
        {
            Ok(_) => return Redirect::to(&format!("{receipt}?done=signed")).into_response(),
            Err(Error::AlreadyExists { .. }) => return Redirect::to(&receipt).into_response(),
            Err(Error::Validation(fields)) => {
                for f in fields {
                    if f.field == "typed_name" {
                        checked.name_error = Some(format!("Your name {}.", f.message));
                    } else {
                        checked.alert =
                            Some(format!("This policy cannot be signed: {}.", f.message));
                    }
                }
            }
            Err(e) => return unknown(&e, &view, &visitor),
        }
    }
    let zone = zone_of(&state, &view).await;
    policy_page(
        StatusCode::UNPROCESSABLE_ENTITY,
        view,
        &visitor,
        policy,
        checked,
        zone,
        state.regentra.now(),
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReceiptQuery {
    done: Option<String>,
}

/// `GET /portal/{slug}/policies/{campaign_id}/receipt`: the record of the
/// signature (who, when in the org's time zone, which version and its
/// fingerprint); the policy's page while it is not signed.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    Path((slug, campaign)): Path<(String, String)>,
    Query(query): Query<ReceiptQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let (view, visitor) = match signed_in(&state, &headers, &slug, uri.path()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(campaign) = campaign.parse::<CampaignId>() else {
        return not_found_page(&view, &visitor, "policies");
    };
    let policy = match state
        .regentra
        .policy_to_sign(&visitor.caller, view.portal.org, campaign)
        .await
    {
        Ok(policy) => policy,
        Err(e) => return unknown(&e, &view, &visitor),
    };
    let policy_href = view.path(&format!("policies/{campaign}"));
    let Some(signature) = policy
        .acknowledgment
        .signature
        .clone()
        .filter(|_| policy.acknowledgment.status == AcknowledgmentStatus::Signed)
    else {
        return Redirect::to(&policy_href).into_response();
    };
    let zone = zone_of(&state, &view).await;
    render(
        StatusCode::OK,
        &ReceiptPage {
            chrome: view
                .chrome("Acknowledgment receipt")
                .with_session(&visitor.secret),
            nav: Some(Nav::new(&view, &visitor, "policies")),
            just_signed: query.done.as_deref() == Some("signed"),
            typed_name: signature.typed_name,
            account: format!("{} ({})", visitor.name, visitor.email),
            signed_at: local_time(zone, signature.signed_at),
            version_hash: signature.version_hash,
            evidence: signature.evidence.to_string(),
            policy_href,
            policy,
            view,
        },
    )
}
