//! Pinyin initials, for the search agents type without switching their
//! input method: `/fh` finds 发货时间 the way 千牛's quick phrases do.

use pinyin::ToPinyin;

/// The search key of a text: each Chinese character's pinyin initial, each
/// Latin letter or digit lower-cased, everything else dropped. 亲，已发货 →
/// `qyfh`; iPhone 16 → `iphone16`. A character with several readings gives
/// its most common one.
pub fn initials(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(64));
    for c in text.chars() {
        if let Some(p) = c.to_pinyin() {
            out.push_str(p.first_letter());
        } else if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if let Some(half) = fullwidth_ascii(c)
            && half.is_ascii_alphanumeric()
        {
            out.push(half.to_ascii_lowercase());
        }
    }
    out
}

/// Ａ → A, ３ → 3: shoppers' and agents' text mixes the two widths.
fn fullwidth_ascii(c: char) -> Option<char> {
    let u = u32::from(c);
    (0xFF01..=0xFF5E).contains(&u).then(|| char::from_u32(u - 0xFEE0)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chinese_gives_initials_and_latin_stays() {
        assert_eq!(initials("亲，已发货"), "qyfh");
        assert_eq!(initials("发货时间"), "fhsj");
        assert_eq!(initials("七天无理由退货"), "qtwlyth");
        assert_eq!(initials("iPhone 16 到货"), "iphone16dh");
        assert_eq!(initials("ＪＤ京东"), "jdjd");
        assert_eq!(initials(""), "");
        assert_eq!(initials("😀！？"), "");
    }

    proptest! {
        #[test]
        fn any_text_gives_lowercase_ascii_at_most_one_per_char(text in any::<String>()) {
            let out = initials(&text);
            prop_assert!(out.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            prop_assert!(out.len() <= text.chars().count());
        }
    }
}
