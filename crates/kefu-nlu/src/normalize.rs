//! Text normalisation: the first step for everything that reads shopper text.
//!
//! Full-width forms become half-width, traditional characters simplified,
//! Latin letters lower case, emoji modifiers dropped, runs of the same
//! punctuation shortened to two ("！！！！" → "!!": the emphasis is a signal,
//! its length is noise), and whitespace collapsed. Total and panic-free on
//! any input; the output is never longer in characters than the input.

/// How many of the same punctuation mark survive in a row.
const MAX_REPEAT: usize = 2;

pub fn normalize(text: &str) -> String {
    let simplified = fast2s::convert(text);
    let mut out = String::with_capacity(simplified.len());
    let mut last: Option<char> = None;
    let mut repeat = 0usize;
    let mut pending_space = false;
    for raw in simplified.chars() {
        let Some(c) = fold(raw) else { continue };
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
            last = Some(' ');
        }
        if Some(c) == last && is_punctuation(c) {
            repeat += 1;
            if repeat >= MAX_REPEAT {
                continue;
            }
        } else {
            repeat = 0;
        }
        out.push(c);
        last = Some(c);
    }
    out
}

/// One character's canonical form; `None` drops it.
fn fold(c: char) -> Option<char> {
    let c = match c {
        // Ideographic space and the full-width ASCII block.
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        // Chinese punctuation with an ASCII twin.
        '。' | '｡' => '.',
        '、' => ',',
        '“' | '”' | '「' | '」' => '"',
        '‘' | '’' => '\'',
        '【' | '〔' => '[',
        '】' | '〕' => ']',
        '《' => '<',
        '》' => '>',
        '…' => '.',
        '—' | '–' => '-',
        // Emoji presentation selectors, skin tones, joiners: modifiers, not meaning.
        '\u{FE0E}' | '\u{FE0F}' | '\u{200D}' | '\u{200B}' | '\u{FEFF}' => return None,
        '\u{1F3FB}'..='\u{1F3FF}' => return None,
        c if c.is_control() && c != '\n' && c != '\t' => return None,
        c => c,
    };
    Some(if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c })
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || matches!(c, '~' | '·')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_case_fold() {
        assert_eq!(normalize("ＡＢＣ１２３　ｉＰｈｏｎｅ"), "abc123 iphone");
        assert_eq!(normalize("订单号：ＪＤ１２３４５"), "订单号:jd12345");
    }

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(normalize("請問這個訂單什麼時候發貨"), "请问这个订单什么时候发货");
    }

    #[test]
    fn repeated_punctuation_is_shortened_not_removed() {
        assert_eq!(normalize("怎么还没到！！！！？？？"), "怎么还没到!!??");
        assert_eq!(normalize("好的。。。。"), "好的..");
        assert_eq!(normalize("在吗……"), "在吗..");
    }

    #[test]
    fn emoji_modifiers_are_dropped_emoji_kept() {
        assert_eq!(normalize("👍🏻好评❤️"), "👍好评❤");
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(normalize("  亲 \n\n 在吗\t "), "亲 在吗");
        assert_eq!(normalize(""), "");
    }
}
