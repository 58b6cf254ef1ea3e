//! The escalation sweep reads only the tickets whose `next_escalation` is
//! past, so that instant must never be later than anything the sweep would
//! do: for random tickets (clocks running, paused or stopped, rules fired or
//! not) in calendars with nights, weekends and DST, whenever
//! `escalations_due` or the breach notice has something at `now`,
//! `next_escalation` is at or before `now`, and so is its index value. And
//! it is not early for nothing: at that instant something is due.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use regentra_core::ids::{OrgId, SlaPolicyId, TicketId, UserId};
use regentra_core::psa::Priority;
use regentra_core::psa::sla_policy::{Action, ClockKind, EscalationRule, Targets, Trigger};
use regentra_core::psa::ticket::{
    SlaTerms, Ticket, TicketStatus, escalation_key, escalations_due, next_escalation,
    untold_breaches,
};
use regentra_core::sla::{BusinessCalendar, CalendarSpec, Clock};
use uuid::Uuid;

const CALENDARS: [&str; 3] = [
    r#"{"timezone":"UTC","weekly":{"mon":[["00:00","24:00"]],"tue":[["00:00","24:00"]],"wed":[["00:00","24:00"]],"thu":[["00:00","24:00"]],"fri":[["00:00","24:00"]],"sat":[["00:00","24:00"]],"sun":[["00:00","24:00"]]}}"#,
    r#"{"timezone":"America/New_York","weekly":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]},"holidays":["2025-11-27"]}"#,
    r#"{"timezone":"Europe/London","weekly":{"mon":[["08:00","12:00"],["13:00","18:00"]],"wed":[["22:00","02:00"]],"fri":[["08:00","18:00"]],"sat":[["10:00","14:00"]]}}"#,
];

/// Around the autumn DST changes of New York and London.
fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-10-24T10:00:00Z")
        .expect("instant")
        .with_timezone(&Utc)
}

fn clock() -> impl Strategy<Value = Clock> {
    (
        1i64..=3000 * 60,
        0i64..=4000 * 60,
        prop_oneof![Just(0u8), Just(1), Just(2)],
        0i64..=14 * 86_400_000,
        any::<bool>(),
    )
        .prop_map(|(target, consumed, state, offset_ms, breached)| {
            let at = base() + Duration::milliseconds(offset_ms);
            Clock {
                target_secs: target,
                consumed_secs: consumed,
                // 0: running since `at`, 1: paused, 2: stopped at `at`.
                running_since: (state == 0).then_some(at),
                stopped_at: (state == 2).then_some(at),
                breached,
                breached_at: None,
            }
        })
}

fn rule() -> impl Strategy<Value = EscalationRule> {
    (
        any::<bool>(),
        prop_oneof![
            (0u8..=150).prop_map(|percent| Trigger::Percent { percent }),
            (0u32..=600).prop_map(|minutes| Trigger::BeforeBreach { minutes }),
            Just(Trigger::AtBreach),
        ],
    )
        .prop_map(|(response, trigger)| EscalationRule {
            clock: if response {
                ClockKind::Response
            } else {
                ClockKind::Resolution
            },
            trigger,
            action: Action::RaisePriority,
        })
}

fn ticket() -> impl Strategy<Value = (Ticket, usize)> {
    (
        0..CALENDARS.len(),
        clock(),
        clock(),
        proptest::collection::vec(rule(), 0..5),
        proptest::collection::vec(any::<bool>(), 8),
        prop_oneof![
            Just(TicketStatus::New),
            Just(TicketStatus::Open),
            Just(TicketStatus::Pending),
            Just(TicketStatus::Reopened),
            Just(TicketStatus::Resolved),
            Just(TicketStatus::Closed),
        ],
    )
        .prop_map(
            |(calendar, response, resolution, escalations, fired, status)| {
                let spec: CalendarSpec = serde_json::from_str(CALENDARS[calendar]).expect("spec");
                let mut done = BTreeSet::new();
                for (i, rule) in escalations.iter().enumerate() {
                    if fired[i] {
                        let clock = match rule.clock {
                            ClockKind::Response => "response",
                            ClockKind::Resolution => "resolution",
                        };
                        done.insert(format!("{i}:{clock}"));
                    }
                }
                if fired[5] {
                    done.insert("breach:response".to_owned());
                }
                if fired[6] {
                    done.insert("breach:resolution".to_owned());
                }
                let id = Uuid::from_u128(1);
                let ticket = Ticket {
                    id: TicketId(id),
                    org: OrgId(id),
                    number: 1,
                    title: "t".into(),
                    description: String::new(),
                    requester: UserId(id),
                    assignee: fired[7].then_some(UserId(id)),
                    priority: Priority::Medium,
                    status,
                    sla: Some(SlaTerms {
                        policy: SlaPolicyId(id),
                        revision: 1,
                        calendar: spec,
                        targets: BTreeMap::from([(
                            Priority::Medium,
                            Targets {
                                first_response_minutes: 60,
                                resolution_minutes: 600,
                            },
                        )]),
                        escalations,
                        response,
                        resolution,
                        fired: done,
                    }),
                    assets: BTreeSet::new(),
                    created_at: base(),
                    updated_at: base(),
                    resolved_at: None,
                };
                (ticket, calendar)
            },
        )
}

/// Whether the sweep has anything to do for the ticket at `now`.
fn sweep_acts(ticket: &Ticket, calendar: &BusinessCalendar, now: DateTime<Utc>) -> bool {
    ticket.status.is_active()
        && (!escalations_due(ticket, calendar, now).is_empty()
            || !untold_breaches(ticket, calendar, now).is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_next_escalation_is_never_later_than_what_the_sweep_would_do(
        (ticket, _) in ticket(),
        now_offset_ms in 0i64..=30 * 86_400_000,
    ) {
        let sla = ticket.sla.as_ref().expect("sla");
        let calendar = BusinessCalendar::shared(&sla.calendar).expect("calendar");
        // The sweep runs after every change the ticket records.
        let last_change = [&sla.response, &sla.resolution]
            .into_iter()
            .flat_map(|c| [c.running_since, c.stopped_at])
            .flatten()
            .max()
            .unwrap_or_else(base);
        let now = last_change + Duration::milliseconds(now_offset_ms);
        let next = next_escalation(&ticket, &calendar);
        if sweep_acts(&ticket, &calendar, now) {
            let at = next.expect("something is due, so there is a next escalation");
            prop_assert!(at <= now, "next {at} is after {now}, when the sweep acts");
            prop_assert!(escalation_key(at) <= escalation_key(now), "the index value sorts after now's");
        }
        if let Some(at) = next {
            prop_assert!(
                sweep_acts(&ticket, &calendar, at),
                "at its next escalation {at} the sweep has nothing to do"
            );
        }
    }
}
