//! Worked examples, each derived by hand from the semantics in
//! `docs/sla-semantics.md` (the derivation is in the comment above each
//! assertion).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::error::Error;

fn cal(json: &str) -> BusinessCalendar {
    json.parse()
        .unwrap_or_else(|e| panic!("valid calendar: {e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn mins(n: i64) -> Duration {
    Duration::minutes(n)
}

const NY_9_TO_5: &str = r#"{"timezone":"America/New_York","weekly":{
    "mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],
    "thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}}"#;

fn every_day(tz: &str, interval: (&str, &str)) -> String {
    let day = format!(r#"[["{}","{}"]]"#, interval.0, interval.1);
    format!(
        r#"{{"timezone":"{tz}","weekly":{{"mon":{day},"tue":{day},"wed":{day},"thu":{day},"fri":{day},"sat":{day},"sun":{day}}}}}"#
    )
}

#[test]
fn friday_17_59_rolls_to_monday_morning() {
    let c = cal(NY_9_TO_5);
    // Fri 2025-06-13 17:59 EDT is after closing; the hour runs Mon 09:00-10:00 EDT (14:00Z).
    assert_eq!(
        c.add(utc("2025-06-13T21:59:00Z"), mins(60)),
        Some(utc("2025-06-16T14:00:00Z"))
    );
    assert_eq!(
        c.elapsed(utc("2025-06-13T21:59:00Z"), utc("2025-06-16T14:00:00Z")),
        mins(60)
    );
}

#[test]
fn a_deadline_can_fall_exactly_at_closing_time() {
    let c = cal(NY_9_TO_5);
    // Mon 09:00 EDT + 8 h ends at 17:00 EDT the same day, not Tuesday 09:00.
    assert_eq!(
        c.add(utc("2025-06-16T13:00:00Z"), mins(480)),
        Some(utc("2025-06-16T21:00:00Z"))
    );
    // Mon 16:00 + 1 h: 17:00 too.
    assert_eq!(
        c.add(utc("2025-06-16T20:00:00Z"), mins(60)),
        Some(utc("2025-06-16T21:00:00Z"))
    );
    // add(t, 0) = t, even outside business hours.
    assert_eq!(
        c.add(utc("2025-06-14T03:00:00Z"), mins(0)),
        Some(utc("2025-06-14T03:00:00Z"))
    );
}

#[test]
fn lunch_breaks_are_skipped() {
    let c = cal(
        r#"{"timezone":"America/New_York","weekly":{"mon":[["09:00","12:00"],["13:00","17:00"]]}}"#,
    );
    // Mon 11:00 + 2 h: 11:00-12:00, lunch, 13:00-14:00 EDT = 18:00Z.
    assert_eq!(
        c.add(utc("2025-06-16T15:00:00Z"), mins(120)),
        Some(utc("2025-06-16T18:00:00Z"))
    );
    assert!(!c.is_open(utc("2025-06-16T16:30:00Z")), "closed at 12:30");
    assert_eq!(
        c.next_open(utc("2025-06-16T16:30:00Z")),
        Some(utc("2025-06-16T17:00:00Z"))
    );
}

#[test]
fn a_24_7_week_containing_a_dst_change_is_not_10080_minutes() {
    let ny = cal(&every_day("America/New_York", ("00:00", "24:00")));
    // Mon 2025-03-03 00:00 EST to Mon 2025-03-10 00:00 EDT: 167 h.
    assert_eq!(
        ny.elapsed(utc("2025-03-03T05:00:00Z"), utc("2025-03-10T04:00:00Z")),
        mins(10_020)
    );
    // Mon 2025-10-27 00:00 EDT to Mon 2025-11-03 00:00 EST: 169 h.
    assert_eq!(
        ny.elapsed(utc("2025-10-27T04:00:00Z"), utc("2025-11-03T05:00:00Z")),
        mins(10_140)
    );
    let london = cal(&every_day("Europe/London", ("00:00", "24:00")));
    // Mon 2025-03-24 00:00 GMT to Mon 2025-03-31 00:00 BST (23:00Z on the 30th): 167 h.
    assert_eq!(
        london.elapsed(utc("2025-03-24T00:00:00Z"), utc("2025-03-30T23:00:00Z")),
        mins(10_020)
    );
    // Mon 2025-10-20 00:00 BST (23:00Z on the 19th) to Mon 2025-10-27 00:00 GMT: 169 h.
    assert_eq!(
        london.elapsed(utc("2025-10-19T23:00:00Z"), utc("2025-10-27T00:00:00Z")),
        mins(10_140)
    );
}

#[test]
fn dst_in_new_york_both_ways() {
    // Sundays 00:00-06:00. On 2025-03-09 the clock jumps 02:00 -> 03:00:
    // [00:00 EST = 05:00Z, 06:00 EDT = 10:00Z) is 5 h.
    let c = cal(r#"{"timezone":"America/New_York","weekly":{"sun":[["00:00","06:00"]]}}"#);
    assert_eq!(
        c.elapsed(utc("2025-03-09T00:00:00Z"), utc("2025-03-10T00:00:00Z")),
        mins(300)
    );
    // On 2025-11-02 01:00-02:00 repeats: [00:00 EDT = 04:00Z, 06:00 EST = 11:00Z) is 7 h.
    assert_eq!(
        c.elapsed(utc("2025-11-02T00:00:00Z"), utc("2025-11-03T00:00:00Z")),
        mins(420)
    );
    // Four hours from Sunday 2025-03-09 00:00 EST: 05:00Z + 4 h = 09:00Z (05:00 EDT).
    assert_eq!(
        c.add(utc("2025-03-09T05:00:00Z"), mins(240)),
        Some(utc("2025-03-09T09:00:00Z"))
    );
}

#[test]
fn endpoints_in_a_gap_move_forward_and_ambiguous_ones_take_the_earlier_instant() {
    // 02:30 does not exist on 2025-03-09: it moves forward by the gap to 03:30 EDT (07:30Z);
    // 01:30 EST is 06:30Z. One hour.
    let gap = cal(r#"{"timezone":"America/New_York","weekly":{"sun":[["01:30","02:30"]]}}"#);
    assert_eq!(
        gap.elapsed(utc("2025-03-09T00:00:00Z"), utc("2025-03-10T00:00:00Z")),
        mins(60)
    );
    // 02:00-03:00 lies wholly in the gap: both ends map to 03:00 EDT, nothing is open.
    let lost = cal(
        r#"{"timezone":"America/New_York","weekly":{"sun":[["02:00","03:00"]],"mon":[["09:00","10:00"]]}}"#,
    );
    assert_eq!(
        lost.elapsed(utc("2025-03-09T00:00:00Z"), utc("2025-03-10T00:00:00Z")),
        mins(0)
    );
    // 01:00 on 2025-11-02 is ambiguous: the earlier instant, 01:00 EDT (05:00Z); 02:00 is EST (07:00Z).
    let amb = cal(r#"{"timezone":"America/New_York","weekly":{"sun":[["01:00","02:00"]]}}"#);
    assert_eq!(
        amb.elapsed(utc("2025-11-02T00:00:00Z"), utc("2025-11-03T00:00:00Z")),
        mins(120)
    );
}

#[test]
fn dst_in_london_both_ways() {
    // Sunday 2025-03-30 00:00-04:00: [00:00 GMT = 00:00Z, 04:00 BST = 03:00Z) is 3 h.
    let c = cal(r#"{"timezone":"Europe/London","weekly":{"sun":[["00:00","04:00"]]}}"#);
    assert_eq!(
        c.elapsed(utc("2025-03-29T00:00:00Z"), utc("2025-03-31T00:00:00Z")),
        mins(180)
    );
    // Sunday 2025-10-26: [00:00 BST = 23:00Z on the 25th, 04:00 GMT = 04:00Z) is 5 h.
    assert_eq!(
        c.elapsed(utc("2025-10-25T12:00:00Z"), utc("2025-10-27T00:00:00Z")),
        mins(300)
    );
}

#[test]
fn overnight_shifts_cross_midnight_weekends_and_dst() {
    let c = cal(r#"{"timezone":"America/New_York","weekly":{
        "mon":[["22:00","06:00"]],"tue":[["22:00","06:00"]],"wed":[["22:00","06:00"]],
        "thu":[["22:00","06:00"]],"fri":[["22:00","06:00"]],"sat":[["22:00","06:00"]]}}"#);
    // Mon 2025-06-16 23:00 EDT (03:00Z Tue) + 4 h = Tue 03:00 EDT (07:00Z), across midnight.
    assert_eq!(
        c.add(utc("2025-06-17T03:00:00Z"), mins(240)),
        Some(utc("2025-06-17T07:00:00Z"))
    );
    // The Saturday shift 2025-03-08 22:00 EST -> Sunday 06:00 EDT: Sat 22:00-24:00 EST (2 h)
    // plus Sun [00:00 EST, 06:00 EDT) (5 h) = 7 h, not 8.
    assert_eq!(
        c.elapsed(utc("2025-03-09T03:00:00Z"), utc("2025-03-09T12:00:00Z")),
        mins(420)
    );
    // The calendar equals its split form.
    let split = cal(r#"{"timezone":"America/New_York","weekly":{
        "mon":[["22:00","24:00"]],"tue":[["00:00","06:00"],["22:00","24:00"]],
        "wed":[["00:00","06:00"],["22:00","24:00"]],"thu":[["00:00","06:00"],["22:00","24:00"]],
        "fri":[["00:00","06:00"],["22:00","24:00"]],"sat":[["00:00","06:00"],["22:00","24:00"]],
        "sun":[["00:00","06:00"]]}}"#);
    for (a, b) in [
        ("2025-03-01T00:00:00Z", "2025-03-20T00:00:00Z"),
        ("2025-10-25T00:00:00Z", "2025-11-09T00:00:00Z"),
    ] {
        assert_eq!(c.elapsed(utc(a), utc(b)), split.elapsed(utc(a), utc(b)));
    }
}

#[test]
fn holidays_close_their_whole_local_date() {
    let c = cal(r#"{"timezone":"America/New_York","weekly":{
        "mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],
        "thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]},"holidays":["2025-12-25"]}"#);
    // A ticket created on the holiday (Thu 2025-12-25 10:00 EST) waits for Friday: 10:00 EST = 15:00Z.
    assert_eq!(
        c.add(utc("2025-12-25T15:00:00Z"), mins(60)),
        Some(utc("2025-12-26T15:00:00Z"))
    );
    // Wed 16:00 + 2 h: 16:00-17:00 Wednesday, Thursday closed, Fri 09:00-10:00 EST = 15:00Z.
    assert_eq!(
        c.add(utc("2025-12-24T21:00:00Z"), mins(120)),
        Some(utc("2025-12-26T15:00:00Z"))
    );
    // An overnight shift into a holiday loses only its part after midnight.
    let night = cal(
        r#"{"timezone":"America/New_York","weekly":{"wed":[["22:00","06:00"]]},"holidays":["2025-12-25"]}"#,
    );
    assert_eq!(
        night.elapsed(utc("2025-12-24T00:00:00Z"), utc("2025-12-26T00:00:00Z")),
        mins(120)
    );
}

#[test]
fn five_weeks_across_dst_and_a_leap_day() {
    let c = cal(NY_9_TO_5);
    // 200 business hours from Mon 2025-03-03 09:00 EST end at closing on Fri 2025-04-04 (17:00 EDT = 21:00Z).
    assert_eq!(
        c.add(utc("2025-03-03T14:00:00Z"), mins(200 * 60)),
        Some(utc("2025-04-04T21:00:00Z"))
    );
    assert_eq!(
        c.elapsed(utc("2025-03-03T14:00:00Z"), utc("2025-04-04T21:00:00Z")),
        mins(200 * 60)
    );
    // Mon 2028-02-28 16:00 EST + 2 h: one hour Monday, then Tue 2028-02-29 09:00-10:00 EST (15:00Z).
    assert_eq!(
        c.add(utc("2028-02-28T21:00:00Z"), mins(120)),
        Some(utc("2028-02-29T15:00:00Z"))
    );
    let leap_holiday = cal(
        r#"{"timezone":"America/New_York","weekly":{"mon":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"tue":[["09:00","17:00"]]},"holidays":["2028-02-29"]}"#,
    );
    assert_eq!(
        leap_holiday.add(utc("2028-02-28T21:00:00Z"), mins(120)),
        Some(utc("2028-03-01T15:00:00Z"))
    );
}

#[test]
fn a_pause_spanning_a_weekend() {
    let c = cal(NY_9_TO_5);
    // An 8 h target starts Fri 2025-06-13 15:00 EDT and pauses at 16:00: 1 h consumed.
    let consumed = consumed(&c, utc("2025-06-13T19:00:00Z"), utc("2025-06-13T20:00:00Z"));
    assert_eq!(consumed, mins(60));
    // Resumed Mon 10:00 EDT with 7 h left: due Mon 17:00 EDT (21:00Z).
    assert_eq!(
        due_after_resume(&c, utc("2025-06-16T14:00:00Z"), mins(480), consumed),
        Some(utc("2025-06-16T21:00:00Z"))
    );
}

#[test]
fn long_durations_match_walking() {
    let c = cal(NY_9_TO_5);
    // 10,000 business hours = 250 weeks of 40 h: from Mon 2025-01-06 09:00 EST to the Friday
    // closing 250 weeks on (2025-01-10 + 249 weeks = 2029-10-19, EDT: 21:00Z).
    assert_eq!(
        c.add(utc("2025-01-06T14:00:00Z"), mins(10_000 * 60)),
        Some(utc("2029-10-19T21:00:00Z"))
    );
    assert_eq!(
        c.elapsed(utc("2025-01-06T14:00:00Z"), utc("2029-10-19T21:00:00Z")),
        mins(10_000 * 60)
    );
}

fn fields(result: Result<BusinessCalendar, Error>) -> Vec<String> {
    match result {
        Err(Error::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
        other => panic!("expected validation errors, got {other:?}"),
    }
}

#[test]
fn invalid_calendars_name_the_field() {
    assert_eq!(
        fields(r#"{"timezone":"Mars/Olympus","weekly":{"mon":[["09:00","17:00"]]}}"#.parse()),
        ["timezone"]
    );
    assert_eq!(
        fields(r#"{"timezone":"UTC","weekly":{"mon":[["9am","17:00"]]}}"#.parse()),
        ["weekly.mon[0][0]"]
    );
    assert_eq!(
        fields(r#"{"timezone":"UTC","weekly":{"mon":[["09:00","17:60"]]}}"#.parse()),
        ["weekly.mon[0][1]"]
    );
    assert_eq!(
        fields(r#"{"timezone":"UTC","weekly":{"mon":[["24:00","17:00"]]}}"#.parse()),
        ["weekly.mon[0][0]"]
    );
    assert_eq!(
        fields(
            r#"{"timezone":"UTC","weekly":{"tue":[["09:00","09:00"]],"wed":[["09:00","10:00"]]}}"#
                .parse()
        ),
        ["weekly.tue[0]"]
    );
    assert_eq!(
        fields(
            r#"{"timezone":"UTC","weekly":{"mon":[["09:00","12:00"],["11:00","13:00"]]}}"#.parse()
        ),
        ["weekly.mon"]
    );
    // An overnight shift that runs into the next day's first interval overlaps it.
    assert_eq!(
        fields(
            r#"{"timezone":"UTC","weekly":{"mon":[["22:00","06:00"]],"tue":[["05:00","09:00"]]}}"#
                .parse()
        ),
        ["weekly.tue"]
    );
    assert_eq!(
        fields(r#"{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"holidays":["2025-12-25","2025-12-25"]}"#.parse()),
        ["holidays[1]"]
    );
    assert_eq!(
        fields(
            r#"{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"holidays":["25/12/2025"]}"#
                .parse()
        ),
        ["holidays[0]"]
    );
    assert_eq!(
        fields(r#"{"timezone":"UTC","weekly":{}}"#.parse()),
        ["weekly"]
    );
    assert_eq!(
        fields(r#"{"timezone":"UTC","weekly":{"funday":[]}}"#.parse()),
        ["calendar"]
    );
}

#[test]
fn the_shared_calendar_cache_stays_bounded_and_right_after_eviction() {
    // Distinct calendars (each its own holiday, in a year no other test uses),
    // more of them than the cache holds.
    let spec = |n: i64| -> CalendarSpec {
        let holiday = chrono::NaiveDate::from_ymd_opt(2071, 1, 1).expect("date")
            + chrono::Days::new(n as u64);
        serde_json::from_str(&format!(
            r#"{{"timezone":"Europe/Paris","weekly":{{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]]}},"holidays":["{holiday}"]}}"#
        ))
        .expect("spec")
    };
    let start = utc("2071-06-01T10:00:00Z");
    let first = BusinessCalendar::shared(&spec(0)).expect("compiles");
    let due = first.add(start, mins(600)).expect("in range");
    for n in 1..(CALENDAR_CACHE_CAPACITY as i64 + 40) {
        let calendar = BusinessCalendar::shared(&spec(n)).expect("compiles");
        assert_eq!(calendar.spec(), &spec(n));
        assert!(
            super::calendar::cached_calendars() <= CALENDAR_CACHE_CAPACITY,
            "the cache never holds more than its capacity"
        );
    }
    let again = BusinessCalendar::shared(&spec(0)).expect("compiles");
    assert!(
        !Arc::ptr_eq(&first, &again),
        "the first calendar, least recently used, was evicted and compiled again"
    );
    assert_eq!(again.add(start, mins(600)), Some(due));
    assert_eq!(again.spec(), &spec(0));
    // The same answer as a calendar compiled apart from the cache.
    let fresh = BusinessCalendar::new(spec(0)).expect("compiles");
    assert_eq!(fresh.add(start, mins(600)), Some(due));
}

#[test]
fn the_zone_table_cache_stays_bounded_and_right_after_eviction() {
    use super::zone::{ZONE_CACHE_CAPACITY, ZoneTable, cached_zones};
    let zones: Vec<chrono_tz::Tz> = chrono_tz::TZ_VARIANTS
        .iter()
        .copied()
        .take(ZONE_CACHE_CAPACITY + 20)
        .collect();
    let summer = utc("2031-07-01T12:00:00Z");
    let offset = |tz: chrono_tz::Tz| {
        use chrono::{Offset, TimeZone};
        tz.offset_from_utc_datetime(&summer.naive_utc())
            .fix()
            .local_minus_utc()
    };
    let first = ZoneTable::get(zones[0]);
    for &tz in &zones {
        let table = ZoneTable::get(tz);
        assert_eq!(table.offset_at(summer.timestamp()), offset(tz));
        assert!(cached_zones() <= ZONE_CACHE_CAPACITY);
    }
    let again = ZoneTable::get(zones[0]);
    assert!(!Arc::ptr_eq(&first, &again), "evicted, then built again");
    assert_eq!(again.offset_at(summer.timestamp()), offset(zones[0]));
}
