//! `add` and `elapsed` on a 9-17 calendar with a lunch break and ten
//! holidays a year in America/New_York, for one hour, one week and 10,000
//! hours of business time, beside a naive minute-stepping baseline.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use regentra_core::sla::BusinessCalendar;

fn calendar() -> BusinessCalendar {
    let day = r#"[["09:00","12:00"],["13:00","17:00"]]"#;
    let mut holidays = Vec::new();
    for year in 2025..=2032 {
        for md in [
            "01-01", "01-20", "02-17", "05-26", "06-19", "07-04", "09-01", "11-11", "11-27",
            "12-25",
        ] {
            holidays.push(format!("\"{year}-{md}\""));
        }
    }
    format!(
        r#"{{"timezone":"America/New_York","weekly":{{"mon":{day},"tue":{day},"wed":{day},"thu":{day},"fri":{day}}},"holidays":[{}]}}"#,
        holidays.join(",")
    )
    .parse()
    .expect("valid calendar")
}

/// The baseline: step one minute at a time.
fn naive_add(c: &BusinessCalendar, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    let mut t = start;
    let mut left = minutes;
    while left > 0 {
        if c.is_open(t) {
            left -= 1;
        }
        t += Duration::minutes(1);
    }
    t
}

fn benches(c: &mut Criterion) {
    let cal = calendar();
    // Monday 2025-01-06 10:30 EST.
    let start = DateTime::parse_from_rfc3339("2025-01-06T15:30:00Z")
        .expect("instant")
        .with_timezone(&Utc);
    let cases = [("1h", 60i64), ("1w", 7 * 24 * 60), ("10000h", 10_000 * 60)];
    for (name, minutes) in cases {
        let d = Duration::minutes(minutes);
        let end = cal.add(start, d).expect("in range");
        c.bench_function(&format!("sla/add_{name}"), |b| {
            b.iter(|| cal.add(black_box(start), black_box(d)))
        });
        c.bench_function(&format!("sla/elapsed_{name}"), |b| {
            b.iter(|| cal.elapsed(black_box(start), black_box(end)))
        });
    }
    let mut group = c.benchmark_group("sla/naive_add");
    group.sample_size(10);
    for (name, minutes) in cases {
        group.bench_function(name, |b| {
            b.iter(|| naive_add(&cal, black_box(start), black_box(minutes)))
        });
    }
    group.finish();
}

criterion_group!(sla, benches);
criterion_main!(sla);
