//! Words that settle how a shopper sounds whatever the classifier thinks:
//! insults and threats (a regulator, a lawyer, the police, the press, a
//! chargeback) are anger; shouting in capitals on top of discontent is anger;
//! a few phrases of waiting, damage and letdown are discontent. The emotion
//! model learns from a few hundred written phrases and misses most of these
//! in text it has not seen (recall 0.52 on anger in our held-out messages);
//! a list written once catches them in any sentence around them.
//!
//! Chinese cues match as substrings of the normalised text, minus the
//! product words that contain them (垃圾袋 is a bin bag, 滚筒 a washer drum);
//! English cues match whole words or word pairs.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// What a message's wording alone says about its emotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cues {
    /// An insult or a curse.
    pub insult: bool,
    /// A threat to go to a regulator, a lawyer, the police, the press or the bank.
    pub threat: bool,
    /// Words in capitals (the raw text), as in "fix it NOW".
    pub shouting: bool,
    /// A whole sentence in capitals: "WHERE IS MY ORDER".
    pub all_caps: bool,
    /// Waiting, damage, missing items, letdown: discontent, not anger.
    pub discontent: bool,
}

impl Cues {
    pub fn angry(self) -> bool {
        self.insult || self.threat
    }
}

const ZH_INSULTS: &[&str] = &[
    "垃圾",
    "骗子",
    "骗人",
    "诈骗",
    "傻逼",
    "傻b",
    "煞笔",
    "沙比",
    "他妈",
    "妈的",
    "tmd",
    "尼玛",
    "你妈",
    "卧槽",
    "我操",
    "草泥马",
    "有病吧",
    "你有病",
    "有病啊",
    "神经病",
    "脑子有问题",
    "脑子进水",
    "脑残",
    "智障",
    "废物",
    "狗屁",
    "去死",
    "王八蛋",
    "混蛋",
    "畜生",
    "黑店",
    "奸商",
    "无良",
    "坑人",
    "坑爹",
    "恶心死",
    "破玩意",
    "什么破",
    "破店",
    "缺德",
    "不要脸",
    "流氓",
    "强盗",
    "吃屎",
    "滚蛋",
    "滚吧",
    "耍我",
    "一群饭桶",
    "狗东西",
];

/// Product and everyday words that hold an insult's characters.
const ZH_INNOCENT: &[&str] = &["垃圾袋", "垃圾桶", "垃圾分类", "垃圾篓", "垃圾箱", "垃圾处理器"];

const ZH_THREATS: &[&str] = &[
    "12315",
    "12345",
    "消协",
    "消费者协会",
    "工商局",
    "市场监管",
    "起诉",
    "告你们",
    "律师",
    "法院",
    "曝光",
    "找媒体",
    "报警",
    "黑猫投诉",
    "315晚会",
    "投诉到平台",
];

const ZH_DISCONTENT: &[&str] = &[
    "还没发货",
    "怎么还没",
    "还没到",
    "还没收到",
    "还没处理",
    "还没退",
    "一直不动",
    "没更新",
    "不更新",
    "太慢",
    "好慢",
    "没人回",
    "没人理",
    "没人管",
    "失望",
    "不满意",
    "不太满意",
    "郁闷",
    "着急",
    "急死",
    "缺口",
    "破损",
    "压扁",
    "坏了",
    "少发",
    "漏发",
    "错发",
    "发错",
    "不一致",
    "差别",
    "色差",
    "说好的",
    "承诺",
    "不对版",
    "体验不好",
];

const EN_INSULTS: &[&str] = &[
    "scam",
    "scams",
    "scammer",
    "scammers",
    "fraud",
    "frauds",
    "liar",
    "liars",
    "idiot",
    "idiots",
    "stupid",
    "useless",
    "pathetic",
    "wtf",
    "damn",
    "bullshit",
    "crap",
    "shit",
    "fuck",
    "fucking",
    "garbage",
    "ripoff",
    "thieves",
    "thief",
    "stole",
    "steal",
    "stealing",
    "incompetent",
    "disgusting",
    "worst",
];
const EN_INSULT_PAIRS: &[(&str, &str)] =
    &[("rip", "off"), ("screw", "you"), ("the", "hell"), ("joke", "of"), ("kidding", "me")];

const EN_THREATS: &[&str] = &["sue", "suing", "lawyer", "lawyers", "attorney", "chargeback", "bbb", "ftc", "police"];
const EN_THREAT_PAIRS: &[(&str, &str)] =
    &[("legal", "action"), ("report", "you"), ("reporting", "you"), ("trading", "standards"), ("small", "claims")];

const EN_DISCONTENT: &[&str] = &[
    "late",
    "delayed",
    "disappointed",
    "disappointing",
    "damaged",
    "broken",
    "missing",
    "wrong",
    "unhappy",
    "annoyed",
    "frustrated",
    "frustrating",
    "unacceptable",
];
/// "still" and "again" alone are calm ("is it still in stock?").
const EN_DISCONTENT_PAIRS: &[(&str, &str)] = &[
    ("still", "no"),
    ("still", "not"),
    ("still", "waiting"),
    ("not", "arrived"),
    ("never", "arrived"),
    ("no", "reply"),
    ("no", "response"),
    ("nobody", "replied"),
    ("nobody", "answered"),
];

/// `normalized` is [`crate::normalize`]'s output; `raw` is what the shopper
/// typed (capitals survive only there).
pub fn cues(raw: &str, normalized: &str) -> Cues {
    let han = han_hits(normalized);
    let words: Vec<&str> =
        normalized.split(|c: char| !c.is_ascii_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).collect();
    let word_hit = |list: &[&str]| words.iter().any(|w| list.contains(w));
    let shout = shouting(raw);
    let pair_hit =
        |pairs: &[(&str, &str)]| words.windows(2).any(|p| pairs.iter().any(|(a, b)| p[0] == *a && p[1] == *b));
    Cues {
        insult: han[HanList::Insult as usize] || word_hit(EN_INSULTS) || pair_hit(EN_INSULT_PAIRS),
        threat: han[HanList::Threat as usize] || word_hit(EN_THREATS) || pair_hit(EN_THREAT_PAIRS),
        shouting: shout.is_some(),
        all_caps: shout == Some(Shout::Sentence),
        discontent: han[HanList::Discontent as usize] || word_hit(EN_DISCONTENT) || pair_hit(EN_DISCONTENT_PAIRS),
    }
}

#[derive(Debug, Clone, Copy)]
enum HanList {
    Insult,
    Threat,
    Discontent,
}

/// Every Chinese cue in one automaton: a message is read once, not once per
/// cue (130 substring searches were a fifth of a bot turn's instructions).
struct HanCues {
    automaton: AhoCorasick,
    /// Per pattern: its list and its text.
    patterns: Vec<(HanList, &'static str)>,
}

fn han_cues() -> &'static HanCues {
    static CUES: OnceLock<HanCues> = OnceLock::new();
    CUES.get_or_init(|| {
        let lists =
            [(HanList::Insult, ZH_INSULTS), (HanList::Threat, ZH_THREATS), (HanList::Discontent, ZH_DISCONTENT)];
        let patterns: Vec<(HanList, &'static str)> =
            lists.iter().flat_map(|&(list, cues)| cues.iter().map(move |&c| (list, c))).collect();
        let automaton = AhoCorasick::new(patterns.iter().map(|(_, c)| c)).expect("the cue lists are small and fixed");
        HanCues { automaton, patterns }
    })
}

/// Which Chinese lists have a cue in `normalized` outside an innocent word.
fn han_hits(normalized: &str) -> [bool; 3] {
    let cues = han_cues();
    let mut hit = [false; 3];
    for m in cues.automaton.find_overlapping_iter(normalized) {
        let (list, cue) = cues.patterns[m.pattern().as_usize()];
        if !inside_innocent(normalized, m.start(), cue) {
            hit[list as usize] = true;
        }
    }
    hit
}

/// The occurrence of `cue` at byte `at` of `text` is part of an innocent word.
fn inside_innocent(text: &str, at: usize, cue: &str) -> bool {
    ZH_INNOCENT.iter().any(|innocent| {
        // The innocent word starts where the cue starts, or a few bytes
        // before (`get`: those bytes may fall inside another character).
        innocent.find(cue).is_some_and(|offset| {
            at.checked_sub(offset).and_then(|from| text.get(from..)).is_some_and(|t| t.starts_with(innocent))
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shout {
    /// One command word in capitals among others: "fix it NOW".
    Word,
    /// Two or more words of capitals making most of the letters.
    Sentence,
}

/// Capitals that shout — not "UPS" or "iPhone 15 PRO".
fn shouting(raw: &str) -> Option<Shout> {
    let mut upper = 0usize;
    let mut letters = 0usize;
    let mut long_caps_words = 0usize;
    let mut commanding = false;
    for word in raw.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty()) {
        let caps = word.bytes().filter(u8::is_ascii_uppercase).count();
        upper += caps;
        letters += word.len();
        if word.len() >= 3 && caps == word.len() {
            long_caps_words += 1;
        }
        commanding |= matches!(word, "NOW" | "STOP" | "NEVER");
    }
    if long_caps_words >= 2 && upper * 2 > letters {
        Some(Shout::Sentence)
    } else if commanding {
        Some(Shout::Word)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize;

    fn of(text: &str) -> Cues {
        cues(text, &normalize(text))
    }

    #[test]
    fn insults_and_threats_are_anger_in_either_language() {
        assert!(of("垃圾店铺，骗子！").angry());
        assert!(of("再不退款我就打12315").threat);
        assert!(of("I will contact my lawyer").threat);
        assert!(of("you guys are a total scam").insult);
        assert!(of("this is a rip off").insult);
    }

    #[test]
    fn product_words_that_hold_an_insult_are_not_one() {
        assert!(!of("这个垃圾袋一卷有多少只").angry());
        assert!(!of("滚筒洗衣机和波轮的哪个好").angry());
        assert!(!of("垃圾桶什么时候发货").angry());
        // The innocent word elsewhere does not excuse an insult.
        assert!(of("买个垃圾袋都发错 垃圾店").insult);
    }

    #[test]
    fn capitals_shout_only_when_they_dominate_or_command() {
        assert!(of("STOP SENDING ME THE SAME ANSWER").all_caps);
        assert!(of("fix it NOW").shouting && !of("fix it NOW").all_caps);
        assert!(!of("WHERE").all_caps, "one word is not a sentence");
        assert!(!of("is the UPS label ready").shouting);
        assert!(!of("iPhone 15 PRO max in stock?").shouting);
        assert!(!of("").shouting);
    }

    /// The automaton finds what searching for each cue in turn finds.
    #[test]
    fn one_pass_finds_what_a_search_per_cue_finds() {
        let naive = |text: &str, list: &[&str]| {
            list.iter().any(|cue| text.match_indices(cue).any(|(at, _)| !inside_innocent(text, at, cue)))
        };
        let texts = crate::builtin::intent_examples()
            .into_iter()
            .chain(crate::builtin::emotion_examples())
            .chain(crate::builtin::emotion_eval_examples())
            .map(|e| normalize(&e.text))
            .chain(["垃圾袋垃圾", "tmd垃圾桶", "还没发货还没到", "12315"].map(String::from));
        let mut hits = 0;
        for text in texts {
            let han = han_hits(&text);
            for (list, cues) in
                [(HanList::Insult, ZH_INSULTS), (HanList::Threat, ZH_THREATS), (HanList::Discontent, ZH_DISCONTENT)]
            {
                assert_eq!(han[list as usize], naive(&text, cues), "{list:?} in {text}");
                hits += usize::from(han[list as usize]);
            }
        }
        assert!(hits > 50, "the texts should hold cues: {hits}");
    }

    #[test]
    fn calm_requests_have_no_cues() {
        for text in ["请问什么时候发货", "帮我改一下地址", "where is my order", "thanks, got it"] {
            assert_eq!(of(text), Cues::default(), "{text}");
        }
    }
}
