//! Lists are pages the store computes: a first page reads about its own
//! size whatever the org holds, pages walk a list once, and each filter
//! returns exactly the matching records.

use super::*;
use crate::compliance::evidence::{EvidenceOrder, EvidenceQuery};
use crate::ids::TicketId;
use crate::psa::records::{ArticleCursor, TimeQuery};
use crate::store::{Listing, MAX_PAGE, ScanCursor};
use crate::tenancy::AuditQuery;
use crate::testing::counting::CountingStore;
use chrono::{Duration, NaiveDate};

/// How many records of each kind the cases seed: several pages of 10.
const MANY: usize = 36;
const PAGE: usize = 10;

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, n).expect("a day of March")
}

/// Walks every page of a scan-paged list, checking that none is larger
/// than asked; the items in order.
async fn walk<T, F, Fut>(mut page: F) -> Vec<T>
where
    F: FnMut(Option<ScanCursor>) -> Fut,
    Fut: std::future::Future<Output = crate::Result<Listing<T, ScanCursor>>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let listing = page(after).await.expect("a page");
        assert!(
            listing.items.len() <= PAGE,
            "a page holds at most its limit"
        );
        out.extend(listing.items);
        match listing.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

pub async fn evidence_pages_are_store_walks_filtered_by_control_and_expiry(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let f = compliance_fixture(counting.clone()).await;
    let r = f.r();
    f.adopt("hipaa").await;
    // Evidence i expires on day i (some never), every third one on RM-01.
    let mut seeded = Vec::new();
    for i in 0..MANY {
        let valid_until = (i % 4 != 0).then(|| at(0) + Duration::days(i as i64 + 1));
        let controls = if i % 3 == 0 {
            BTreeSet::from(["RM-01".to_owned()])
        } else {
            BTreeSet::new()
        };
        let e = r
            .add_attestation(
                &f.manager,
                f.org,
                NewEvidence {
                    title: format!("evidence {i}"),
                    valid_until,
                    controls,
                    ..NewEvidence::default()
                },
                "we do it",
            )
            .await
            .expect("evidence");
        seeded.push(e);
    }
    let query = |control: Option<&str>, before: Option<i64>, order, after| EvidenceQuery {
        control: control.map(str::to_owned),
        expiring_before: before.map(|d| at(0) + Duration::days(d)),
        order,
        after,
        limit: PAGE,
    };

    counting.reset();
    let first = r
        .evidence(
            &f.manager,
            f.org,
            query(None, None, EvidenceOrder::Added, None),
        )
        .await
        .expect("first page");
    assert_eq!(first.items.len(), PAGE);
    assert!(
        counting.returned("evidence") <= PAGE + 1,
        "a first page reads about a page of evidence, not {}",
        counting.returned("evidence")
    );

    let all = walk(|after| {
        r.evidence(
            &f.manager,
            f.org,
            query(None, None, EvidenceOrder::Added, after),
        )
    })
    .await;
    let ids: Vec<_> = all.iter().map(|v| v.evidence.id).collect();
    let expected: Vec<_> = seeded.iter().map(|e| e.id).collect();
    assert_eq!(
        ids, expected,
        "the pages walk every piece once, in the order added"
    );

    let on_rm01 = walk(|after| {
        r.evidence(
            &f.manager,
            f.org,
            query(Some("RM-01"), None, EvidenceOrder::Added, after),
        )
    })
    .await;
    let expected: Vec<_> = seeded
        .iter()
        .filter(|e| e.controls.contains("RM-01"))
        .map(|e| e.id)
        .collect();
    assert_eq!(
        on_rm01.iter().map(|v| v.evidence.id).collect::<Vec<_>>(),
        expected
    );

    // Expiring before day 20: exactly those, soonest first.
    let expiring = walk(|after| {
        r.evidence(
            &f.manager,
            f.org,
            query(None, Some(20), EvidenceOrder::Added, after),
        )
    })
    .await;
    let mut expected: Vec<_> = seeded
        .iter()
        .filter(|e| {
            e.valid_until
                .is_some_and(|u| u < at(0) + Duration::days(20))
        })
        .collect();
    expected.sort_by_key(|e| (e.valid_until, e.id.0));
    assert_eq!(
        expiring.iter().map(|v| v.evidence.id).collect::<Vec<_>>(),
        expected.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    // By control and expiry together.
    let both = walk(|after| {
        r.evidence(
            &f.manager,
            f.org,
            query(Some("RM-01"), Some(20), EvidenceOrder::Added, after),
        )
    })
    .await;
    assert_eq!(
        both.iter().map(|v| v.evidence.id).collect::<Vec<_>>(),
        expected
            .iter()
            .filter(|e| e.controls.contains("RM-01"))
            .map(|e| e.id)
            .collect::<Vec<_>>()
    );
    // Ordered by expiry: every piece, those that never expire last.
    let by_expiry = walk(|after| {
        r.evidence(
            &f.manager,
            f.org,
            query(None, None, EvidenceOrder::Expiry, after),
        )
    })
    .await;
    assert_eq!(by_expiry.len(), MANY);
    let never = by_expiry
        .iter()
        .position(|v| v.evidence.valid_until.is_none())
        .expect("some never expire");
    assert!(
        by_expiry[never..]
            .iter()
            .all(|v| v.evidence.valid_until.is_none())
    );
    assert!(
        by_expiry[..never]
            .windows(2)
            .all(|w| w[0].evidence.valid_until <= w[1].evidence.valid_until)
    );

    expect_invalid(
        r.evidence(
            &f.manager,
            f.org,
            query(Some("NO-SUCH"), None, EvidenceOrder::Added, None),
        )
        .await,
        "control",
    );
}

pub async fn time_entry_pages_walk_a_date_range_per_org_and_ticket(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let f = psa_fixture(counting.clone(), Vec::new()).await;
    let r = f.c.r();
    let ticket = r
        .create_ticket(
            &f.tech,
            f.c.org,
            NewTicket {
                subject: "Printer".into(),
                description: "It broke.".into(),
                priority: Priority::Low,
                requester: None,
            },
        )
        .await
        .expect("ticket");
    let mut seeded = Vec::new();
    for i in 0..MANY {
        let entry = r
            .log_time(
                &f.tech,
                f.c.org,
                NewTimeEntry {
                    ticket: (i % 2 == 0).then_some(ticket.id),
                    minutes: 10,
                    billable: true,
                    note: String::new(),
                    // Logged out of date order: the list orders by date.
                    date: day(1 + ((i * 7) % 28) as u32),
                },
            )
            .await
            .expect("time");
        seeded.push(entry);
    }
    let query = |ticket, from: Option<u32>, to: Option<u32>, after| TimeQuery {
        ticket,
        from: from.map(day),
        to: to.map(day),
        after,
        limit: PAGE,
    };
    counting.reset();
    let first = r
        .time_entries(&f.tech, f.c.org, query(None, None, None, None))
        .await
        .expect("page");
    assert_eq!(first.items.len(), PAGE);
    assert!(counting.returned("time_entry") <= PAGE + 1);

    let check =
        |ticket: Option<TicketId>, from: u32, to: u32, got: Vec<crate::psa::records::TimeEntry>| {
            let mut expected: Vec<_> = seeded
                .iter()
                .filter(|e| ticket.is_none() || e.ticket == ticket)
                .filter(|e| e.date >= day(from) && e.date <= day(to))
                .collect();
            expected.sort_by_key(|e| (e.date, e.id.0));
            assert_eq!(
                got.iter().map(|e| e.id).collect::<Vec<_>>(),
                expected.iter().map(|e| e.id).collect::<Vec<_>>(),
                "entries of {ticket:?} from day {from} to day {to}"
            );
        };
    let all = walk(|after| r.time_entries(&f.tech, f.c.org, query(None, None, None, after))).await;
    check(None, 1, 31, all);
    let range =
        walk(|after| r.time_entries(&f.tech, f.c.org, query(None, Some(5), Some(17), after))).await;
    check(None, 5, 17, range);
    let on_ticket = walk(|after| {
        r.time_entries(
            &f.tech,
            f.c.org,
            query(Some(ticket.id), Some(5), Some(17), after),
        )
    })
    .await;
    check(Some(ticket.id), 5, 17, on_ticket);

    expect_invalid(
        r.time_entries(&f.tech, f.c.org, query(None, Some(10), Some(2), None))
            .await,
        "to",
    );
    assert!(
        matches!(
            r.time_entries(
                &f.tech,
                f.c.org,
                query(Some(TicketId(Uuid::now_v7())), None, None, None)
            )
            .await,
            Err(Error::NotFound { .. })
        ),
        "another ticket is not found"
    );
    expect_denied(
        r.time_entries(&f.requesters[0], f.c.org, query(None, None, None, None))
            .await,
        "a requester listing the org's time",
    );
}

pub async fn audit_pages_filter_by_time_range_and_actor(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let f = psa_fixture(counting.clone(), Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    // An hour apart, alternating between two people.
    let start = at(0) + Duration::days(1);
    for i in 0..MANY {
        f.c.clock.set(start + Duration::hours(i as i64));
        let who = if i % 2 == 0 { &f.tech } else { &f.c.msp.admin };
        r.add_asset(
            who,
            org,
            NewAsset {
                name: format!("laptop {i}"),
                kind: "laptop".into(),
                serial: None,
                assigned_user: None,
                status: Default::default(),
                attributes: Default::default(),
            },
        )
        .await
        .expect("asset");
    }
    let whole = crate::store::audit_chain(r.store(), org)
        .await
        .expect("chain");
    let query = |from: Option<i64>, to: Option<i64>, actor, after| AuditQuery {
        after,
        from: from.map(|h| start + Duration::hours(h)),
        to: to.map(|h| start + Duration::hours(h)),
        actor,
        kind: None,
        limit: PAGE,
    };
    let pages = |q: fn(Option<u64>) -> AuditQuery| {
        let r = r.clone();
        let admin = f.c.msp.admin.clone();
        async move {
            let mut out = Vec::new();
            let mut after = None;
            loop {
                let page = r.audit_log(&admin, org, q(after)).await.expect("page");
                assert!(page.items.len() <= PAGE);
                out.extend(page.items);
                match page.next {
                    Some(seq) => after = Some(seq),
                    None => return out,
                }
            }
        }
    };
    let seqs =
        |events: Vec<crate::audit::AuditEvent>| events.iter().map(|e| e.seq).collect::<Vec<_>>();

    // A time range: exactly the events in it, in chain order.
    let got = pages(|after| AuditQuery {
        after,
        from: Some(at(0) + Duration::days(1) + Duration::hours(5)),
        to: Some(at(0) + Duration::days(1) + Duration::hours(17)),
        actor: None,
        kind: None,
        limit: PAGE,
    })
    .await;
    let (from, to) = (start + Duration::hours(5), start + Duration::hours(17));
    let expected: Vec<u64> = whole
        .iter()
        .filter(|e| e.at >= from && e.at < to)
        .map(|e| e.seq)
        .collect();
    assert_eq!(expected.len(), 12);
    assert_eq!(seqs(got), expected);

    // One actor: exactly their events.
    counting.reset();
    let tech = f.tech.user;
    let first = r
        .audit_log(&f.c.msp.admin, org, query(Some(5), None, Some(tech), None))
        .await
        .expect("page");
    assert_eq!(first.items.len(), PAGE);
    assert!(first.items.iter().all(|e| e.actor.user == Some(tech)));
    let mut got = first.items;
    let mut after = first.next;
    while let Some(seq) = after {
        let page = r
            .audit_log(
                &f.c.msp.admin,
                org,
                query(Some(5), None, Some(tech), Some(seq)),
            )
            .await
            .expect("page");
        got.extend(page.items);
        after = page.next;
    }
    let expected: Vec<u64> = whole
        .iter()
        .filter(|e| e.at >= from && e.actor.user == Some(tech))
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs(got), expected);

    // Without filters, a first page reads a page of events (plus the
    // delegated read's own record, if any).
    counting.reset();
    let page = r
        .audit_log(&f.c.msp.admin, org, AuditQuery::after(None, PAGE))
        .await
        .expect("page");
    assert_eq!(page.items.len(), PAGE);
    assert!(counting.returned("audit_event") <= PAGE + 1);
}

pub async fn other_lists_are_store_pages(store: Arc<dyn Store>) {
    let counting = Arc::new(CountingStore::new(store));
    let f = psa_fixture(counting.clone(), Vec::new()).await;
    let r = f.c.r();
    let org = f.c.org;
    let mut assets = Vec::new();
    for i in 0..MANY {
        let a = r
            .add_asset(
                &f.tech,
                org,
                NewAsset {
                    name: format!("laptop {i}"),
                    kind: "laptop".into(),
                    serial: None,
                    assigned_user: None,
                    status: Default::default(),
                    attributes: Default::default(),
                },
            )
            .await
            .expect("asset");
        assets.push(a.id);
        let visibility = if i % 2 == 0 {
            Visibility::Portal
        } else {
            Visibility::Internal
        };
        let body = if i % 3 == 0 {
            format!("printer troubleshooting {i}")
        } else {
            format!("vpn {i}")
        };
        r.add_article(
            &f.tech,
            org,
            NewArticle {
                title: format!("Article {i}"),
                body,
                tags: BTreeSet::new(),
                visibility,
                published: true,
            },
        )
        .await
        .expect("article");
    }
    // Assets: a first page reads a page; the pages walk the list once.
    counting.reset();
    let first = r
        .assets(&f.tech, org, PageRequest::first(PAGE))
        .await
        .expect("assets");
    assert_eq!(first.items.len(), PAGE);
    assert!(counting.returned("asset") <= PAGE + 1);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .assets(&f.tech, org, PageRequest::after(after, PAGE))
            .await
            .expect("assets");
        seen.extend(page.items.iter().map(|a| a.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, assets);

    // The knowledge base, blank: newest first, a page read per page.
    counting.reset();
    let blank = r
        .search_articles(&f.requesters[0], org, "", None, PAGE)
        .await
        .expect("list");
    assert_eq!(blank.items.len(), PAGE);
    assert!(
        blank
            .items
            .iter()
            .all(|a| a.visibility == Visibility::Portal)
    );
    assert!(counting.returned("kb_article") <= PAGE + 1);
    let Some(ArticleCursor::Newest(_)) = blank.next else {
        panic!("a blank list pages by the store's walk");
    };
    // Words: the articles holding the walked word, never one read per hit:
    // a search with twice the hits makes the same number of reads.
    let reads_of = |q: &'static str| {
        let (r, counting, tech) = (r.clone(), counting.clone(), f.tech.clone());
        async move {
            let before = counting.reads();
            let found = r
                .search_articles(&tech, org, q, None, MAX_PAGE)
                .await
                .expect("search");
            (counting.reads() - before, found.items.len())
        }
    };
    let (reads_12, hits_12) = reads_of("troubleshooting").await;
    let (reads_24, hits_24) = reads_of("vpn").await;
    assert_eq!(
        (hits_12, hits_24),
        (MANY.div_ceil(3), MANY - MANY.div_ceil(3))
    );
    assert_eq!(reads_12, reads_24, "no read per hit");
    counting.reset();
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = r
            .search_articles(&f.tech, org, "printer troubleshooting", after, PAGE)
            .await
            .expect("search");
        found.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let holding = MANY.div_ceil(3);
    assert_eq!(found.len(), holding, "every article with both words, once");
    let pages = holding.div_ceil(PAGE);
    assert!(
        counting.returned("kb_article") <= pages * holding,
        "each page reads the articles of one word, not one read per hit"
    );
}
