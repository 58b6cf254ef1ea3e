//! Properties of the business-time arithmetic, checked against a simple
//! minute-stepping oracle written here from the rules in
//! `docs/sla-semantics.md`, over random calendars in zones with unusual rules (Lord Howe's 30-minute DST, Apia's
//! date-line history, India's half-hour offset).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use regentra_core::sla::{BusinessCalendar, CalendarSpec, WeeklySpec};

const ZONES: [&str; 6] = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kolkata",
    "UTC",
];

/// A random calendar: per weekday up to two intervals on a half-hour grid,
/// sometimes an overnight one, and a few holidays in the test window.
fn calendar() -> impl Strategy<Value = (CalendarSpec, Vec<(u32, u32, bool)>)> {
    let day = proptest::collection::vec(0u32..=48, 0..=4).prop_map(|mut cuts| {
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    });
    (
        0..ZONES.len(),
        proptest::collection::vec((day, any::<bool>()), 7),
        proptest::collection::vec(0i64..400, 0..4),
    )
        .prop_map(|(zone, days, holidays)| {
            let hhmm = |half: u32| format!("{:02}:{:02}", half / 2, (half % 2) * 30);
            let mut weekly: [Vec<(String, String)>; 7] = Default::default();
            for (i, (cuts, overnight)) in days.iter().enumerate() {
                for pair in cuts.chunks(2) {
                    if let [s, e] = pair {
                        weekly[i].push((hhmm(*s), hhmm(*e)));
                    }
                }
                // An overnight shift from 22:00 to 02:00 on some days.
                if *overnight && cuts.iter().all(|c| *c <= 44) {
                    weekly[i].push(("22:00".into(), "02:00".into()));
                }
            }
            let [mon, tue, wed, thu, fri, sat, sun] = weekly;
            let start = NaiveDate::from_ymd_opt(2024, 9, 1).expect("date");
            let mut hs: Vec<String> = holidays
                .iter()
                .map(|d| (start + Duration::days(*d)).format("%Y-%m-%d").to_string())
                .collect();
            hs.sort();
            hs.dedup();
            let spec = CalendarSpec {
                timezone: ZONES[zone].into(),
                weekly: WeeklySpec {
                    mon,
                    tue,
                    wed,
                    thu,
                    fri,
                    sat,
                    sun,
                },
                holidays: hs,
            };
            (spec, Vec::new())
        })
}

/// DST changes in the zones above between 2024-09 and 2026-01 (New York,
/// London, Lord Howe), where the arithmetic is hardest.
const TRANSITIONS: [(i32, u32, u32); 9] = [
    (2024, 10, 6),
    (2024, 10, 27),
    (2024, 11, 3),
    (2025, 3, 9),
    (2025, 3, 30),
    (2025, 4, 6),
    (2025, 10, 5),
    (2025, 10, 26),
    (2025, 11, 2),
];

/// Minute-aligned instants: anywhere from 2024-09-01 to 2026-01-01 (two
/// springs and autumns of DST), or within two days of a DST change.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let anywhere = (0i64..(487 * 24 * 60)).prop_map(|m| {
        Utc.with_ymd_and_hms(2024, 9, 1, 0, 0, 0)
            .single()
            .expect("a valid instant")
            + Duration::minutes(m)
    });
    let near_change =
        (0..TRANSITIONS.len(), -(2 * 24 * 60)..(2 * 24 * 60i64)).prop_map(|(i, m)| {
            let (y, mo, d) = TRANSITIONS[i];
            Utc.with_ymd_and_hms(y, mo, d, 12, 0, 0)
                .single()
                .expect("a valid instant")
                + Duration::minutes(m)
        });
    prop_oneof![anywhere, near_change]
}

// ----- the oracle ------------------------------------------------------------

fn hm(s: &str) -> u32 {
    s[..2].parse::<u32>().expect("well-formed test data") * 60
        + s[3..].parse::<u32>().expect("well-formed test data")
}

/// Local date + minute to an instant: ambiguous takes the earlier, a time in
/// a gap is read with the offset in force just before the gap.
fn to_instant(tz: Tz, date: NaiveDate, minute: u32) -> DateTime<Utc> {
    let naive: NaiveDateTime = date.and_hms_opt(0, 0, 0).expect("well-formed test data")
        + Duration::minutes(i64::from(minute));
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            let mut later = naive;
            let first_valid = loop {
                later += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&later).earliest() {
                    break t.with_timezone(&Utc);
                }
            };
            let before = tz
                .offset_from_utc_datetime(&(first_valid - Duration::seconds(1)).naive_utc())
                .fix();
            Utc.from_utc_datetime(&(naive - Duration::seconds(i64::from(before.local_minus_utc()))))
        }
    }
}

fn open_oracle(spec: &CalendarSpec, t: DateTime<Utc>) -> bool {
    let tz: Tz = spec.timezone.parse().expect("well-formed test data");
    let holidays: Vec<NaiveDate> = spec
        .holidays
        .iter()
        .map(|h| h.parse().expect("well-formed test data"))
        .collect();
    let local = t.with_timezone(&tz).date_naive();
    let days = [
        &spec.weekly.mon,
        &spec.weekly.tue,
        &spec.weekly.wed,
        &spec.weekly.thu,
        &spec.weekly.fri,
        &spec.weekly.sat,
        &spec.weekly.sun,
    ];
    for offset in -2..=1 {
        let date = local + Duration::days(offset);
        let weekday = date
            .format("%u")
            .to_string()
            .parse::<usize>()
            .expect("well-formed test data")
            - 1;
        for (s, e) in days[weekday].iter() {
            let (s, e) = (hm(s), if e == "24:00" { 1440 } else { hm(e) });
            let next = date + Duration::days(1);
            let pieces = if s < e {
                vec![(date, s, e)]
            } else {
                vec![(date, s, 1440), (next, 0, e)]
            };
            for (d, ps, pe) in pieces {
                if holidays.contains(&d) || ps == pe {
                    continue;
                }
                let start = to_instant(tz, d, ps);
                let end = if pe == 1440 {
                    to_instant(tz, d + Duration::days(1), 0)
                } else {
                    to_instant(tz, d, pe)
                };
                if start <= t && t < end {
                    return true;
                }
            }
        }
    }
    false
}

fn elapsed_oracle(spec: &CalendarSpec, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
    let mut t = a;
    let mut total = Duration::zero();
    while t < b {
        if open_oracle(spec, t) {
            total += Duration::minutes(1);
        }
        t += Duration::minutes(1);
    }
    total
}

fn compile(spec: &CalendarSpec) -> Option<BusinessCalendar> {
    BusinessCalendar::new(spec.clone()).ok()
}

#[test]
fn most_random_calendars_are_valid() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let valid = (0..200)
        .filter(|_| compile(&calendar().new_tree(&mut runner).expect("tree").current().0).is_some())
        .count();
    assert!(
        valid >= 120,
        "only {valid} of 200 random calendars compile: the properties would test little"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn elapsed_agrees_with_the_minute_stepping_oracle(
        (spec, _) in calendar(), a in instant(), span in 0i64..(4 * 24 * 60)
    ) {
        let Some(c) = compile(&spec) else { return Ok(()) };
        let b = a + Duration::minutes(span);
        prop_assert_eq!(c.elapsed(a, b), elapsed_oracle(&spec, a, b), "{:?}", spec);
    }

    #[test]
    fn is_open_agrees_with_elapsed_over_one_minute((spec, _) in calendar(), t in instant()) {
        let Some(c) = compile(&spec) else { return Ok(()) };
        let minute = c.elapsed(t, t + Duration::minutes(1));
        prop_assert_eq!(c.is_open(t), minute == Duration::minutes(1));
        prop_assert_eq!(c.is_open(t), open_oracle(&spec, t), "{:?}", spec);
    }

    #[test]
    fn add_is_the_earliest_inverse_of_elapsed(
        (spec, _) in calendar(), t in instant(), d in 0i64..(30 * 24 * 60)
    ) {
        let Some(c) = compile(&spec) else { return Ok(()) };
        let d = Duration::minutes(d);
        let u = c.add(t, d).expect("within range");
        prop_assert_eq!(c.elapsed(t, u), d);
        if d > Duration::zero() {
            prop_assert!(c.elapsed(t, u - Duration::seconds(1)) < d, "an earlier instant already reaches d");
        } else {
            prop_assert_eq!(u, t);
        }
    }

    #[test]
    fn add_is_monotone_in_the_duration(
        (spec, _) in calendar(), t in instant(), d1 in 0i64..(60 * 24 * 60), extra in 0i64..(60 * 24 * 60)
    ) {
        let Some(c) = compile(&spec) else { return Ok(()) };
        let u1 = c.add(t, Duration::minutes(d1)).expect("within range");
        let u2 = c.add(t, Duration::minutes(d1 + extra)).expect("within range");
        prop_assert!(u1 <= u2);
    }

    #[test]
    fn elapsed_is_additive_over_long_spans(
        (spec, _) in calendar(), a in instant(), x in 0i64..(400 * 24 * 60), y in 0i64..(400 * 24 * 60)
    ) {
        let Some(c) = compile(&spec) else { return Ok(()) };
        let b = a + Duration::minutes(x);
        let cc = b + Duration::minutes(y);
        prop_assert_eq!(c.elapsed(a, cc), c.elapsed(a, b) + c.elapsed(b, cc));
    }
}

/// Calendars whose interval boundaries sit where clocks jump (01:00-03:00
/// local) in zones with DST, every day: endpoints in gaps and in repeated
/// hours are exercised on every transition.
fn dst_calendar() -> impl Strategy<Value = CalendarSpec> {
    let boundary = prop_oneof![
        Just("00:30"),
        Just("01:00"),
        Just("01:30"),
        Just("02:00"),
        Just("02:15"),
        Just("02:30"),
        Just("03:00"),
        Just("04:00")
    ];
    (0..3usize, boundary.clone(), boundary).prop_map(|(zone, a, b)| {
        let day = vec![(a.to_owned(), b.to_owned())];
        CalendarSpec {
            timezone: ["America/New_York", "Europe/London", "Australia/Lord_Howe"][zone].into(),
            weekly: WeeklySpec {
                mon: day.clone(),
                tue: day.clone(),
                wed: day.clone(),
                thu: day.clone(),
                fri: day.clone(),
                sat: day.clone(),
                sun: day,
            },
            holidays: Vec::new(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn elapsed_agrees_with_the_oracle_around_dst_changes(
        spec in dst_calendar(), change in 0..TRANSITIONS.len(), from in -(30 * 60)..(6 * 60i64), span in 0i64..(36 * 60)
    ) {
        let Some(c) = compile(&spec) else { return Ok(()) };
        let (y, mo, d) = TRANSITIONS[change];
        // Local midnight of the change day is within a day of 00:00Z.
        let a = Utc.with_ymd_and_hms(y, mo, d, 0, 0, 0).single().expect("a valid instant") + Duration::minutes(from);
        let b = a + Duration::minutes(span);
        prop_assert_eq!(c.elapsed(a, b), elapsed_oracle(&spec, a, b), "{:?}", spec);
        let d = c.elapsed(a, b);
        prop_assert_eq!(c.elapsed(a, c.add(a, d).expect("in range")), d);
    }
}
