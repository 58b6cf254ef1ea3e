//! Pagination for every list: `?limit=` (at least 1; larger than 500 is
//! capped, 0 is refused naming `limit`) and an opaque `?cursor=`
//! taken from the previous page's `next_cursor`. A cursor names the last
//! item a client saw (an id, an audit sequence, or a position in a ranked
//! list); clients never build one, so its form can change.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use regentra_core::store::{Listing, MAX_PAGE, PageRequest, ScanCursor};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::problem::Problem;

/// The page size when a request names none.
pub const DEFAULT_LIMIT: usize = 50;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page (default 50, at most 500; larger values are capped).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Where a page starts, decoded from a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    Start,
    AfterId(Uuid),
    AfterSeq(u64),
    Offset(usize),
    /// After the item with this sort key and id (an ordered walk: a queue
    /// position, or a store scan cursor `(value, id)`).
    AfterKey(String, Uuid),
}

/// A decoded page request.
#[derive(Debug, Clone)]
pub struct Page {
    pub limit: usize,
    pub position: Position,
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(q) =
            axum::extract::Query::<PageQuery>::from_request_parts(parts, state)
                .await
                .map_err(Problem::from)?;
        Page::parse(q)
    }
}

impl Page {
    pub fn parse(q: PageQuery) -> Result<Self, Problem> {
        let limit = match q.limit {
            None => DEFAULT_LIMIT,
            // A page of nothing is never what a client means: say so rather
            // than answer a page of one.
            Some(0) => {
                return Err(Problem::invalid_field(
                    "limit",
                    &format!("must be at least 1 (pages hold at most {MAX_PAGE} items)"),
                ));
            }
            Some(n) => n.min(MAX_PAGE),
        };
        let position = match q.cursor.as_deref() {
            None | Some("") => Position::Start,
            Some(c) => decode(c).ok_or_else(|| {
                Problem::invalid_field("cursor", "is not a cursor this server issued")
            })?,
        };
        Ok(Self { limit, position })
    }

    /// The store's page request for id-ordered lists.
    pub fn request(&self) -> PageRequest {
        let after = match self.position {
            Position::AfterId(id) => Some(id),
            _ => None,
        };
        PageRequest::after(after, self.limit)
    }

    /// Where a store scan resumes: `None` for the first page; a cursor of
    /// another kind of list is refused, naming `cursor`.
    pub fn scan_after(&self) -> Result<Option<ScanCursor>, Problem> {
        match &self.position {
            Position::Start => Ok(None),
            Position::AfterKey(value, id) => Ok(Some(ScanCursor {
                value: value.clone(),
                id: *id,
            })),
            _ => Err(Problem::invalid_field(
                "cursor",
                "is not a cursor of this list",
            )),
        }
    }

    /// A page the store computed in id order, with its next cursor.
    pub fn listed<T>(&self, listing: Listing<T>) -> Paged<T> {
        Paged {
            items: listing.items,
            next_cursor: listing.next.map(|id| encode(Position::AfterId(id))),
        }
    }

    /// A page of a store scan, with its next cursor.
    pub fn scanned<T>(&self, listing: Listing<T, ScanCursor>) -> Paged<T> {
        Paged {
            items: listing.items,
            next_cursor: listing
                .next
                .map(|c| encode(Position::AfterKey(c.value, c.id))),
        }
    }

    /// Where an ordered walk resumes: its sort key and id.
    pub fn after_key(&self) -> Option<(String, Uuid)> {
        match &self.position {
            Position::AfterKey(key, id) => Some((key.clone(), *id)),
            _ => None,
        }
    }

    /// Items a store returned for [`Self::request`] (or an audit read): a
    /// full page may have more after it, so it carries a cursor; the page
    /// after it may then be empty.
    pub fn from_store<T>(&self, mut items: Vec<T>, next: impl Fn(&T) -> Position) -> Paged<T> {
        items.truncate(self.limit);
        let next_cursor = (items.len() == self.limit)
            .then(|| items.last().map(|last| encode(next(last))))
            .flatten();
        Paged { items, next_cursor }
    }
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

pub fn encode(position: Position) -> String {
    let text = match position {
        Position::Start => String::new(),
        Position::AfterId(id) => format!("i{id}"),
        Position::AfterSeq(seq) => format!("s{seq}"),
        Position::Offset(n) => format!("o{n}"),
        Position::AfterKey(key, id) => format!("k{id}{key}"),
    };
    hex::encode(text)
}

fn decode(cursor: &str) -> Option<Position> {
    let bytes = hex::decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (tag, rest) = text.split_at_checked(1)?;
    match tag {
        "i" => Uuid::parse_str(rest).ok().map(Position::AfterId),
        "s" => rest.parse().ok().map(Position::AfterSeq),
        "o" => rest.parse().ok().map(Position::Offset),
        "k" => {
            let (id, key) = rest.split_at_checked(36)?;
            // No index value holds a NUL (Postgres text cannot): a key with
            // one was never issued, and the store would fail on it.
            if key.contains('\0') {
                return None;
            }
            Uuid::parse_str(id)
                .ok()
                .map(|id| Position::AfterKey(key.to_owned(), id))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(limit: usize, position: Position) -> Page {
        Page { limit, position }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for p in [
            Position::AfterId(Uuid::now_v7()),
            Position::AfterSeq(42),
            Position::Offset(7),
            Position::AfterKey("20261130T120000".into(), Uuid::now_v7()),
            Position::AfterKey(String::new(), Uuid::now_v7()),
        ] {
            assert_eq!(decode(&encode(p.clone())), Some(p));
        }
        assert_eq!(decode("zz"), None);
        assert_eq!(decode(&hex::encode("x1")), None);
        let nul = format!("k{}a\0b", Uuid::nil());
        assert_eq!(decode(&hex::encode(nul)), None, "a key with a NUL");
        let bad = Page::parse(PageQuery {
            limit: None,
            cursor: Some("nope".into()),
        });
        assert!(bad.is_err());
    }

    #[test]
    fn limits_are_capped() {
        let p = Page::parse(PageQuery {
            limit: Some(100_000),
            cursor: None,
        })
        .expect("valid");
        assert_eq!(p.limit, MAX_PAGE);
        let zero = Page::parse(PageQuery {
            limit: Some(0),
            cursor: None,
        })
        .expect_err("a zero limit is refused");
        assert_eq!(zero.errors[0].field, "limit");
        let p = Page::parse(PageQuery {
            limit: Some(1),
            cursor: None,
        })
        .expect("valid");
        assert_eq!(p.limit, 1);
    }

    #[test]
    fn a_full_store_page_carries_a_cursor_and_a_short_one_none() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let full = page(3, Position::Start).from_store(ids.clone(), |id| Position::AfterId(*id));
        let next = decode(&full.next_cursor.expect("a full page may have more"));
        assert_eq!(next, Some(Position::AfterId(ids[2])));
        let short = page(5, Position::Start).from_store(ids, |id| Position::AfterId(*id));
        assert!(short.next_cursor.is_none(), "a short page is the last");
    }
}
