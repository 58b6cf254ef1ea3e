//! The OpenAPI 3.1 document, generated from the handlers' annotations
//! (utoipa) and served at `GET /v1/openapi.json`. A snapshot test keeps
//! every API change visible in review.

use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::problem::{FieldErrorDoc, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Regentra API",
        description = "Multi-tenant compliance and helpdesk for MSPs. Tenant-owned resources live under `/v1/orgs/{org_id}`; another tenant's ids answer 404. Errors are `application/problem+json` (RFC 9457). Lists take `limit` (at most 500) and an opaque `cursor` (the previous page's `next_cursor`).",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldErrorDoc)),
    tags(
        (name = "account", description = "Login, the caller, tokens"),
        (name = "tenancy", description = "Organizations, clients, members, staff assignment"),
        (name = "compliance", description = "Catalog, adoption, controls, gap analysis, reports"),
        (name = "framework features", description = "SOC 2, PCI DSS, CMMC, FTC, ISO 27001 and HIPAA specifics"),
        (name = "evidence", description = "Files, links, attestations"),
        (name = "policies", description = "Policies and templates"),
        (name = "campaigns", description = "Acknowledgment campaigns"),
        (name = "sla", description = "SLA policies and their calendars"),
        (name = "tickets", description = "Tickets under SLA"),
        (name = "psa", description = "Time, assets, knowledge base"),
        (name = "chat", description = "Live chat"),
        (name = "portal", description = "The branded client portal"),
        (name = "audit", description = "Audit chain and notification outbox"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // A browser's session (`__Host-regentra_session` over https): every
        // route that takes a bearer token takes it too, and a change made
        // with it needs the session's `x-csrf-token`.
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::browser::COOKIE,
                "The session cookie the sign-in page sets. Changes made with it need the \
                 session's CSRF token (GET /v1/auth/csrf) in the x-csrf-token header.",
            ))),
        );
    }
}

/// The document of the whole API, as served.
pub fn document() -> Document {
    super::routes::api().split_for_parts().1
}
