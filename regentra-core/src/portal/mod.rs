//! The client portal: per-tenant settings (enabled, slug and hostname,
//! branding, whether the compliance dashboard and people's own assets are
//! shown) and the platform-wide
//! routing from a slug to its tenant.
//!
//! Settings are one [`PortalSettings`] record in the org (id = the org's
//! uuid); an org that never saved any has [`PortalSettings::defaults`]. The
//! portal is served at `/portal/{slug}` for every tenant, so slugs (and
//! hostnames) must be unique across the whole platform, which an org-scoped
//! index cannot promise. An org with an address therefore also holds one
//! platform-scoped [`PortalRoute`] whose unique index entries claim it,
//! written in the same change set as the settings so the two always agree.
//!
//! A custom host name is different: anyone can type another company's name
//! into their settings, and the page served there would speak for that
//! company. So saving a host name only *claims* it ([`HostnameClaim`], one
//! per org, with a fresh token from the injected entropy); a claim blocks
//! nobody, and several orgs may claim the same name. The name joins the
//! platform route (and is served) only once the claim is verified: the org
//! publishes `_regentra-challenge.<hostname>` TXT `regentra-verify=<token>`
//! and asks for the check ([`HostnameClaim::proven_by`] over the TXT values
//! the host observed), or a platform operator approves it. The first claim
//! verified takes the route's unique `hostname` entry in the same commit;
//! the others can no longer verify while it holds it.
//!
//! This module holds the values and their rules; [`service`] holds the
//! operations.

pub mod service;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub use service::{DashboardFramework, PortalDashboard, PublicPortal};

use crate::error::{Error, FieldError, Result};
use crate::ids::OrgId;
use crate::store::{Entity, IndexEntry, Scope};

/// Slugs that would shadow the server's own paths or read as official pages.
pub const RESERVED_SLUGS: [&str; 7] = ["api", "v1", "admin", "static", "assets", "login", "portal"];

const SLUG_MIN: usize = 3;
const SLUG_MAX: usize = 63;
const HOSTNAME_MAX: usize = 253;
const LABEL_MAX: usize = 63;
const LOGO_URL_MAX: usize = 2048;
const DISPLAY_NAME_MAX: usize = 100;
const WELCOME_TEXT_MAX: usize = 2000;

/// How the portal presents the tenant. Every field is optional; the public
/// view falls back to the organization's name for `display_name`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    pub display_name: Option<String>,
    /// A logo at an https address; an uploaded logo ([`Branding::logo_file`])
    /// takes its place on the portal.
    pub logo_url: Option<String>,
    /// A logo uploaded to the platform (PNG, JPEG, GIF or WebP), served by
    /// the portal itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_file: Option<LogoFile>,
    /// `#rrggbb`, stored lowercase.
    pub primary_color: Option<String>,
    /// `#rrggbb`, stored lowercase.
    pub accent_color: Option<String>,
    pub welcome_text: Option<String>,
}

/// One org's portal configuration.
/// An uploaded logo: where its bytes are and what they are.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoFile {
    pub blob: Uuid,
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes: the logo's version in its address, so a
    /// new upload is fetched at once despite caching.
    pub sha256: String,
}

/// The largest logo accepted: a header image, not a photograph.
pub const LOGO_MAX_BYTES: usize = 512 * 1024;

/// The image type of a logo, from its first bytes (what the bytes are,
/// not what the uploader says). SVG is refused: it can carry scripts.
pub fn logo_type(bytes: &[u8]) -> std::result::Result<&'static str, &'static str> {
    if bytes.is_empty() {
        return Err("is empty");
    }
    if bytes.len() > LOGO_MAX_BYTES {
        return Err("is larger than 512 KiB");
    }
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Ok("image/png"),
        [0xff, 0xd8, 0xff, ..] => Ok("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Ok("image/gif"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Ok("image/webp"),
        _ => Err(
            "must be a PNG, JPEG, GIF or WebP image (SVG is not accepted: it can carry scripts)",
        ),
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSettings {
    pub org: OrgId,
    pub enabled: bool,
    /// The portal's address, `/portal/{slug}`; unique on the platform.
    pub slug: Option<String>,
    /// A custom host name for the portal. Saving one claims it (see
    /// [`HostnameClaim`]); it is served only once the claim is verified,
    /// and is then unique on the platform.
    pub hostname: Option<String>,
    pub branding: Branding,
    /// Whether portal users (employees included) see the compliance scores.
    pub show_compliance_dashboard: bool,
    /// Whether the portal shows each person the assets assigned to them
    /// (absent from settings saved before it existed: off).
    #[serde(default)]
    pub show_assets: bool,
    pub updated_at: DateTime<Utc>,
}

impl Entity for PortalSettings {
    const KIND: &'static str = "portal_settings";
    const NAME: &'static str = "portal settings";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    /// One record per org, so the org's own id names it: no index needed to
    /// find it, and two first writes collide instead of making two records.
    fn id(&self) -> Uuid {
        self.org.0
    }
}

/// Where a host name's owner publishes the proof of control: this label
/// under the host name, as a TXT record.
pub const CHALLENGE_LABEL: &str = "_regentra-challenge";
/// The TXT value is this prefix and the claim's token.
pub const CHALLENGE_PREFIX: &str = "regentra-verify=";

/// Where a host name claim stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostnameStatus {
    /// Claimed, not proven: not served, blocks nobody.
    Pending,
    /// Proven (or approved): served, and the platform route holds the name.
    Verified,
}

/// How a claim was verified.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifiedBy {
    /// The TXT challenge record was found with the claim's token.
    Dns,
    /// A platform operator approved it.
    Operator,
}

/// An org's claim on the host name of its portal settings. One per org
/// (id = the org's uuid), replaced with a new token whenever the host name
/// changes, removed with it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostnameClaim {
    pub org: OrgId,
    pub hostname: String,
    /// 64 hex digits from the injected entropy; not a secret (it is
    /// published in DNS), but unguessable, so one org's record never
    /// proves another org's claim.
    pub token: String,
    pub status: HostnameStatus,
    pub verified_by: Option<VerifiedBy>,
    pub claimed_at: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
}

impl Entity for HostnameClaim {
    const KIND: &'static str = "hostname_claim";
    const NAME: &'static str = "hostname claim";
    fn scope(&self) -> Scope {
        Scope::Org(self.org)
    }
    fn id(&self) -> Uuid {
        self.org.0
    }
}

impl HostnameClaim {
    /// A pending claim on `hostname` with `token`.
    pub fn new(org: OrgId, hostname: String, token: String, at: DateTime<Utc>) -> Self {
        Self {
            org,
            hostname,
            token,
            status: HostnameStatus::Pending,
            verified_by: None,
            claimed_at: at,
            verified_at: None,
        }
    }

    /// The DNS name whose TXT records prove control: `_regentra-challenge.<hostname>`.
    pub fn record_name(&self) -> String {
        format!("{CHALLENGE_LABEL}.{}", self.hostname)
    }

    /// The TXT value that proves it: `regentra-verify=<token>`.
    pub fn record_value(&self) -> String {
        format!("{CHALLENGE_PREFIX}{}", self.token)
    }

    /// Whether the TXT values observed at [`Self::record_name`] prove this
    /// claim: one of them is exactly [`Self::record_value`] (surrounding
    /// blanks aside). Another org's token, a prefix of ours, or a value
    /// that merely contains ours proves nothing.
    pub fn proven_by(&self, observed: &[String]) -> bool {
        let expected = self.record_value();
        observed.iter().any(|value| value.trim() == expected)
    }

    /// This claim, verified `by` at `at`.
    pub fn verified(&self, by: VerifiedBy, at: DateTime<Utc>) -> Self {
        Self {
            status: HostnameStatus::Verified,
            verified_by: Some(by),
            verified_at: Some(at),
            ..self.clone()
        }
    }

    pub fn is_verified(&self) -> bool {
        self.status == HostnameStatus::Verified
    }
}

/// The platform's claim on a portal address. It carries nothing the public
/// could not learn from the address itself; branding stays in the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PortalRoute {
    pub(crate) org: OrgId,
    pub(crate) slug: Option<String>,
    pub(crate) hostname: Option<String>,
}

impl Entity for PortalRoute {
    const KIND: &'static str = "portal_route";
    const NAME: &'static str = "portal route";
    fn scope(&self) -> Scope {
        Scope::Platform
    }
    /// Keyed by the org, so changing the slug is an update of the same
    /// record: the store moves its unique entries in one step.
    fn id(&self) -> Uuid {
        self.org.0
    }
    fn indexes(&self) -> Vec<IndexEntry> {
        let slug = self.slug.iter().map(|s| IndexEntry::unique("slug", s));
        let host = self
            .hostname
            .iter()
            .map(|h| IndexEntry::unique("hostname", h));
        slug.chain(host).collect()
    }
}

impl PortalSettings {
    /// What an org has before it saves anything: disabled, no address, no
    /// branding, dashboard hidden.
    pub fn defaults(org: OrgId, at: DateTime<Utc>) -> Self {
        Self {
            org,
            enabled: false,
            slug: None,
            hostname: None,
            branding: Branding::default(),
            show_compliance_dashboard: false,
            show_assets: false,
            updated_at: at,
        }
    }

    /// These settings with `update` applied, and the names of the fields
    /// that actually changed (`slug`, `branding.logo_url`, ...). Every
    /// invalid field is reported in one [`Error::Validation`]. `updated_at`
    /// is left for the caller to stamp.
    pub fn updated(&self, update: PortalUpdate) -> Result<(PortalSettings, Vec<&'static str>)> {
        let mut errors = Vec::new();
        let mut next = self.clone();
        if let Some(enabled) = update.enabled {
            next.enabled = enabled;
        }
        if let Some(show) = update.show_compliance_dashboard {
            next.show_compliance_dashboard = show;
        }
        if let Some(show) = update.show_assets {
            next.show_assets = show;
        }
        let mut text =
            |target: &mut Option<String>,
             change: Option<Option<String>>,
             field: &'static str,
             rule: Rule| { set_text(target, change, field, rule, &mut errors) };
        text(&mut next.slug, update.slug, "slug", slug_rule);
        text(
            &mut next.hostname,
            update.hostname,
            "hostname",
            hostname_rule,
        );
        let (b, u) = (&mut next.branding, update.branding);
        let colors_set = [
            (
                "branding.primary_color",
                matches!(u.primary_color, Some(Some(_))),
            ),
            (
                "branding.accent_color",
                matches!(u.accent_color, Some(Some(_))),
            ),
        ];
        text(
            &mut b.display_name,
            u.display_name,
            "branding.display_name",
            display_name_rule,
        );
        text(
            &mut b.logo_url,
            u.logo_url,
            "branding.logo_url",
            logo_url_rule,
        );
        text(
            &mut b.primary_color,
            u.primary_color,
            "branding.primary_color",
            color_rule,
        );
        text(
            &mut b.accent_color,
            u.accent_color,
            "branding.accent_color",
            color_rule,
        );
        text(
            &mut b.welcome_text,
            u.welcome_text,
            "branding.welcome_text",
            welcome_text_rule,
        );
        for (field, set) in colors_set {
            let value = if field == "branding.primary_color" {
                &b.primary_color
            } else {
                &b.accent_color
            };
            let valid = !errors.iter().any(|e| e.field == field);
            if let (true, true, Some(color)) = (set, valid, value.as_deref())
                && let Some(problem) = contrast_problem(color)
            {
                errors.push(FieldError::new(field, problem));
            }
        }
        // A portal with no address cannot be reached; report it once, on
        // the slug, unless the slug itself was already rejected.
        if next.enabled && next.slug.is_none() && !errors.iter().any(|e| e.field == "slug") {
            errors.push(FieldError::new("slug", "an enabled portal needs a slug"));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let changed = changed_fields(self, &next);
        Ok((next, changed))
    }

    /// The routing record these settings need, if they hold any address:
    /// the slug, and the host name only when its claim is verified (an
    /// unverified name must block nobody).
    pub(crate) fn route(&self, hostname_verified: bool) -> Option<PortalRoute> {
        let hostname = self.hostname.clone().filter(|_| hostname_verified);
        (self.slug.is_some() || hostname.is_some()).then(|| PortalRoute {
            org: self.org,
            slug: self.slug.clone(),
            hostname,
        })
    }

    /// The audit detail of an update: which fields changed and their new values.
    pub(crate) fn change_details(&self, changed: &[&'static str]) -> Value {
        let body = json!(self);
        let to: Map<String, Value> = changed
            .iter()
            .map(|field| {
                let pointer = format!("/{}", field.replace('.', "/"));
                let value = body.pointer(&pointer).cloned().unwrap_or(Value::Null);
                ((*field).to_owned(), value)
            })
            .collect();
        json!({ "changed": changed, "to": to })
    }
}

/// A partial change (a PATCH): a field left out (`None`) stays as it is.
///
/// For the nullable text fields, `Some(None)` (JSON `null`) clears the value
/// and `Some(Some(text))` sets it; so `{"slug": null}` removes the slug while
/// `{}` leaves it alone.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalUpdate {
    pub enabled: Option<bool>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub slug: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub hostname: Option<Option<String>>,
    #[serde(default)]
    pub branding: BrandingUpdate,
    pub show_compliance_dashboard: Option<bool>,
    pub show_assets: Option<bool>,
}

/// A partial change to the branding, with [`PortalUpdate`]'s convention:
/// `None` keeps, `Some(None)` clears, `Some(Some(text))` sets.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrandingUpdate {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub logo_url: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_color: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub accent_color: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub welcome_text: Option<Option<String>>,
}

/// Serde maps both a missing field and `null` to the outer `None` of an
/// `Option<Option<T>>`; a field that is present (even as `null`) must be
/// `Some`, so that `null` can mean "clear".
fn nullable<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A text field's rule: the value to store (`None` clears) or what is wrong.
type Rule = fn(&str) -> std::result::Result<Option<String>, &'static str>;

fn set_text(
    target: &mut Option<String>,
    change: Option<Option<String>>,
    field: &'static str,
    rule: Rule,
    errors: &mut Vec<FieldError>,
) {
    match change {
        None => {}
        Some(None) => *target = None,
        Some(Some(raw)) => match rule(&raw) {
            Ok(value) => *target = value,
            Err(message) => errors.push(FieldError::new(field, message)),
        },
    }
}

fn changed_fields(before: &PortalSettings, after: &PortalSettings) -> Vec<&'static str> {
    let (b, a) = (&before.branding, &after.branding);
    [
        ("enabled", before.enabled != after.enabled),
        ("slug", before.slug != after.slug),
        ("hostname", before.hostname != after.hostname),
        ("branding.display_name", b.display_name != a.display_name),
        ("branding.logo_url", b.logo_url != a.logo_url),
        ("branding.primary_color", b.primary_color != a.primary_color),
        ("branding.accent_color", b.accent_color != a.accent_color),
        ("branding.welcome_text", b.welcome_text != a.welcome_text),
        (
            "show_compliance_dashboard",
            before.show_compliance_dashboard != after.show_compliance_dashboard,
        ),
        ("show_assets", before.show_assets != after.show_assets),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect()
}

/// Why `slug` cannot be a portal slug, if it cannot. Taken as given, not
/// lowercased: the address users type must be the one that was saved.
pub(crate) fn slug_problem(slug: &str) -> Option<&'static str> {
    let lower_alnum_dash = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if !slug.chars().all(lower_alnum_dash) {
        Some("may contain only lowercase letters, digits and '-'")
    } else if !(SLUG_MIN..=SLUG_MAX).contains(&slug.len()) {
        Some("must be 3 to 63 characters")
    } else if slug.starts_with('-') || slug.ends_with('-') {
        Some("must not start or end with '-'")
    } else if RESERVED_SLUGS.contains(&slug) {
        Some("is reserved")
    } else {
        None
    }
}

/// The host name a request's `Host` names, as a portal's host name would
/// be written: lower case, without a port or a trailing dot. `None` when
/// it could not be any portal's (an IP address, a bare word, bad
/// characters), so a host need not look it up.
pub fn host_of_request(host: &str) -> Option<String> {
    let host = host.trim().to_ascii_lowercase();
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host.as_str(),
    };
    let host = host.trim_end_matches('.');
    match hostname_rule(host) {
        Ok(Some(name)) => Some(name),
        _ => None,
    }
}

fn slug_rule(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    match slug_problem(raw) {
        Some(problem) => Err(problem),
        None => Ok(Some(raw.to_owned())),
    }
}

fn hostname_rule(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    let dns_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    if !raw.chars().all(dns_char) {
        return Err("must be a lowercase DNS name (a-z, 0-9, '-' and '.')");
    }
    if raw.len() > HOSTNAME_MAX {
        return Err("must be at most 253 characters");
    }
    let labels: Vec<&str> = raw.split('.').collect();
    if labels.len() < 2 {
        return Err("must be a full host name such as portal.example.com");
    }
    for label in &labels {
        if label.is_empty() || label.len() > LABEL_MAX {
            return Err("every label must be 1 to 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("labels must not start or end with '-'");
        }
    }
    // A numeric top-level label means an IP address, which no certificate
    // for a tenant's own name would cover.
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("must be a host name, not an IP address");
    }
    Ok(Some(raw.to_owned()))
}

fn display_name_rule(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        Err("must not be blank (send null to use the organization's name)")
    } else if name.chars().count() > DISPLAY_NAME_MAX {
        Err("must be at most 100 characters")
    } else if name.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(Some(name.to_owned()))
    }
}

fn logo_url_rule(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    if raw.chars().count() > LOGO_URL_MAX {
        return Err("must be at most 2048 characters");
    }
    // Portal pages are served over https; a plain-http logo would be
    // blocked as mixed content, and other schemes (javascript:, data:) are
    // not images we want to embed.
    let Some(rest) = raw.strip_prefix("https://") else {
        return Err("must be an https:// address");
    };
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("must name a host after https://");
    }
    Ok(Some(raw.to_owned()))
}

fn color_rule(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    match raw.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) => {
            Ok(Some(raw.to_ascii_lowercase()))
        }
        _ => Err("must be a #rrggbb hex color"),
    }
}

/// WCAG 2.1 level AA: text of normal size needs a contrast ratio of at
/// least 4.5:1 with its background.
pub const MIN_TEXT_CONTRAST: f64 = 4.5;

/// Portal pages and emails put white text on both brand colors (the
/// header, buttons, links on white): a color that gives white text less
/// than [`MIN_TEXT_CONTRAST`] is refused, with its ratio and the nearest
/// darker shade of the same hue that passes.
fn contrast_problem(color: &str) -> Option<String> {
    let rgb = parse_hex(color)?;
    let ratio = contrast_ratio(rgb, [255, 255, 255]);
    (ratio < MIN_TEXT_CONTRAST).then(|| {
        format!(
            "gives white text a contrast of only {:.1}:1, and WCAG AA needs {MIN_TEXT_CONTRAST}:1 \
             for text to be readable; a darker shade such as {} passes",
            (ratio * 10.0).floor() / 10.0,
            darkened_to_contrast(rgb)
        )
    })
}

fn parse_hex(color: &str) -> Option<[u8; 3]> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// The WCAG relative luminance of an sRGB color.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// The WCAG contrast ratio of two colors (1 to 21).
pub fn contrast_ratio(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

/// The lightest shade of `rgb` (its channels scaled down together, so the
/// hue stays) that gives white text enough contrast.
fn darkened_to_contrast(rgb: [u8; 3]) -> String {
    let shade = |factor: f64| rgb.map(|c| (f64::from(c) * factor).floor() as u8);
    let passing = (0..=100)
        .rev()
        .map(|percent| shade(f64::from(percent) / 100.0))
        .find(|c| contrast_ratio(*c, [255, 255, 255]) >= MIN_TEXT_CONTRAST)
        .unwrap_or([0, 0, 0]);
    format!("#{:02x}{:02x}{:02x}", passing[0], passing[1], passing[2])
}

fn welcome_text_rule(raw: &str) -> std::result::Result<Option<String>, &'static str> {
    let text = raw.trim();
    let allowed_control = |c: char| matches!(c, '\n' | '\r' | '\t');
    if text.chars().count() > WELCOME_TEXT_MAX {
        Err("must be at most 2000 characters")
    } else if text.chars().any(|c| c.is_control() && !allowed_control(c)) {
        Err("must not contain control characters other than line breaks and tabs")
    } else {
        // Blank text means "no welcome text", not a blank paragraph.
        Ok((!text.is_empty()).then(|| text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn base() -> PortalSettings {
        let at = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid instant");
        PortalSettings::defaults(OrgId(Uuid::from_u128(1)), at)
    }

    fn set(value: &str) -> Option<Option<String>> {
        Some(Some(value.to_owned()))
    }

    /// The fields a rejected update names, or an empty list if accepted.
    fn rejected(update: PortalUpdate) -> Vec<String> {
        match base().updated(update) {
            Ok(_) => Vec::new(),
            Err(Error::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn slug(value: &str) -> PortalUpdate {
        PortalUpdate {
            slug: set(value),
            ..Default::default()
        }
    }

    fn hostname(value: &str) -> PortalUpdate {
        PortalUpdate {
            hostname: set(value),
            ..Default::default()
        }
    }

    fn branding(branding: BrandingUpdate) -> PortalUpdate {
        PortalUpdate {
            branding,
            ..Default::default()
        }
    }

    #[test]
    fn portal_slug_rules() {
        for good in ["acme", "acme-dental", "a1b", "123", &"x".repeat(63)] {
            assert_eq!(rejected(slug(good)), Vec::<String>::new(), "{good}");
        }
        let too_long = "x".repeat(64);
        for bad in [
            "ab",
            too_long.as_str(),
            "Acme",
            "acme dental",
            "acme_dental",
            "-acme",
            "acme-",
            "ac.me",
            "",
            "ａｃｍｅ",
        ] {
            assert_eq!(rejected(slug(bad)), ["slug"], "{bad:?}");
        }
        for reserved in RESERVED_SLUGS {
            assert_eq!(rejected(slug(reserved)), ["slug"], "{reserved}");
        }
    }

    #[test]
    fn portal_enabling_needs_a_slug() {
        let enable = |slug: Option<Option<String>>| PortalUpdate {
            enabled: Some(true),
            slug,
            ..Default::default()
        };
        assert_eq!(rejected(enable(None)), ["slug"]);
        assert_eq!(rejected(enable(set("acme"))), Vec::<String>::new());
        // An invalid slug is reported once, not also as missing.
        assert_eq!(rejected(enable(set("ab"))), ["slug"]);
        // Clearing the slug of an enabled portal is the same mistake.
        let (enabled, _) = base().updated(enable(set("acme"))).expect("valid");
        let clear = PortalUpdate {
            slug: Some(None),
            ..Default::default()
        };
        match enabled.updated(clear) {
            Err(Error::Validation(errors)) => assert_eq!(errors[0].field, "slug"),
            other => panic!("clearing an enabled portal's slug: {other:?}"),
        }
    }

    #[test]
    fn portal_hostname_rules() {
        for good in ["portal.acme.test", "a.io", "x-1.example.co.uk"] {
            assert_eq!(rejected(hostname(good)), Vec::<String>::new(), "{good}");
        }
        let long_label = format!("{}.test", "a".repeat(64));
        let long_name = format!("{}test", "abcdefghi.".repeat(26));
        for bad in [
            "localhost",
            "Portal.Acme.test",
            "portal..acme.test",
            ".acme.test",
            "acme.test.",
            "-acme.test",
            "acme-.test",
            "acme_dental.test",
            "https://acme.test",
            "10.0.0.1",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert_eq!(rejected(hostname(bad)), ["hostname"], "{bad:?}");
        }
    }

    #[test]
    fn portal_color_rules() {
        let colors = |primary: &str, accent: &str| {
            branding(BrandingUpdate {
                primary_color: set(primary),
                accent_color: set(accent),
                ..Default::default()
            })
        };
        assert_eq!(rejected(colors("#0a1B2c", "#1E6B3A")), Vec::<String>::new());
        let (saved, _) = base().updated(colors("#0a1B2c", "#1E6B3A")).expect("valid");
        assert_eq!(saved.branding.primary_color.as_deref(), Some("#0a1b2c"));
        for bad in ["0a1b2c", "#abc", "#0a1b2g", "#0a1b2c3", "red", ""] {
            assert_eq!(
                rejected(colors(bad, bad)),
                ["branding.primary_color", "branding.accent_color"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn brand_colors_that_white_text_cannot_be_read_on_are_refused_with_a_shade_that_passes() {
        let colors = |primary: &str, accent: &str| {
            branding(BrandingUpdate {
                primary_color: set(primary),
                accent_color: set(accent),
                ..Default::default()
            })
        };
        // Pale yellow and mid grey (#999999 gives 2.8:1) fail; navy passes.
        let error = base()
            .updated(colors("#ffeb3b", "#999999"))
            .expect_err("low contrast");
        let Error::Validation(errors) = error else {
            panic!("a validation error")
        };
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["branding.primary_color", "branding.accent_color"]
        );
        assert!(errors[1].message.contains("2.8:1"), "{}", errors[1].message);
        // The suggested shade passes, and is the lightest that does.
        for e in &errors {
            let suggested = e.message.rsplit("such as ").next().expect("a shade");
            let suggested = suggested.split_whitespace().next().expect("a shade");
            let rgb = parse_hex(suggested).expect("a #rrggbb shade");
            assert!(contrast_ratio(rgb, [255, 255, 255]) >= MIN_TEXT_CONTRAST);
            assert_eq!(rejected(colors(suggested, suggested)), Vec::<String>::new());
        }
        // WCAG's own reference points.
        assert!((contrast_ratio([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio([0x76, 0x76, 0x76], [255, 255, 255]) - 4.54).abs() < 0.01);
    }

    #[test]
    fn portal_logo_url_rules() {
        let logo = |url: &str| {
            branding(BrandingUpdate {
                logo_url: set(url),
                ..Default::default()
            })
        };
        let longest = format!("https://cdn.acme.test/{}", "a".repeat(2048 - 22));
        for good in ["https://cdn.acme.test/logo.png", longest.as_str()] {
            assert_eq!(rejected(logo(good)), Vec::<String>::new(), "{good}");
        }
        let too_long = format!("{longest}a");
        for bad in [
            "http://cdn.acme.test/logo.png",
            "javascript:alert(1)",
            "//cdn.acme.test/logo.png",
            "https://",
            "https:///logo.png",
            "https://cdn.acme.test/my logo.png",
            too_long.as_str(),
        ] {
            assert_eq!(rejected(logo(bad)), ["branding.logo_url"], "{bad:?}");
        }
    }

    #[test]
    fn portal_display_name_rules() {
        let name = |value: &str| {
            branding(BrandingUpdate {
                display_name: set(value),
                ..Default::default()
            })
        };
        let (saved, _) = base().updated(name("  Acme Portal ")).expect("valid");
        assert_eq!(saved.branding.display_name.as_deref(), Some("Acme Portal"));
        assert_eq!(rejected(name(&"é".repeat(100))), Vec::<String>::new());
        for bad in ["", "   ", &"é".repeat(101), "Acme\u{7}"] {
            assert_eq!(rejected(name(bad)), ["branding.display_name"], "{bad:?}");
        }
    }

    #[test]
    fn portal_welcome_text_rules() {
        let text = |value: &str| {
            branding(BrandingUpdate {
                welcome_text: set(value),
                ..Default::default()
            })
        };
        let (saved, _) = base()
            .updated(text("Welcome!\n\nAsk us\tanything."))
            .expect("valid");
        assert_eq!(
            saved.branding.welcome_text.as_deref(),
            Some("Welcome!\n\nAsk us\tanything.")
        );
        assert_eq!(rejected(text(&"w".repeat(2000))), Vec::<String>::new());
        let (blank, _) = base().updated(text("  ")).expect("blank clears");
        assert_eq!(blank.branding.welcome_text, None);
        for bad in [&"w".repeat(2001), "Welcome\u{0}"] {
            assert_eq!(rejected(text(bad)), ["branding.welcome_text"], "{bad:?}");
        }
    }

    #[test]
    fn portal_errors_are_collected_in_one_answer() {
        let update = PortalUpdate {
            enabled: Some(true),
            slug: set("API"),
            hostname: set("not a host"),
            branding: BrandingUpdate {
                display_name: set(" "),
                logo_url: set("ftp://x"),
                primary_color: set("blue"),
                accent_color: set("#12345"),
                welcome_text: set(&"w".repeat(2001)),
            },
            show_compliance_dashboard: Some(true),
            show_assets: Some(true),
        };
        assert_eq!(
            rejected(update),
            [
                "slug",
                "hostname",
                "branding.display_name",
                "branding.logo_url",
                "branding.primary_color",
                "branding.accent_color",
                "branding.welcome_text",
            ]
        );
    }

    #[test]
    fn settings_saved_before_the_assets_setting_read_as_not_showing_them() {
        let mut stored = serde_json::to_value(base()).expect("json");
        stored
            .as_object_mut()
            .expect("an object")
            .remove("show_assets");
        let read: PortalSettings = serde_json::from_value(stored).expect("still reads");
        assert!(!read.show_assets);
        let (after, changed) = read
            .updated(PortalUpdate {
                show_assets: Some(true),
                ..Default::default()
            })
            .expect("valid");
        assert!(after.show_assets);
        assert_eq!(changed, ["show_assets"]);
    }

    #[test]
    fn portal_update_reports_only_what_changed() {
        let update = PortalUpdate {
            slug: set("acme"),
            show_compliance_dashboard: Some(false),
            branding: BrandingUpdate {
                welcome_text: Some(None),
                primary_color: set("#112233"),
                ..Default::default()
            },
            ..Default::default()
        };
        let (after, changed) = base().updated(update).expect("valid");
        assert_eq!(changed, ["slug", "branding.primary_color"]);
        assert_eq!(
            after.change_details(&changed),
            json!({
                "changed": ["slug", "branding.primary_color"],
                "to": { "slug": "acme", "branding.primary_color": "#112233" },
            })
        );
        let (_, none) = after.updated(PortalUpdate::default()).expect("valid");
        assert!(none.is_empty());
    }

    #[test]
    fn portal_update_json_tells_null_from_missing() {
        let parse = |text: &str| {
            serde_json::from_str::<PortalUpdate>(text).unwrap_or_else(|e| panic!("{text}: {e}"))
        };
        assert_eq!(parse("{}"), PortalUpdate::default());
        assert_eq!(parse(r#"{"slug": null}"#).slug, Some(None));
        assert_eq!(parse(r#"{"slug": "acme"}"#).slug, set("acme"));
        let logo = parse(r#"{"branding": {"logo_url": null}}"#).branding;
        assert_eq!((logo.logo_url, logo.display_name), (Some(None), None));
        assert!(serde_json::from_str::<PortalUpdate>(r#"{"slgu": "acme"}"#).is_err());
        // Serializing leaves untouched fields out, so the value round trips.
        let update = PortalUpdate {
            hostname: Some(None),
            ..Default::default()
        };
        let text = serde_json::to_string(&update).expect("serializes");
        assert_eq!(parse(&text), update);
    }

    #[test]
    fn portal_routes_claim_slug_and_hostname() {
        let mut settings = base();
        assert_eq!(settings.route(true), None);
        settings.hostname = Some("portal.acme.test".into());
        assert_eq!(
            settings.route(false),
            None,
            "an unverified host name claims nothing on the platform"
        );
        settings.slug = Some("acme".into());
        assert_eq!(
            settings.route(false).expect("the slug").indexes(),
            [IndexEntry::unique("slug", "acme")]
        );
        let route = settings.route(true).expect("an address");
        assert_eq!(route.id(), settings.org.0);
        assert_eq!(route.scope(), Scope::Platform);
        assert_eq!(
            route.indexes(),
            [
                IndexEntry::unique("slug", "acme"),
                IndexEntry::unique("hostname", "portal.acme.test"),
            ]
        );
    }

    #[test]
    fn a_hostname_claim_is_proven_only_by_its_own_token() {
        let at = base().updated_at;
        let claim = HostnameClaim::new(
            OrgId(Uuid::from_u128(1)),
            "help.acme.test".into(),
            "ab".repeat(32),
            at,
        );
        assert_eq!(claim.record_name(), "_regentra-challenge.help.acme.test");
        let ours = format!("regentra-verify={}", "ab".repeat(32));
        assert_eq!(claim.record_value(), ours);
        let v = |values: &[&str]| values.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(claim.proven_by(&v(&[&ours])));
        assert!(claim.proven_by(&v(&["v=spf1 -all", &format!(" {ours} ")])));
        for wrong in [
            v(&[]),
            v(&[""]),
            v(&["regentra-verify="]),
            v(&[&format!("regentra-verify={}", "cd".repeat(32))]),
            v(&[&ours[..ours.len() - 1]]),
            v(&[&format!("{ours}x")]),
            v(&[&format!("x{ours}")]),
            v(&[&"ab".repeat(32)]),
        ] {
            assert!(!claim.proven_by(&wrong), "{wrong:?}");
        }
        let verified = claim.verified(VerifiedBy::Dns, at);
        assert!(verified.is_verified() && !claim.is_verified());
        assert_eq!(verified.verified_by, Some(VerifiedBy::Dns));
    }
}
