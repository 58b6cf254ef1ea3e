//! Markdown written by tenant staff (policy texts, articles) as HTML for
//! pages. The text is untrusted: raw HTML in it is shown as text, never
//! passed through, and a link or image may only point at http(s), mailto
//! or a path on this server, so nothing in a policy can run a script in
//! the reader's session.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// `markdown` as HTML that is safe to put in a page as is.
pub fn to_safe_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Written HTML is shown as the text it is.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The text of `markdown` without its markup, on one line, cut at a word
/// boundary to about `max` characters (with `…` when cut): a list's
/// excerpt. Plain text, for the template to escape.
pub fn excerpt(markdown: &str, max: usize) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                text.push_str(&t)
            }
            // Inline markup runs on within its words; blocks end with a space.
            Event::End(
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Link
                | TagEnd::Image,
            ) => {}
            Event::SoftBreak | Event::HardBreak | Event::End(_) => text.push(' '),
            _ => {}
        }
        if text.chars().count() > max + 1 {
            break;
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for word in &words {
        if !out.is_empty() && out.chars().count() + 1 + word.chars().count() > max {
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The URL if its scheme is one a reader can follow safely; `#` otherwise.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim_start().to_ascii_lowercase();
    let scheme = lower
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| !scheme.contains(['/', '?', '#']));
    match scheme {
        None => url,
        Some("http" | "https" | "mailto") => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

#[cfg(test)]
mod tests {
    use super::{excerpt, to_safe_html};

    #[test]
    fn an_excerpt_is_the_text_without_markup_cut_at_a_word() {
        let md = "# Reset\n\nOpen **Settings**, then [`Reset`](/x).\n\n- one\n- two <b>x</b>";
        assert_eq!(
            excerpt(md, 200),
            "Reset Open Settings, then Reset. one two <b>x</b>"
        );
        assert_eq!(excerpt(md, 20), "Reset Open Settings,…");
        assert_eq!(excerpt("", 20), "");
    }

    #[test]
    fn renders_the_common_markdown_of_a_policy() {
        let html = to_safe_html("# Purpose\n\nStaff **must** lock screens.\n\n- one\n- two\n");
        assert!(html.contains("<h1>Purpose</h1>"), "{html}");
        assert!(html.contains("<strong>must</strong>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
    }

    #[test]
    fn written_html_is_text_and_script_links_go_nowhere() {
        let html = to_safe_html(
            "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(1)> there\n\n\
             [click](javascript:alert(1)) [x](JaVaScRiPt:alert(1)) [d](data:text/html,hi)\n\n\
             ![i](javascript:alert(1)) [ok](https://example.com/a) [rel](/portal/x) [m](mailto:a@b.c)",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img src=\"x\""), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.to_lowercase().contains("javascript:"), "{html}");
        assert!(!html.contains("data:text"), "{html}");
        assert!(html.contains("href=\"https://example.com/a\""), "{html}");
        assert!(html.contains("href=\"/portal/x\""), "{html}");
        assert!(html.contains("href=\"mailto:a@b.c\""), "{html}");
    }
}
