//! Business-hours calendars: validation, compilation, and the arithmetic.

use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use super::cache::{Lru, SharedLru, get_or_try_insert};
use super::zone::{DAY, FIRST_DAY, LAST_DAY, ZoneTable, day_number, map_local};
use crate::error::{Error, FieldError, Result};

/// How many compiled calendars stay in memory (about 110 KiB each, so some
/// 14 MiB at most); a deployment with more distinct calendars in use
/// recompiles the least used ones when they come back.
pub const CALENDAR_CACHE_CAPACITY: usize = 128;

type CalendarKey = [u8; 32];

fn calendar_cache() -> &'static SharedLru<CalendarKey, BusinessCalendar> {
    static CACHE: OnceLock<SharedLru<CalendarKey, BusinessCalendar>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Lru::new(CALENDAR_CACHE_CAPACITY)))
}

fn calendar_key(spec: &CalendarSpec) -> Result<CalendarKey> {
    let json = serde_json::to_vec(spec).map_err(Error::storage)?;
    Ok(Sha256::digest(json).into())
}

/// How many compiled calendars the shared cache holds now.
#[cfg(test)]
pub(crate) fn cached_calendars() -> usize {
    calendar_cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .len()
}

/// The JSON form of a calendar:
/// `{"timezone":"America/New_York","weekly":{"mon":[["09:00","17:00"]]},"holidays":["2025-12-25"]}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    pub timezone: String,
    #[serde(default)]
    pub weekly: WeeklySpec,
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Opening intervals per weekday, `[["HH:MM","HH:MM"], ...]`; a day absent
/// or empty is closed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklySpec {
    #[serde(default)]
    pub mon: Vec<(String, String)>,
    #[serde(default)]
    pub tue: Vec<(String, String)>,
    #[serde(default)]
    pub wed: Vec<(String, String)>,
    #[serde(default)]
    pub thu: Vec<(String, String)>,
    #[serde(default)]
    pub fri: Vec<(String, String)>,
    #[serde(default)]
    pub sat: Vec<(String, String)>,
    #[serde(default)]
    pub sun: Vec<(String, String)>,
}

impl WeeklySpec {
    fn days(&self) -> [(&'static str, &Vec<(String, String)>); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

const MINUTES_PER_DAY: u32 = 24 * 60;

/// A compiled calendar: cheap to share, and the arithmetic allocates nothing.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    spec: CalendarSpec,
    zone: Arc<ZoneTable>,
    /// Per weekday (Monday first), sorted local-minute intervals, overnight
    /// intervals already split onto the next day.
    weekly: [Vec<(u32, u32)>; 7],
    /// Holiday day numbers, sorted.
    holidays: Vec<i64>,
    always_open: bool,
    /// Business seconds from the start of the first table week to the start
    /// of each later week: whole weeks are skipped with a subtraction.
    table: Arc<WeekTable>,
}

#[derive(Debug)]
struct WeekTable {
    first_week: i64,
    cum: Vec<i64>,
    /// Per week: the UTC offset when the week has no holiday and no time
    /// zone transition (its days are then pure arithmetic), else `None`.
    clean: Vec<Option<i32>>,
}

/// Weeks start on Monday; day 4 (1970-01-05) was one.
fn week_of(day: i64) -> i64 {
    (day - 4).div_euclid(7)
}

fn week_start_day(week: i64) -> i64 {
    4 + 7 * week
}

fn weekday(day: i64) -> usize {
    (day - 4).rem_euclid(7) as usize
}

fn parse_time(raw: &str, end: bool) -> std::result::Result<u32, &'static str> {
    let bytes = raw.as_bytes();
    if bytes.len() != 5
        || bytes[2] != b':'
        || !raw
            .chars()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err("must be a time like 09:00");
    }
    let hours: u32 = raw[..2].parse().map_err(|_| "must be a time like 09:00")?;
    let minutes: u32 = raw[3..].parse().map_err(|_| "must be a time like 09:00")?;
    match (hours, minutes) {
        (24, 0) if end => Ok(MINUTES_PER_DAY),
        (24, 0) => Err("24:00 can only end an interval"),
        (h, m) if h < 24 && m < 60 => Ok(h * 60 + m),
        _ => Err("is not a valid time of day"),
    }
}

impl FromStr for BusinessCalendar {
    type Err = Error;

    /// Parses and validates the JSON form.
    fn from_str(json: &str) -> Result<Self> {
        let spec: CalendarSpec = serde_json::from_str(json)
            .map_err(|e| Error::invalid("calendar", format!("not a valid calendar: {e}")))?;
        BusinessCalendar::new(spec)
    }
}

impl BusinessCalendar {
    /// Validates a calendar, reporting every problem with the field it is in.
    pub fn new(spec: CalendarSpec) -> Result<Self> {
        let mut errors = Vec::new();
        let tz = match spec.timezone.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(FieldError::new(
                    "timezone",
                    format!("unknown time zone `{}`", spec.timezone),
                ));
                None
            }
        };
        // Split overnight intervals onto the next day, keeping where each came from.
        let mut split: [Vec<(u32, u32, String)>; 7] = Default::default();
        for (index, (name, intervals)) in spec.weekly.days().into_iter().enumerate() {
            for (i, (start, end)) in intervals.iter().enumerate() {
                let at = format!("weekly.{name}[{i}]");
                let s = parse_time(start, false)
                    .map_err(|m| errors.push(FieldError::new(format!("{at}[0]"), m)));
                let e = parse_time(end, true)
                    .map_err(|m| errors.push(FieldError::new(format!("{at}[1]"), m)));
                let (Ok(s), Ok(e)) = (s, e) else { continue };
                if s == e {
                    errors.push(FieldError::new(at, "an interval must not be empty"));
                } else if s < e {
                    split[index].push((s, e, at));
                } else {
                    split[index].push((s, MINUTES_PER_DAY, at.clone()));
                    if e > 0 {
                        split[(index + 1) % 7].push((0, e, at));
                    }
                }
            }
        }
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut weekly: [Vec<(u32, u32)>; 7] = Default::default();
        for (index, day) in split.iter_mut().enumerate() {
            day.sort();
            for pair in day.windows(2) {
                if pair[0].1 > pair[1].0 {
                    errors.push(FieldError::new(
                        format!("weekly.{}", names[index]),
                        format!("intervals overlap ({} and {})", pair[0].2, pair[1].2),
                    ));
                }
            }
            weekly[index] = day.iter().map(|(s, e, _)| (*s, *e)).collect();
        }
        if weekly.iter().all(Vec::is_empty) && errors.is_empty() {
            errors.push(FieldError::new("weekly", "the calendar is never open"));
        }
        let mut holidays = Vec::new();
        for (i, raw) in spec.holidays.iter().enumerate() {
            match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(date) => {
                    let day = day_number(date);
                    if holidays.contains(&day) {
                        errors.push(FieldError::new(format!("holidays[{i}]"), "is listed twice"));
                    }
                    holidays.push(day);
                }
                Err(_) => errors.push(FieldError::new(
                    format!("holidays[{i}]"),
                    "must be a date like 2025-12-25",
                )),
            }
        }
        holidays.sort_unstable();
        holidays.dedup();
        let Some(tz) = tz else {
            return Err(Error::Validation(errors));
        };
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let always_open = holidays.is_empty()
            && weekly
                .iter()
                .all(|d| d.as_slice() == [(0, MINUTES_PER_DAY)]);
        let mut calendar = BusinessCalendar {
            spec,
            zone: ZoneTable::get(tz),
            weekly,
            holidays,
            always_open,
            table: Arc::new(WeekTable {
                first_week: 0,
                cum: Vec::new(),
                clean: Vec::new(),
            }),
        };
        calendar.table = Arc::new(calendar.build_table());
        Ok(calendar)
    }

    /// A compiled calendar shared by everyone who uses the same spec:
    /// compiling builds tables (about 110 KiB), so tickets and sweeps reuse
    /// one copy. At most [`CALENDAR_CACHE_CAPACITY`] stay compiled, the least
    /// recently used going first. They are keyed by content (the SHA-256 of
    /// the spec's JSON, whose field order is fixed), not by policy: equal
    /// specs compile to equal calendars whoever owns them, so orgs share one
    /// copy, and an edited calendar can never be answered from a stale one.
    pub fn shared(spec: &CalendarSpec) -> Result<Arc<BusinessCalendar>> {
        let key = calendar_key(spec)?;
        get_or_try_insert(calendar_cache(), key, || {
            BusinessCalendar::new(spec.clone())
        })
    }

    /// The calendar as it was given.
    pub fn spec(&self) -> &CalendarSpec {
        &self.spec
    }

    pub fn timezone(&self) -> Tz {
        self.zone.tz
    }

    /// Business time in `[from, to)`; zero when `to` is not after `from`.
    /// Instants count to the second (a sub-second part is dropped).
    pub fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        Duration::seconds(self.elapsed_secs(from.timestamp(), to.timestamp()))
    }

    /// The earliest instant `u` with `elapsed(start, u) == duration` (so a
    /// deadline can fall exactly at closing time); `add(t, 0) == t`. `None`
    /// if the answer lies beyond the year 9999.
    pub fn add(&self, start: DateTime<Utc>, duration: Duration) -> Option<DateTime<Utc>> {
        if duration <= Duration::zero() {
            return Some(start);
        }
        if self.always_open {
            return start.checked_add_signed(duration);
        }
        // Business time counts whole seconds, like `elapsed`.
        let secs = self.add_secs(start.timestamp(), duration.num_seconds())?;
        DateTime::from_timestamp(secs, 0)
    }

    /// Whether the calendar is open at `t`.
    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        let t = t.timestamp();
        let day = self.local_day(t);
        let mut open = false;
        self.walk(day - 1, day + 1, &mut |s, e| {
            if s <= t && t < e {
                open = true;
                return false;
            }
            true
        });
        open
    }

    /// The first instant at or after `t` when the calendar is open; `None`
    /// beyond the year 9999.
    pub fn next_open(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(t) {
            return Some(t);
        }
        let secs = t.timestamp();
        let mut found = None;
        self.walk(self.local_day(secs) - 1, MAX_DAY, &mut |s, e| {
            if e > secs {
                found = Some(s.max(secs));
                return false;
            }
            true
        });
        found.and_then(|s| DateTime::from_timestamp(s, 0))
    }

    // ----- the arithmetic, in UTC seconds ---------------------------------

    fn local_day(&self, utc: i64) -> i64 {
        (utc + i64::from(self.zone.offset_at(utc))).div_euclid(DAY)
    }

    fn is_holiday(&self, day: i64) -> bool {
        self.holidays.binary_search(&day).is_ok()
    }

    /// Calls `f(start, end)` for each opening interval, in order, from local
    /// day `from` to `to` inclusive, until `f` returns false. Overlaps that
    /// DST can create at a gap are merged.
    fn walk(&self, from: i64, to: i64, f: &mut dyn FnMut(i64, i64) -> bool) {
        let mut cursor = i64::MIN;
        let mut day = from;
        while day <= to {
            // In a clean week a day is pure arithmetic; otherwise look up
            // holidays and transitions day by day.
            let clean_week = self.clean_offset(week_of(day));
            if clean_week.is_some() || !self.is_holiday(day) {
                let intervals = &self.weekly[weekday(day)];
                if !intervals.is_empty() {
                    let tz = self.zone.tz;
                    let offset = match clean_week {
                        Some(offset) => Some(offset),
                        None if !self.zone.is_dirty(day) => {
                            Some(self.zone.offset_at(day * DAY + DAY / 2))
                        }
                        None => None,
                    };
                    let clean = offset.is_some();
                    let base = day * DAY - i64::from(offset.unwrap_or(0));
                    for &(s, e) in intervals {
                        let (start, end) = if clean {
                            (base + i64::from(s) * 60, base + i64::from(e) * 60)
                        } else {
                            (map_local(tz, day, s), map_local(tz, day, e))
                        };
                        let start = start.max(cursor);
                        if end > start {
                            cursor = end;
                            if !f(start, end) {
                                return;
                            }
                        }
                    }
                }
            }
            day += 1;
        }
    }

    /// Business seconds in `[a, b)` by walking days (clamped to the range).
    fn walk_elapsed(&self, a: i64, b: i64, from_day: i64, to_day: i64) -> i64 {
        let mut total = 0;
        self.walk(from_day, to_day, &mut |s, e| {
            if s >= b {
                return false;
            }
            total += (e.min(b) - s.max(a)).max(0);
            true
        });
        total
    }

    fn elapsed_secs(&self, a: i64, b: i64) -> i64 {
        if a >= b {
            return 0;
        }
        if self.always_open {
            return b - a;
        }
        let (da, db) = (self.local_day(a), self.local_day(b));
        // Whole weeks strictly after a's day and before b's week are read
        // from the table; the rest is walked.
        let (first, last) = (week_of(da) + 1, week_of(db));
        if let (Some(x), Some(y)) = (self.cum_at(first), self.cum_at(last))
            && first < last
        {
            let head = self.walk_elapsed(a, b, da - 1, week_start_day(first) - 1);
            let tail = self.walk_elapsed(a, b, week_start_day(last), db + 1);
            return head + (y - x) + tail;
        }
        self.walk_elapsed(a, b, da - 1, db + 1)
    }

    fn add_secs(&self, t: i64, duration: i64) -> Option<i64> {
        let mut remaining = duration;
        let dt = self.local_day(t);
        // The rest of t's week, walked.
        let first = week_of(dt) + 1;
        if let Some(u) = self.walk_add(t, &mut remaining, dt - 1, week_start_day(first) - 1) {
            return Some(u);
        }
        // Whole weeks, skipped with the table while the deadline lies beyond them.
        let mut day = week_start_day(first);
        if let Some(base) = self.cum_at(first) {
            let start = (first - self.table.first_week) as usize;
            let cum = &self.table.cum[start..];
            // The last week boundary reached before `remaining` is used up.
            let k = cum
                .partition_point(|&c| c - base < remaining)
                .saturating_sub(1);
            remaining -= cum[k] - base;
            day = week_start_day(first + k as i64);
        }
        self.walk_add(t, &mut remaining, day, MAX_DAY)
    }

    /// Walks days consuming `remaining`; the instant where it runs out.
    fn walk_add(&self, t: i64, remaining: &mut i64, from_day: i64, to_day: i64) -> Option<i64> {
        let mut found = None;
        self.walk(from_day, to_day, &mut |s, e| {
            let s = s.max(t);
            if e <= s {
                return true;
            }
            if *remaining <= e - s {
                found = Some(s + *remaining);
                return false;
            }
            *remaining -= e - s;
            true
        });
        found
    }

    /// The week's offset when it is clean (see [`WeekTable::clean`]).
    fn clean_offset(&self, week: i64) -> Option<i32> {
        let i = week - self.table.first_week;
        if i < 0 {
            return None;
        }
        self.table.clean.get(i as usize).copied().flatten()
    }

    /// Business seconds from the first table week to the start of `week`.
    fn cum_at(&self, week: i64) -> Option<i64> {
        let i = week - self.table.first_week;
        (i >= 0)
            .then(|| self.table.cum.get(i as usize).copied())
            .flatten()
    }

    fn build_table(&self) -> WeekTable {
        let first_week = week_of(FIRST_DAY) + 1;
        let last_week = week_of(LAST_DAY);
        let mut cum = Vec::with_capacity((last_week - first_week + 1) as usize);
        let mut total = 0;
        cum.push(0);
        let mut week = first_week;
        let mut boundary = self.week_start(week + 1);
        self.walk(
            week_start_day(first_week),
            week_start_day(last_week) - 1,
            &mut |s, e| {
                while s >= boundary {
                    cum.push(total);
                    week += 1;
                    boundary = self.week_start(week + 1);
                }
                total += e - s;
                true
            },
        );
        while week < last_week {
            cum.push(total);
            week += 1;
        }
        let clean = (first_week..=last_week)
            .map(|w| {
                let days = week_start_day(w)..week_start_day(w) + 7;
                let quiet = days
                    .clone()
                    .all(|d| !self.zone.is_dirty(d) && !self.is_holiday(d));
                quiet.then(|| self.zone.offset_at(week_start_day(w) * DAY + DAY / 2))
            })
            .collect();
        WeekTable {
            first_week,
            cum,
            clean,
        }
    }

    /// The UTC second of local Monday 00:00 of a week.
    fn week_start(&self, week: i64) -> i64 {
        map_local(self.zone.tz, week_start_day(week), 0)
    }
}

/// Days past which the arithmetic gives up (the end of 9999).
const MAX_DAY: i64 = 2_932_896;
