//! The `regentra sla` contract: exactly one value on stdout, or one line on
//! stderr and a non-zero exit.

use std::io::Write as _;

use crate::support::process::run as regentra;

const NY: &str = r#"{"timezone":"America/New_York","weekly":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]},"holidays":["2025-12-25"]}"#;

fn calendar_file(json: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(json.as_bytes()).expect("write");
    f
}

fn ok(args: &[&str]) -> String {
    let out = regentra(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fails(args: &[&str], expected: &str) {
    let out = regentra(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn due_prints_the_instant_in_utc_with_seconds_and_nothing_else() {
    let cal = calendar_file(NY);
    let path = cal.path().to_str().expect("path");
    // Friday 17:59 EDT + 60 business minutes: Monday 10:00 EDT.
    assert_eq!(
        ok(&[
            "sla",
            "due",
            "--calendar",
            path,
            "--start",
            "2025-06-13T17:59:00-04:00",
            "--minutes",
            "60"
        ]),
        "2025-06-16T14:00:00Z\n"
    );
    // Monday 09:00 EDT + 479 minutes: 16:59 EDT.
    assert_eq!(
        ok(&[
            "sla",
            "due",
            "--calendar",
            path,
            "--start",
            "2025-06-16T13:00:00Z",
            "--minutes",
            "479"
        ]),
        "2025-06-16T20:59:00Z\n"
    );
}

#[test]
fn elapsed_prints_whole_business_minutes() {
    let cal = calendar_file(NY);
    let path = cal.path().to_str().expect("path");
    assert_eq!(
        ok(&[
            "sla",
            "elapsed",
            "--calendar",
            path,
            "--from",
            "2025-06-13T21:59:00Z",
            "--to",
            "2025-06-16T14:00:00Z"
        ]),
        "60\n"
    );
    // Across the Christmas holiday: Wed 24th 16:00 to Fri 26th 10:00 EST is 2 h.
    assert_eq!(
        ok(&[
            "sla",
            "elapsed",
            "--calendar",
            path,
            "--from",
            "2025-12-24T21:00:00Z",
            "--to",
            "2025-12-26T15:00:00Z"
        ]),
        "120\n"
    );
}

#[test]
fn bad_input_is_one_line_naming_what_is_wrong() {
    let cal = calendar_file(NY);
    let path = cal.path().to_str().expect("path");
    fails(
        &[
            "sla",
            "due",
            "--calendar",
            "/no/such/file.json",
            "--start",
            "2025-06-13T17:59:00Z",
            "--minutes",
            "1",
        ],
        "--calendar: cannot read",
    );
    let broken = calendar_file(r#"{"timezone":"Mars/Base","weekly":{"mon":[["9","17:00"]]}}"#);
    let broken_path = broken.path().to_str().expect("path");
    fails(
        &[
            "sla",
            "elapsed",
            "--calendar",
            broken_path,
            "--from",
            "2025-06-13T17:59:00Z",
            "--to",
            "2025-06-14T00:00:00Z",
        ],
        "timezone: unknown time zone",
    );
    fails(
        &[
            "sla",
            "due",
            "--calendar",
            path,
            "--start",
            "Friday at six",
            "--minutes",
            "1",
        ],
        "--start",
    );
    fails(
        &[
            "sla",
            "elapsed",
            "--calendar",
            path,
            "--from",
            "2025-06-13T17:59:00Z",
            "--to",
            "2025-13-01T00:00:00Z",
        ],
        "--to",
    );
    fails(
        &[
            "sla",
            "due",
            "--calendar",
            path,
            "--start",
            "2025-06-13T17:59:00Z",
            "--minutes",
            "-5",
        ],
        "--minutes",
    );
}
