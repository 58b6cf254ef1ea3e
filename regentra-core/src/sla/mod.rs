//! SLA time: business-hours calendars and the arithmetic of deadlines.
//!
//! A [`BusinessCalendar`] is an IANA time zone, weekly opening intervals and
//! holidays. [`BusinessCalendar::add`] and [`BusinessCalendar::elapsed`]
//! follow `docs/sla-semantics.md` exactly: half-open intervals, `24:00` as an
//! end, overnight intervals split at midnight onto the day they start, each
//! endpoint mapped on its own date (an ambiguous time takes the earlier
//! instant, a time in a spring-forward gap moves forward by the gap),
//! holidays closing their whole local date, and `add` returning the earliest
//! instant. Their cost does not grow with the duration: business time per
//! week is precomputed as prefix sums when the calendar is compiled, so whole
//! weeks are skipped in O(log n) and only the first and last weeks are
//! walked day by day.

mod cache;
pub mod calendar;
pub mod clock;
mod zone;

pub use calendar::{BusinessCalendar, CALENDAR_CACHE_CAPACITY, CalendarSpec, WeeklySpec};
/// The IANA time zones calendars name (re-exported for hosts that show
/// times in an org's zone: [`crate::Regentra::time_zone`]).
pub use chrono_tz::Tz;
pub use clock::Clock;

use chrono::{DateTime, Duration, Utc};

/// The SLA clock across a pause: the business time consumed before the
/// pause, and the new due instant after resuming.
pub fn consumed(
    calendar: &BusinessCalendar,
    start: DateTime<Utc>,
    paused: DateTime<Utc>,
) -> Duration {
    calendar.elapsed(start, paused)
}

/// The due instant after resuming at `resumed` with `consumed` of `target`
/// already used; `None` beyond the supported range.
pub fn due_after_resume(
    calendar: &BusinessCalendar,
    resumed: DateTime<Utc>,
    target: Duration,
    consumed: Duration,
) -> Option<DateTime<Utc>> {
    calendar.add(resumed, (target - consumed).max(Duration::zero()))
}
#[cfg(test)]
mod tests;
