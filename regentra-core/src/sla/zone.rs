//! Time-zone facts the SLA arithmetic needs fast: the UTC offset at any
//! instant, and which local days contain a transition. Computed once per
//! zone from chrono-tz over a bounded range and shared; outside the range
//! the arithmetic falls back to asking chrono-tz directly.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::{NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

use super::cache::{Lru, SharedLru, get_or_try_insert};

pub(crate) const DAY: i64 = 86_400;

/// How many zone tables stay built (a few KiB to some tens of KiB each).
/// chrono-tz knows about 600 zones, so this bounds the cache well below
/// what requests naming every zone would otherwise keep.
pub(crate) const ZONE_CACHE_CAPACITY: usize = 64;

fn zone_cache() -> &'static SharedLru<Tz, ZoneTable> {
    static CACHE: OnceLock<SharedLru<Tz, ZoneTable>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Lru::new(ZONE_CACHE_CAPACITY)))
}

/// How many zone tables the shared cache holds now.
#[cfg(test)]
pub(crate) fn cached_zones() -> usize {
    zone_cache().lock().unwrap_or_else(|p| p.into_inner()).len()
}

/// Day numbers (days since 1970-01-01) covered by the tables.
pub(crate) const FIRST_DAY: i64 = 0; // 1970-01-01
pub(crate) const LAST_DAY: i64 = 47_482; // 2099-12-31

#[derive(Debug)]
pub(crate) struct ZoneTable {
    pub tz: Tz,
    /// (UTC second of the transition, offset in seconds from then on).
    transitions: Vec<(i64, i32)>,
    initial: i32,
    /// Local day numbers on or next to a transition, sorted.
    pub dirty_days: Vec<i64>,
}

impl ZoneTable {
    /// The zone's table, built once and shared while it stays among the
    /// [`ZONE_CACHE_CAPACITY`] most recently used zones.
    pub(crate) fn get(tz: Tz) -> Arc<ZoneTable> {
        let built = get_or_try_insert(zone_cache(), tz, || {
            Ok::<_, std::convert::Infallible>(ZoneTable::build(tz))
        });
        match built {
            Ok(table) => table,
            Err(never) => match never {},
        }
    }

    fn build(tz: Tz) -> ZoneTable {
        let lo = FIRST_DAY * DAY - DAY;
        let hi = (LAST_DAY + 2) * DAY;
        let initial = offset_slow(tz, lo);
        let mut transitions = Vec::new();
        let mut current = initial;
        let mut t = lo;
        // Offsets change at most a few times a year, never twice in six hours.
        let step = 6 * 3600;
        while t < hi {
            let next = offset_slow(tz, t + step);
            if next != current {
                // The exact second of the change.
                let (mut a, mut b) = (t, t + step);
                while b - a > 1 {
                    let mid = a + (b - a) / 2;
                    if offset_slow(tz, mid) == current {
                        a = mid
                    } else {
                        b = mid
                    }
                }
                transitions.push((b, next));
                current = next;
            }
            t += step;
        }
        let mut dirty_days = Vec::new();
        let mut before = initial;
        for &(at, after) in &transitions {
            for offset in [before, after] {
                let day = (at + i64::from(offset)).div_euclid(DAY);
                dirty_days.extend([day - 1, day, day + 1]);
            }
            before = after;
        }
        dirty_days.sort_unstable();
        dirty_days.dedup();
        ZoneTable {
            tz,
            transitions,
            initial,
            dirty_days,
        }
    }

    /// The offset (seconds east of UTC) in effect at a UTC second.
    pub(crate) fn offset_at(&self, utc: i64) -> i32 {
        if !(FIRST_DAY * DAY..=(LAST_DAY + 1) * DAY).contains(&utc) {
            return offset_slow(self.tz, utc);
        }
        match self.transitions.partition_point(|&(at, _)| at <= utc) {
            0 => self.initial,
            i => self.transitions[i - 1].1,
        }
    }

    /// Whether local day `day` may contain (or touch) a transition; days
    /// outside the tables are always treated as such.
    pub(crate) fn is_dirty(&self, day: i64) -> bool {
        !(FIRST_DAY..=LAST_DAY).contains(&day) || self.dirty_days.binary_search(&day).is_ok()
    }
}

fn offset_slow(tz: Tz, utc: i64) -> i32 {
    match chrono::DateTime::from_timestamp(utc, 0) {
        Some(t) => tz
            .offset_from_utc_datetime(&t.naive_utc())
            .fix()
            .local_minus_utc(),
        None => 0,
    }
}

/// The UTC second of local midnight + `minute` on `day`, by the rule of
/// `docs/sla-semantics.md`: an ambiguous time takes the earlier instant, a
/// time in a gap moves forward by the gap.
pub(crate) fn map_local(tz: Tz, day: i64, minute: u32) -> i64 {
    let local = day * DAY + i64::from(minute) * 60;
    let Some(naive) = chrono::DateTime::from_timestamp(local, 0).map(|t| t.naive_utc()) else {
        return local;
    };
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.timestamp(),
        chrono::LocalResult::Ambiguous(earlier, _) => earlier.timestamp(),
        chrono::LocalResult::None => {
            // In a gap: read the wall time with the offset in force before it.
            let before = tz
                .from_local_datetime(&(naive - chrono::Duration::hours(12)))
                .earliest()
                .map(|t| t.offset().fix().local_minus_utc())
                .unwrap_or(0);
            local - i64::from(before)
        }
    }
}

/// The day number of a date.
pub(crate) fn day_number(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default())
        .num_days()
}
