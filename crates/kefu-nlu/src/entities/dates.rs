//! Dates shoppers mention: 今天, 昨天, 前天, 三天前, 上周五, 下个月, 11月11号,
//! 双11, yesterday, 3 days ago, last friday… resolved against a reference
//! day the caller passes (the conversation's "today" in the shop's zone).

use regex::Regex;

/// A calendar day (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Day {
    pub fn new(year: i32, month: u8, day: u8) -> Option<Day> {
        let d = Day { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(d)
    }

    /// Days since 1970-01-01.
    pub fn ordinal(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn from_ordinal(days: i64) -> Day {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Day { year, month, day }
    }

    pub fn plus_days(self, n: i64) -> Day {
        Day::from_ordinal(self.ordinal() + n)
    }

    /// 1 = Monday … 7 = Sunday.
    pub fn weekday(self) -> u8 {
        ((self.ordinal() + 3).rem_euclid(7) + 1) as u8
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A date found in text: the span and the day it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateMention {
    pub start: usize,
    pub end: usize,
    pub day: Day,
}

pub struct DateFinder {
    pattern: Regex,
}

const WEEKDAYS_ZH: &str = "一二三四五六日天";
const WEEKDAYS_EN: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

impl DateFinder {
    pub fn new() -> DateFinder {
        let pattern = Regex::new(concat!(
            r"(?P<word>大前天|前天|昨天|昨日|今天|今日|明天|后天|大后天|day before yesterday|yesterday|today|tomorrow)",
            r"|(?P<ago>[0-9一二两三四五六七八九十]{1,3})\s*(?:天|日)(?P<dir>前|以前|之前|后|以后|之后)",
            r"|(?P<ago_en>\d{1,3}) days? (?P<dir_en>ago|later)",
            r"|(?P<week>上上|上|这|本|下)(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])",
            r"|(?P<week_en>last|this|next) (?P<wd_en>monday|tuesday|wednesday|thursday|friday|saturday|sunday)",
            r"|(?P<month>[0-9]{1,2}|十[一二]?|[一二三四五六七八九])月(?P<dom>[0-9]{1,2}|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九])(?:日|号)",
            r"|(?P<double>双(?:11|十一|12|十二))",
        ))
        .unwrap_or_else(|e| unreachable!("the date pattern is a constant: {e}"));
        DateFinder { pattern }
    }

    pub fn find(&self, text: &str, today: Day) -> Vec<DateMention> {
        let mut out = Vec::new();
        for c in self.pattern.captures_iter(text) {
            let Some(whole) = c.get(0) else { continue };
            let day = if let Some(w) = c.name("word") {
                let offset = match w.as_str() {
                    "大前天" => -3,
                    "前天" | "day before yesterday" => -2,
                    "昨天" | "昨日" | "yesterday" => -1,
                    "明天" | "tomorrow" => 1,
                    "后天" => 2,
                    "大后天" => 3,
                    _ => 0,
                };
                Some(today.plus_days(offset))
            } else if let (Some(n), Some(dir)) = (c.name("ago"), c.name("dir")) {
                small_number(n.as_str()).map(|n| {
                    let sign = if dir.as_str().contains('前') { -1 } else { 1 };
                    today.plus_days(sign * n)
                })
            } else if let (Some(n), Some(dir)) = (c.name("ago_en"), c.name("dir_en")) {
                n.as_str().parse::<i64>().ok().map(|n| today.plus_days(if dir.as_str() == "ago" { -n } else { n }))
            } else if let (Some(which), Some(wd)) = (c.name("week"), c.name("wd")) {
                let target = WEEKDAYS_ZH.chars().position(|d| wd.as_str().starts_with(d)).map_or(7, |i| (i + 1).min(7));
                let weeks = match which.as_str() {
                    "上上" => -2,
                    "上" => -1,
                    "下" => 1,
                    _ => 0,
                };
                Some(in_week(today, weeks, target as u8))
            } else if let (Some(which), Some(wd)) = (c.name("week_en"), c.name("wd_en")) {
                let target = WEEKDAYS_EN.iter().position(|d| *d == wd.as_str()).map_or(1, |i| i + 1) as u8;
                let weeks = match which.as_str() {
                    "last" => -1,
                    "next" => 1,
                    _ => 0,
                };
                Some(in_week(today, weeks, target))
            } else if let (Some(m), Some(d)) = (c.name("month"), c.name("dom")) {
                match (small_number(m.as_str()), small_number(d.as_str())) {
                    (Some(m), Some(d)) => nearest_past_or_this_year(today, m as u8, d as u8),
                    _ => None,
                }
            } else if let Some(double) = c.name("double") {
                let m = if double.as_str().ends_with("11") || double.as_str().ends_with("十一") { 11 } else { 12 };
                nearest_past_or_this_year(today, m, m)
            } else {
                None
            };
            if let Some(day) = day {
                out.push(DateMention { start: whole.start(), end: whole.end(), day });
            }
        }
        out
    }
}

impl Default for DateFinder {
    fn default() -> Self {
        Self::new()
    }
}

/// The weekday `target` of the week `weeks` away from today's (weeks start on Monday).
fn in_week(today: Day, weeks: i64, target: u8) -> Day {
    let monday = today.plus_days(1 - i64::from(today.weekday()));
    monday.plus_days(weeks * 7 + i64::from(target) - 1)
}

/// A month and day without a year: this year's unless that is still ahead, then last year's.
fn nearest_past_or_this_year(today: Day, month: u8, day: u8) -> Option<Day> {
    let this = Day::new(today.year, month, day)?;
    if this <= today.plus_days(31) { Some(this) } else { Day::new(today.year - 1, month, day) }
}

/// 0–999 in digits or Chinese numerals (三, 十五, 二十一, 两).
pub fn small_number(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    super::money::chinese_number(text).filter(|n| (0..1000).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sunday, 22 November 2026.
    const TODAY: Day = Day { year: 2026, month: 11, day: 22 };

    fn days(text: &str) -> Vec<Day> {
        DateFinder::new().find(text, TODAY).into_iter().map(|m| m.day).collect()
    }

    fn d(m: u8, day: u8) -> Day {
        Day::new(2026, m, day).expect("valid")
    }

    #[test]
    fn civil_arithmetic() {
        assert_eq!(Day::new(1970, 1, 1).map(Day::ordinal), Some(0));
        assert_eq!(TODAY.weekday(), 7);
        assert_eq!(Day::from_ordinal(TODAY.ordinal()), TODAY);
        assert_eq!(Day::new(2024, 2, 28).map(|d| d.plus_days(1)), Day::new(2024, 2, 29));
        assert_eq!(Day::new(2026, 2, 29), None);
    }

    #[test]
    fn relative_days() {
        assert_eq!(days("昨天下的单"), [d(11, 21)]);
        assert_eq!(days("前天买的"), [d(11, 20)]);
        assert_eq!(days("三天前付的款"), [d(11, 19)]);
        assert_eq!(days("10天前"), [d(11, 12)]);
        assert_eq!(days("bought it 3 days ago"), [d(11, 19)]);
        assert_eq!(days("yesterday"), [d(11, 21)]);
    }

    #[test]
    fn weekdays() {
        assert_eq!(days("上周五下的单"), [d(11, 13)]);
        assert_eq!(days("这周一"), [d(11, 16)]);
        assert_eq!(days("下星期三能到吗"), [d(11, 25)]);
        assert_eq!(days("上礼拜天"), [d(11, 15)]);
        assert_eq!(days("last friday"), [d(11, 13)]);
    }

    #[test]
    fn calendar_days_and_festivals() {
        assert_eq!(days("11月11号买的"), [d(11, 11)]);
        assert_eq!(days("十一月十一日"), [d(11, 11)]);
        assert_eq!(days("双11买的"), [d(11, 11)]);
        assert_eq!(days("双十二"), [d(12, 12)]);
        assert_eq!(days("12月30号"), [Day::new(2025, 12, 30).expect("valid")], "far ahead means last year");
        assert!(days("2月30号").is_empty());
    }
}
