//! Time: UTC instants in milliseconds, from a [`Clock`] port so tests can
//! freeze and move time.

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn millis(self) -> i64 {
        self.0
    }
    pub const fn plus_millis(self, ms: i64) -> Self {
        Self(self.0 + ms)
    }
    pub const fn plus_days(self, days: i64) -> Self {
        Self(self.0 + days * 86_400_000)
    }

    /// The day in China time (UTC+8, where the shops' days start), counted
    /// from 1970-01-01: the unit of daily budgets.
    pub const fn china_day(self) -> i64 {
        (self.0 + CHINA_OFFSET_MS).div_euclid(86_400_000)
    }

    /// The next midnight in China time after this instant.
    pub const fn next_china_midnight(self) -> Timestamp {
        Timestamp::china_day_start(self.china_day() + 1)
    }

    /// The last midnight in China time at or before this instant: where an
    /// agent's 今日 starts.
    pub const fn china_midnight(self) -> Timestamp {
        Timestamp::china_day_start(self.china_day())
    }

    /// Where a China day (as [`Timestamp::china_day`] counts them) starts.
    pub const fn china_day_start(day: i64) -> Timestamp {
        Timestamp(day * 86_400_000 - CHINA_OFFSET_MS)
    }
}

/// China Standard Time's offset from UTC.
pub const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        let elapsed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(elapsed.as_millis() as i64)
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        Self(AtomicI64::new(t.0))
    }
    pub fn advance_millis(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}
