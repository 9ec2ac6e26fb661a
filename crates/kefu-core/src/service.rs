//! When people answer: a shop's service hours, in China time (UTC+8), so
//! the chat can say honestly "客服已下班，明天 9:00 回来" instead of promising
//! a reply in a minute at 3 a.m.

use crate::clock::{CHINA_OFFSET_MS as OFFSET_MS, Timestamp};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// Daily hours, `09:00-24:00`; a close before the open runs past midnight
/// (`20:00-02:00`), equal ends mean around the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceHours {
    open: i64,
    close: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service hours are written HH:MM-HH:MM, e.g. 09:00-24:00")]
pub struct InvalidHours;

impl Default for ServiceHours {
    /// 9:00 to midnight, as most shops on the big platforms.
    fn default() -> Self {
        ServiceHours { open: 9 * 60, close: 24 * 60 }
    }
}

impl ServiceHours {
    pub fn parse(text: &str) -> Result<ServiceHours, InvalidHours> {
        let (open, close) = text.trim().split_once('-').ok_or(InvalidHours)?;
        let minutes = |t: &str| -> Result<i64, InvalidHours> {
            let (h, m) = t.trim().split_once(':').ok_or(InvalidHours)?;
            if h.len() > 2 || m.len() != 2 {
                return Err(InvalidHours);
            }
            let (h, m): (i64, i64) = (h.parse().map_err(|_| InvalidHours)?, m.parse().map_err(|_| InvalidHours)?);
            if m >= 60 || h > 24 || (h == 24 && m > 0) {
                return Err(InvalidHours);
            }
            Ok(h * 60 + m)
        };
        Ok(ServiceHours { open: minutes(open)?, close: minutes(close)? })
    }

    fn minute_of_day(t: Timestamp) -> i64 {
        (t.millis() + OFFSET_MS).rem_euclid(DAY_MS) / MINUTE_MS
    }

    pub fn is_open(&self, t: Timestamp) -> bool {
        let m = Self::minute_of_day(t);
        match self.open.cmp(&(self.close % (24 * 60))) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => (self.open..self.close).contains(&m),
            // Past midnight, or open until 24:00.
            std::cmp::Ordering::Greater => m >= self.open || m < self.close % (24 * 60),
        }
    }

    /// When people are next in: `t` itself while open, else the next opening.
    pub fn next_open(&self, t: Timestamp) -> Timestamp {
        if self.is_open(t) {
            return t;
        }
        let m = Self::minute_of_day(t);
        let wait = (self.open - m).rem_euclid(24 * 60);
        let start_of_minute = t.millis() - (t.millis() + OFFSET_MS).rem_euclid(MINUTE_MS);
        Timestamp(start_of_minute + wait * MINUTE_MS)
    }
}

impl std::fmt::Display for ServiceHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.open), hm(self.close))
    }
}

/// Whether a shopper handed to people can expect one now: what the bot
/// promises at a hand-off, so it never says "请稍候" to an empty desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeopleNow {
    /// An agent of the shop is online.
    Answering,
    /// Within service hours, but nobody is online.
    NobodyOnline,
    /// Outside service hours (and nobody online): people are back at `next_open`.
    Closed { next_open: Timestamp },
}

impl PeopleNow {
    pub fn of(someone_online: bool, hours: &ServiceHours, now: Timestamp) -> PeopleNow {
        if someone_online {
            PeopleNow::Answering
        } else if hours.is_open(now) {
            PeopleNow::NobodyOnline
        } else {
            PeopleNow::Closed { next_open: hours.next_open(now) }
        }
    }
}

/// When people are back, as a shopper reads it: whether that is tomorrow
/// (in China time) rather than today, and the hour and minute.
pub fn back_at(now: Timestamp, next_open: Timestamp) -> (bool, i64, i64) {
    let minute = ServiceHours::minute_of_day(next_open);
    (next_open.china_day() > now.china_day(), minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 00:00 in Beijing.
    const MIDNIGHT: i64 = 1_795_276_800_000;
    fn at(h: i64, m: i64) -> Timestamp {
        Timestamp(MIDNIGHT + (h * 60 + m) * MINUTE_MS)
    }

    #[test]
    fn daytime_hours() {
        let h = ServiceHours::parse("09:00-24:00").expect("hours");
        assert_eq!(h, ServiceHours::default());
        assert!(!h.is_open(at(8, 59)));
        assert!(h.is_open(at(9, 0)));
        assert!(h.is_open(at(23, 59)));
        assert!(!h.is_open(at(0, 0)));
        assert_eq!(h.next_open(at(3, 30)), at(9, 0));
        assert_eq!(h.next_open(at(12, 0)), at(12, 0));
    }

    #[test]
    fn hours_past_midnight_and_around_the_clock() {
        let h = ServiceHours::parse("20:00-02:00").expect("hours");
        assert!(h.is_open(at(23, 0)) && h.is_open(at(1, 59)));
        assert!(!h.is_open(at(2, 0)) && !h.is_open(at(19, 59)));
        assert_eq!(h.next_open(at(2, 0)), at(20, 0));
        let all = ServiceHours::parse("00:00-24:00").expect("hours");
        assert!(all.is_open(at(3, 0)) && all.is_open(at(23, 59)));
        // The next opening after closing time is tomorrow's.
        let day = ServiceHours::parse("9:00-18:00").expect("hours");
        assert_eq!(day.next_open(at(18, 30)), at(24 + 9, 0));
    }

    #[test]
    fn who_is_there_at_a_hand_off() {
        let h = ServiceHours::default();
        assert_eq!(PeopleNow::of(true, &h, at(3, 0)), PeopleNow::Answering);
        assert_eq!(PeopleNow::of(false, &h, at(12, 0)), PeopleNow::NobodyOnline);
        assert_eq!(PeopleNow::of(false, &h, at(3, 0)), PeopleNow::Closed { next_open: at(9, 0) });
        assert_eq!(back_at(at(3, 0), at(9, 0)), (false, 9, 0));
        let late = ServiceHours::parse("08:30-18:00").expect("hours");
        assert_eq!(back_at(at(19, 0), late.next_open(at(19, 0))), (true, 8, 30));
        assert_eq!(late.to_string(), "08:30-18:00");
        assert_eq!(h.to_string(), "09:00-24:00");
    }

    #[test]
    fn bad_hours_are_refused() {
        for bad in ["", "9-18", "09:00", "25:00-26:00", "09:60-18:00", "24:30-01:00", "a:bc-18:00", "09:00-18:00-19:00"]
        {
            assert_eq!(ServiceHours::parse(bad), Err(InvalidHours), "{bad}");
        }
    }
}
