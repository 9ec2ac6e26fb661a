//! Money amounts (¥199, 199元, 一百五十块, 3块5, 1.5万, $12.50, 12 rmb) as
//! integer fen, and the Chinese numerals they are often written in.

use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyMention {
    pub start: usize,
    pub end: usize,
    /// 1 yuan = 100 fen; other currencies are not converted.
    pub fen: i64,
    pub currency: &'static str,
}

pub struct MoneyFinder {
    pattern: Regex,
}

const CN_DIGITS: &str = "零〇一二两三四五六七八九十百千万";

impl MoneyFinder {
    pub fn new() -> MoneyFinder {
        let number = r"[0-9]+(?:\.[0-9]{1,2})?";
        let cn = format!("[{CN_DIGITS}]+");
        let pattern = Regex::new(&format!(
            r"(?:[¥￥]\s*(?P<pre>{number}))|(?:(?P<num>{number})\s*(?P<mul>万)?\s*(?P<unit>元|块钱|块|rmb|yuan|cny))(?P<jiao>[0-9一二三四五六七八九])?|(?:(?P<cn>{cn})\s*(?P<cnunit>元|块钱|块)(?P<cnjiao>[一二三四五六七八九])?)|(?:\$\s*(?P<usd>{number}))"
        ))
        .unwrap_or_else(|e| unreachable!("the money pattern is a constant: {e}"));
        MoneyFinder { pattern }
    }

    pub fn find(&self, text: &str) -> Vec<MoneyMention> {
        let mut out = Vec::new();
        for c in self.pattern.captures_iter(text) {
            let Some(whole) = c.get(0) else { continue };
            let (fen, currency) = if let Some(n) = c.name("pre") {
                (decimal_fen(n.as_str()), "CNY")
            } else if let Some(n) = c.name("num") {
                let base = decimal_fen(n.as_str());
                let base = if c.name("mul").is_some() { base.and_then(|b| b.checked_mul(10_000)) } else { base };
                let jiao = c.name("jiao").and_then(|j| digit(j.as_str())).unwrap_or(0);
                (base.and_then(|b| b.checked_add(jiao * 10)), "CNY")
            } else if let Some(n) = c.name("cn") {
                let jiao = c.name("cnjiao").and_then(|j| digit(j.as_str())).unwrap_or(0);
                (
                    chinese_number(n.as_str()).and_then(|y| y.checked_mul(100)).and_then(|f| f.checked_add(jiao * 10)),
                    "CNY",
                )
            } else if let Some(n) = c.name("usd") {
                (decimal_fen(n.as_str()), "USD")
            } else {
                (None, "")
            };
            if let Some(fen) = fen {
                out.push(MoneyMention { start: whole.start(), end: whole.end(), fen, currency });
            }
        }
        out
    }
}

impl Default for MoneyFinder {
    fn default() -> Self {
        Self::new()
    }
}

/// "12.5" → 1250 fen, without floating point.
fn decimal_fen(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        2 => frac.parse().ok()?,
        _ => return None,
    };
    whole.checked_mul(100)?.checked_add(frac)
}

fn digit(text: &str) -> Option<i64> {
    let c = text.chars().next()?;
    c.to_digit(10).map(i64::from).or_else(|| cn_digit(c))
}

fn cn_digit(c: char) -> Option<i64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// Chinese numerals up to the 万s: 十五 → 15, 两千三 → 2300, 一百零五 → 105,
/// 三万五千 → 35000. `None` when the text is not a well-formed numeral.
pub fn chinese_number(text: &str) -> Option<i64> {
    let mut total: i64 = 0; // completed 万 groups
    let mut section: i64 = 0; // below 万
    let mut digit: Option<i64> = None;
    let mut last_unit = 0i64;
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return None;
    }
    for c in &chars {
        if let Some(d) = cn_digit(*c) {
            if digit.is_some() && d != 0 {
                return None; // 三四: two digits in a row is not a numeral
            }
            digit = if d == 0 { None } else { Some(d) };
            if d == 0 {
                last_unit = 0;
            }
            continue;
        }
        let unit = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            '万' => 10_000,
            _ => return None,
        };
        if unit == 10_000 {
            section += digit.take().unwrap_or(0);
            total = total.checked_add(section.max(1).checked_mul(10_000)?)?;
            section = 0;
            last_unit = 10_000;
            continue;
        }
        let d = digit.take().unwrap_or(1);
        section += d * unit;
        last_unit = unit;
    }
    if let Some(d) = digit {
        // 两千三 = 2300: a trailing digit after a unit is one unit lower.
        let implied = if chars.len() >= 2 && last_unit >= 100 && !text.contains('零') { last_unit / 10 } else { 1 };
        section += d * implied;
    }
    total.checked_add(section)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(text: &str) -> Vec<i64> {
        MoneyFinder::new().find(text).into_iter().map(|m| m.fen).collect()
    }

    #[test]
    fn chinese_numerals() {
        for (text, n) in [
            ("三", 3),
            ("十", 10),
            ("十五", 15),
            ("二十一", 21),
            ("一百", 100),
            ("一百零五", 105),
            ("两千三", 2300),
            ("三万五千", 35_000),
            ("一万二千三百四十五", 12_345),
            ("两", 2),
        ] {
            assert_eq!(chinese_number(text), Some(n), "{text}");
        }
        assert_eq!(chinese_number("三四"), None);
        assert_eq!(chinese_number("abc"), None);
        assert_eq!(chinese_number(""), None);
    }

    #[test]
    fn amounts_in_fen() {
        assert_eq!(fen("花了¥199.9"), [19_990]);
        assert_eq!(fen("退我50元"), [5_000]);
        assert_eq!(fen("差了一百五十块"), [15_000]);
        assert_eq!(fen("3块5"), [350]);
        assert_eq!(fen("1.5万"), Vec::<i64>::new(), "万 without a unit is not money");
        assert_eq!(fen("1.5万元"), [1_500_000]);
        assert_eq!(fen("it cost $12.50"), [1_250]);
        assert_eq!(fen("paid 30 rmb"), [3_000]);
        assert!(fen("订单123456").is_empty());
    }
}
