//! The SLA clock of a ticket: one [`Clock`] for the first response and one
//! for the resolution. A clock accumulates business time while it runs,
//! holds still while paused (the ticket waits on the customer), and stops
//! when its goal is met. Its due instant, its escalation instants and its
//! breach are all computed in business time from (consumed, running since),
//! so they are right after any number of pauses and target changes.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::BusinessCalendar;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// The target, in business seconds.
    pub target_secs: i64,
    /// Business seconds used before `running_since`.
    pub consumed_secs: i64,
    /// When the clock last started running; `None` while paused or stopped.
    pub running_since: Option<DateTime<Utc>>,
    /// When the goal was met (first response sent, ticket resolved).
    pub stopped_at: Option<DateTime<Utc>>,
    /// Set once the clock has run past its target; never cleared.
    pub breached: bool,
    /// When it ran past its target, kept when a pause or stop finds it
    /// past (while it runs, its breach is its due time). `None` until then,
    /// and for a breach recorded before the time was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_at: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn start(target: Duration, at: DateTime<Utc>) -> Self {
        Self {
            target_secs: target.num_seconds(),
            consumed_secs: 0,
            running_since: Some(at),
            stopped_at: None,
            breached: false,
            breached_at: None,
        }
    }

    /// Business time used up to `now`.
    pub fn consumed(&self, calendar: &BusinessCalendar, now: DateTime<Utc>) -> Duration {
        let running = self
            .running_since
            .map(|since| calendar.elapsed(since, now))
            .unwrap_or_default();
        Duration::seconds(self.consumed_secs) + running
    }

    /// Business time left before the target (negative once past it).
    pub fn remaining(&self, calendar: &BusinessCalendar, now: DateTime<Utc>) -> Duration {
        Duration::seconds(self.target_secs) - self.consumed(calendar, now)
    }

    /// When the target is reached if the clock keeps running; `None` while
    /// paused or once stopped.
    pub fn due(&self, calendar: &BusinessCalendar) -> Option<DateTime<Utc>> {
        self.instant_of(calendar, self.target_secs)
    }

    /// The instant the consumed time reaches `threshold` business seconds,
    /// if the clock is running: for warnings at a share of the target or
    /// some time before it. A threshold already passed gives the instant
    /// the clock last started.
    pub fn instant_of(
        &self,
        calendar: &BusinessCalendar,
        threshold_secs: i64,
    ) -> Option<DateTime<Utc>> {
        let since = self.running_since?;
        calendar.add(
            since,
            Duration::seconds((threshold_secs - self.consumed_secs).max(0)),
        )
    }

    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Whether the target is (or was ever) exceeded at `now`.
    pub fn is_breached(&self, calendar: &BusinessCalendar, now: DateTime<Utc>) -> bool {
        self.breached || self.consumed(calendar, now).num_seconds() > self.target_secs
    }

    /// When the clock ran (or, running, runs) past its target: the time a
    /// pause or stop kept for a recorded breach, else a running clock's due
    /// time, which is a breach once it has passed and ahead of `now` while
    /// the clock may still meet its target. `None` for a paused or stopped
    /// clock within its target, and for a breach recorded before its time
    /// was kept.
    pub fn breach_instant(&self, calendar: &BusinessCalendar) -> Option<DateTime<Utc>> {
        if self.breached {
            return self.breached_at;
        }
        self.due(calendar)
    }

    /// Holds the clock still (the ticket waits on the customer).
    pub fn pause(&mut self, calendar: &BusinessCalendar, at: DateTime<Utc>) {
        let due = self.due(calendar);
        if let Some(since) = self.running_since.take() {
            self.consumed_secs += calendar.elapsed(since, at).num_seconds();
            if !self.breached && self.consumed_secs > self.target_secs {
                self.breached = true;
                self.breached_at = due;
            }
        }
    }

    /// Runs the clock again after a pause.
    pub fn resume(&mut self, at: DateTime<Utc>) {
        if self.stopped_at.is_none() && self.running_since.is_none() {
            self.running_since = Some(at);
        }
    }

    /// The goal is met: the clock stops for good (a breach stays).
    pub fn stop(&mut self, calendar: &BusinessCalendar, at: DateTime<Utc>) {
        self.pause(calendar, at);
        self.stopped_at.get_or_insert(at);
    }

    /// Restarts a stopped clock (a resolved ticket reopened).
    pub fn restart(&mut self, at: DateTime<Utc>) {
        self.stopped_at = None;
        self.running_since = Some(at);
    }

    /// A new target (the priority changed); time already used is kept.
    pub fn retarget(&mut self, target: Duration) {
        self.target_secs = target.num_seconds();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    fn nine_to_five() -> BusinessCalendar {
        r#"{"timezone":"America/New_York","weekly":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]}}"#
            .parse()
            .expect("calendar")
    }

    #[test]
    fn a_pause_over_a_weekend_moves_the_due_instant_by_business_time() {
        let c = nine_to_five();
        // 8 h target from Fri 2025-06-13 15:00 EDT; due Mon 15:00 EDT (19:00Z) if it ran on.
        let mut clock = Clock::start(Duration::hours(8), utc("2025-06-13T19:00:00Z"));
        assert_eq!(clock.due(&c), Some(utc("2025-06-16T19:00:00Z")));
        // Paused Fri 16:00 (1 h used), resumed Tue 09:00 EDT: 7 h left, due Tue 16:00 EDT.
        clock.pause(&c, utc("2025-06-13T20:00:00Z"));
        assert_eq!(clock.due(&c), None, "no due instant while paused");
        assert_eq!(
            clock.consumed(&c, utc("2025-06-16T20:00:00Z")),
            Duration::hours(1),
            "the clock held still"
        );
        clock.resume(utc("2025-06-17T13:00:00Z"));
        assert_eq!(clock.due(&c), Some(utc("2025-06-17T20:00:00Z")));
        // A 50% warning: 4 h used, i.e. 3 h after resuming: Tue 12:00 EDT.
        assert_eq!(
            clock.instant_of(&c, 4 * 3600),
            Some(utc("2025-06-17T16:00:00Z"))
        );
    }

    #[test]
    fn raising_the_priority_keeps_the_time_used() {
        let c = nine_to_five();
        let mut clock = Clock::start(Duration::hours(8), utc("2025-06-16T13:00:00Z"));
        // Two hours in (Mon 11:00 EDT) the target drops to 4 h: due at 13:00 EDT.
        clock.retarget(Duration::hours(4));
        assert_eq!(clock.due(&c), Some(utc("2025-06-16T17:00:00Z")));
        assert_eq!(
            clock.remaining(&c, utc("2025-06-16T15:00:00Z")),
            Duration::hours(2)
        );
    }

    #[test]
    fn a_breach_is_permanent() {
        let c = nine_to_five();
        let mut clock = Clock::start(Duration::hours(1), utc("2025-06-16T13:00:00Z"));
        assert!(
            !clock.is_breached(&c, utc("2025-06-16T14:00:00Z")),
            "exactly at the target is not a breach"
        );
        assert!(clock.is_breached(&c, utc("2025-06-16T14:00:01Z")));
        clock.stop(&c, utc("2025-06-16T15:00:00Z"));
        assert!(clock.breached && clock.is_breached(&c, utc("2025-06-20T00:00:00Z")));
        assert_eq!(clock.due(&c), None);
    }

    #[test]
    fn the_breach_instant_is_the_due_time_kept_once_past() {
        let c = nine_to_five();
        let mut clock = Clock::start(Duration::hours(1), utc("2025-06-16T13:00:00Z"));
        let due = utc("2025-06-16T14:00:00Z");
        assert_eq!(clock.breach_instant(&c), Some(due), "running: its due time");
        // Stopped past the target: the due time is kept as the breach.
        clock.stop(&c, utc("2025-06-16T15:00:00Z"));
        assert_eq!(clock.breached_at, Some(due));
        assert_eq!(clock.breach_instant(&c), Some(due));
        // Reopened and paused again: the first breach stays the breach.
        clock.restart(utc("2025-06-17T13:00:00Z"));
        clock.pause(&c, utc("2025-06-17T15:00:00Z"));
        assert_eq!(clock.breach_instant(&c), Some(due));

        // Met within the target: no breach, ever.
        let mut met = Clock::start(Duration::hours(1), utc("2025-06-16T13:00:00Z"));
        met.stop(&c, utc("2025-06-16T13:30:00Z"));
        assert_eq!(met.breach_instant(&c), None);
        // Paused past the target over a pause: kept at the business instant
        // it was reached, not at the pause.
        let mut paused = Clock::start(Duration::hours(1), utc("2025-06-13T20:30:00Z"));
        paused.pause(&c, utc("2025-06-16T14:00:00Z"));
        assert_eq!(
            paused.breached_at,
            Some(utc("2025-06-16T13:30:00Z")),
            "30 min on Friday, 30 on Monday from 09:00 EDT"
        );
        // A breach recorded before its time was kept has none.
        let legacy: Clock = serde_json::from_value(serde_json::json!({
            "target_secs": 3600, "consumed_secs": 7200, "running_since": null,
            "stopped_at": null, "breached": true
        }))
        .expect("an older clock");
        assert_eq!(legacy.breach_instant(&c), None);
    }
}
