//! `escalations_due` over 100,000 open tickets: three escalation rules each
//! (a 75% warning, a pre-breach webhook, a breach), tickets created over the
//! previous weeks on a 9-17 New York calendar.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use regentra_core::ids::{OrgId, SlaPolicyId, TicketId, UserId};
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::{Action, ClockKind, EscalationRule, Targets, Trigger};
use regentra_core::psa::ticket::{SlaTerms, Ticket, TicketStatus, escalations_due};
use regentra_core::sla::{BusinessCalendar, CalendarSpec, Clock};
use uuid::Uuid;

fn spec() -> CalendarSpec {
    serde_json::from_str(
        r#"{"timezone":"America/New_York","weekly":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}}"#,
    )
    .expect("calendar")
}

fn tickets(now: DateTime<Utc>) -> Vec<Ticket> {
    let rules = vec![
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::Percent { percent: 75 },
            action: Action::RaisePriority,
        },
        EscalationRule {
            clock: ClockKind::Response,
            trigger: Trigger::BeforeBreach { minutes: 15 },
            action: Action::Webhook {
                url: "https://hooks.test".into(),
            },
        },
        EscalationRule {
            clock: ClockKind::Resolution,
            trigger: Trigger::AtBreach,
            action: Action::RaisePriority,
        },
    ];
    let targets: std::collections::BTreeMap<Priority, Targets> = [(
        Priority::Medium,
        Targets {
            first_response_minutes: 240,
            resolution_minutes: 960,
        },
    )]
    .into();
    let org = OrgId(Uuid::now_v7());
    (0..100_000u32)
        .map(|i| {
            // Created between now and four weeks ago.
            let created = now - Duration::minutes((i % 40_320) as i64);
            let mut response = Clock::start(Duration::minutes(240), created);
            if i % 3 == 0 {
                response.stopped_at = Some(created + Duration::minutes(10));
                response.running_since = None;
            }
            Ticket {
                id: TicketId(Uuid::now_v7()),
                org,
                number: i as u64 + 1,
                title: "Ticket".into(),
                description: String::new(),
                requester: UserId(Uuid::now_v7()),
                assignee: None,
                priority: Priority::Medium,
                status: TicketStatus::Open,
                sla: Some(SlaTerms {
                    policy: SlaPolicyId(Uuid::now_v7()),
                    revision: 1,
                    calendar: spec(),
                    targets: targets.clone(),
                    escalations: rules.clone(),
                    response,
                    resolution: Clock::start(Duration::minutes(960), created),
                    fired: BTreeSet::new(),
                }),
                assets: BTreeSet::new(),
                created_at: created,
                updated_at: created,
                resolved_at: None,
            }
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let now = DateTime::parse_from_rfc3339("2025-06-18T15:00:00Z")
        .expect("instant")
        .with_timezone(&Utc);
    let all = tickets(now);
    let calendar = BusinessCalendar::shared(&spec()).expect("calendar");
    let due: usize = all
        .iter()
        .map(|t| escalations_due(t, &calendar, now).len())
        .sum();
    assert!(
        due > 10_000,
        "a realistic share of tickets has something due ({due})"
    );
    let mut group = c.benchmark_group("psa");
    group.sample_size(20);
    group.bench_function("escalations_due_100k_tickets", |b| {
        b.iter(|| {
            all.iter()
                .map(|t| escalations_due(t, &calendar, now).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(psa, benches);
criterion_main!(psa);
