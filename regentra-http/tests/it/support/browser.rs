//! A browser for page tests, over plain HTTP: it keeps the session cookie
//! the server sets, sends an `Origin` with every form as browsers do (its
//! own, or `null` when the last page's referrer policy is `no-referrer`,
//! which is what the Fetch standard has a browser send then),
//! follows no redirect by itself, and reads what a page shows (hidden form
//! fields, field errors) from its HTML.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use std::sync::{Arc, Mutex};

/// One page (or redirect) as the browser received it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// The value of the (first) input named `name`, as the HTML carries it.
    pub fn input(&self, name: &str) -> Option<String> {
        let at = self.html.find(&format!("name=\"{name}\""))?;
        let tag_start = self.html[..at].rfind('<')?;
        let tag_end = at + self.html[at..].find('>')?;
        let tag = &self.html[tag_start..tag_end];
        let value = tag.split_once("value=\"")?.1;
        Some(unescape(&value[..value.find('"')?]))
    }

    /// The inline error shown for field `id`, if any.
    pub fn field_error(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}-error\">");
        let start = self.html.find(&marker)? + marker.len();
        let end = start + self.html[start..].find('<')?;
        Some(unescape(&self.html[start..end]))
    }

    /// Whether the page shows `text` (HTML-escaped as the page would:
    /// askama writes `&`, `<` and `>` as numeric references, other HTML
    /// as named ones).
    pub fn shows(&self, text: &str) -> bool {
        let numeric = escape(text)
            .replace("&amp;", "&#38;")
            .replace("&lt;", "&#60;")
            .replace("&gt;", "&#62;");
        self.html.contains(&escape(text)) || self.html.contains(&numeric)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// A part of a multipart form: a text field, or a file (field name, file
/// name, content type, bytes).
#[derive(Debug, Clone)]
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a str, Vec<u8>),
}

/// A browser with its own cookie (one session at a time).
#[derive(Clone)]
pub struct Browser {
    base: String,
    /// The host name the browser believes it is on, sent as `Host` (and in
    /// its `Origin`), when it is not the server's address: a portal's own
    /// host name whose DNS would lead here.
    host: Option<String>,
    client: reqwest::Client,
    cookie: Arc<Mutex<Option<String>>>,
    /// The `Referrer-Policy` of the last answer.
    referrer_policy: Arc<Mutex<String>>,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        Browser {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            host: None,
            cookie: Arc::default(),
            referrer_policy: Arc::default(),
        }
    }

    /// A browser on `host` (a name without a port), whose requests reach
    /// the server at `base` as if DNS led there.
    pub fn on_host(base: &str, host: &str) -> Browser {
        Browser {
            host: Some(host.to_owned()),
            ..Browser::new(base)
        }
    }

    /// The origin of the pages this browser is on.
    fn origin(&self) -> String {
        match &self.host {
            Some(host) => format!("http://{host}"),
            None => self.base.clone(),
        }
    }

    /// The session cookie's value, if the browser holds one.
    pub fn cookie(&self) -> Option<String> {
        self.cookie.lock().expect("cookie").clone()
    }

    /// Holds `pair` (`name=value`) as its cookie, as if the server had set
    /// it (a session begun elsewhere).
    pub fn hold_cookie(&self, pair: &str) {
        *self.cookie.lock().expect("cookie") = Some(pair.to_owned());
    }

    fn keep_cookie(&self, headers: &HeaderMap) {
        for set in headers.get_all("set-cookie") {
            let Ok(set) = set.to_str() else { continue };
            let Some((pair, attributes)) = set.split_once(';').or(Some((set, ""))) else {
                continue;
            };
            let Some((_, value)) = pair.split_once('=') else {
                continue;
            };
            let cleared = value.is_empty() || attributes.contains("Max-Age=0");
            *self.cookie.lock().expect("cookie") = (!cleared).then(|| pair.trim().to_owned());
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request = match self.cookie() {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let request = match &self.host {
            Some(host) => request.header("host", host),
            None => request,
        };
        let response = request.send().await.expect("the server answers");
        let page = Page {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.expect("a body"),
        };
        self.keep_cookie(&page.headers);
        *self.referrer_policy.lock().expect("policy") = page.header("referrer-policy").to_owned();
        page
    }

    /// `GET path` (a path on the server, or a full URL).
    pub async fn get(&self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.send(self.client.get(url).header("accept", "text/html"))
            .await
    }

    /// `GET path` with extra request headers (as a page's script sends).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .client
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// Posts a form to `path` from the server's own page (the last one).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).expect("a form");
        let origin = if *self.referrer_policy.lock().expect("policy") == "no-referrer" {
            "null".to_owned()
        } else {
            self.origin()
        };
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", origin)
                .header("accept", "text/html")
                .body(body),
        )
        .await
    }

    /// Posts a `multipart/form-data` form to `path` from the server's own
    /// page, its parts in order as a browser sends them (a file input
    /// left empty is a part with an empty file name and no bytes).
    pub async fn post_multipart(&self, path: &str, parts: &[Part<'_>]) -> Page {
        let boundary = "----regentra-test-boundary-7d1c";
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match part {
                Part::Text(name, value) => {
                    body.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                            .as_bytes(),
                    );
                    body.extend_from_slice(value.as_bytes());
                }
                Part::File(name, file_name, content_type, bytes) => {
                    body.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(bytes);
                }
            }
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header("origin", self.origin())
                .header("accept", "text/html")
                .body(body),
        )
        .await
    }

    /// Signs in through the sign-in page (no second factor).
    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        let page = self
            .post("/sign-in", &[("email", email), ("password", password)])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
        page
    }
}
