//! The built-in models, trained only on text the kefu team wrote
//! (`data/*.txt`), committed under `models/` and embedded in the binary.
//!
//! The committed model must equal a fresh training run on the committed
//! data (`tests::builtin_models_are_fresh`); after changing the data or the
//! classifier, regenerate with
//! `KEFU_UPDATE_MODELS=1 cargo test -p kefu-nlu builtin`.

use std::sync::OnceLock;

use crate::classifier::{Classifier, Example, Prepared, TrainConfig};

const INTENT_DATA: &str = include_str!("../data/intents.txt");
const INTENT_MODEL: &[u8] = include_bytes!("../models/intents.kfm");
const INTENT_EVAL: &str = include_str!("../data/intents_eval.txt");
const EMOTION_DATA: &str = include_str!("../data/emotion.txt");
const EMOTION_MODEL: &[u8] = include_bytes!("../models/emotion.kfm");
const EMOTION_EVAL: &str = include_str!("../data/emotion_eval.txt");
/// Examples per label and language after expansion.
const PER_INTENT_LANGUAGE: usize = 80;

/// The training configuration of the built-in models.
pub fn config() -> TrainConfig {
    // The single SVM and the looser threshold the dialogue stories were written against.
    TrainConfig { min_df: 1, learners: vec![crate::Learner::Svm], in_scope_loss: 0.005, ..TrainConfig::default() }
}

/// The e-commerce intent model (zh and en), loaded on first use.
pub fn intent_model() -> &'static Classifier {
    static MODEL: OnceLock<Classifier> = OnceLock::new();
    MODEL.get_or_init(|| {
        Classifier::from_bytes(INTENT_MODEL).expect("the embedded intent model is checked by builtin_models_are_fresh")
    })
}

/// How a shopper sounds, in rising order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EmotionLevel {
    Calm,
    Dissatisfied,
    Angry,
}

impl EmotionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            EmotionLevel::Calm => "calm",
            EmotionLevel::Dissatisfied => "dissatisfied",
            EmotionLevel::Angry => "angry",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Emotion {
    pub level: EmotionLevel,
    /// 0 (calm) … 1 (angry): P(dissatisfied) / 2 + P(angry).
    pub score: f32,
}

/// The shopper-emotion model (calm / dissatisfied / angry), loaded on first use.
pub fn emotion_model() -> &'static Classifier {
    static MODEL: OnceLock<Classifier> = OnceLock::new();
    MODEL.get_or_init(|| {
        Classifier::from_bytes(EMOTION_MODEL)
            .expect("the embedded emotion model is checked by builtin_models_are_fresh")
    })
}

pub fn emotion_model_bytes() -> &'static [u8] {
    EMOTION_MODEL
}

/// The emotion of one shopper message: the model's reading, raised by the
/// wording's cues ([`crate::cues`]) — an insult or a threat is anger, capitals
/// on top of discontent are anger, and words of waiting or damage are at
/// least discontent. Cues only raise the level, never lower it.
pub fn emotion(text: &str) -> Emotion {
    emotion_prepared(&Prepared::new(text))
}

/// [`emotion`] of a message already prepared (the bot prepares each once).
pub fn emotion_prepared(text: &Prepared<'_>) -> Emotion {
    let p = emotion_model().predict_prepared(text);
    let prob = |label: &str| p.top.iter().find(|(l, _)| l == label).map_or(0.0, |(_, c)| *c);
    let model_level = match p.label.as_str() {
        "angry" => EmotionLevel::Angry,
        "dissatisfied" => EmotionLevel::Dissatisfied,
        _ => EmotionLevel::Calm,
    };
    let score = (prob("dissatisfied") / 2.0 + prob("angry")).clamp(0.0, 1.0);
    let cues = crate::cues::cues(text.raw, &text.normalized);
    let unhappy = model_level != EmotionLevel::Calm || cues.discontent;
    let (level, floor) = if cues.angry() || cues.all_caps || (cues.shouting && unhappy) {
        (EmotionLevel::Angry, ANGRY_FLOOR)
    } else if cues.shouting || cues.discontent {
        (EmotionLevel::Dissatisfied, DISSATISFIED_FLOOR)
    } else {
        (EmotionLevel::Calm, 0.0)
    };
    let level = level.max(model_level);
    Emotion { level, score: score.max(floor) }
}

/// The least score a cue-raised level carries, so the score orders as the level does.
const ANGRY_FLOOR: f32 = 0.8;
const DISSATISFIED_FLOOR: f32 = 0.5;

/// The committed intent model file, as embedded.
pub fn intent_model_bytes() -> &'static [u8] {
    INTENT_MODEL
}

/// Held-out messages written apart from the training phrases.
pub fn intent_eval_examples() -> Vec<Example> {
    labelled_lines(INTENT_EVAL)
}

/// Held-out shopper messages for [`emotion`], written apart from its phrases.
pub fn emotion_eval_examples() -> Vec<Example> {
    labelled_lines(EMOTION_EVAL)
}

/// `label<TAB>text` lines; `#` starts a comment.
fn labelled_lines(data: &str) -> Vec<Example> {
    data.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(label, text)| Example::new(text, label))
        .collect()
}

/// The written phrases expanded the way shoppers vary them: greetings and
/// particles around the request, punctuation or none, slots filled with
/// order numbers, products, carriers and cities, and (English) typos.
pub fn intent_examples() -> Vec<Example> {
    expand(INTENT_DATA, 0x6b65_6675, &|_, lang| match lang {
        Lang::Zh => ZH_SUFFIXES,
        Lang::En => EN_SUFFIXES,
    })
}

/// The emotion phrases, expanded with endings that fit each level. Every
/// ordinary request from the intent phrases is a calm example too (urging
/// and complaints are discontent; anger is in the words, not the request),
/// so "我要取消订单" is not mistaken for "我要投诉" nor "我要投诉" for a threat.
pub fn emotion_examples() -> Vec<Example> {
    let mut merged: Vec<(String, Vec<String>, Vec<String>)> = sections(EMOTION_DATA);
    for (intent, zh, en) in sections(INTENT_DATA) {
        let level = match intent.as_str() {
            "complaint" | "urge_shipment" => "dissatisfied",
            _ => "calm",
        };
        if let Some(section) = merged.iter_mut().find(|(label, _, _)| label == level) {
            section.1.extend(zh);
            section.2.extend(en);
        }
    }
    let data: String = merged
        .iter()
        .map(|(label, zh, en)| {
            let mut block = format!("[{label}]\n");
            for p in zh {
                block.push_str(&format!("zh: {p}\n"));
            }
            for p in en {
                block.push_str(&format!("en: {p}\n"));
            }
            block
        })
        .collect();
    expand(&data, 0x656d_6f74, &|label, lang| match (label, lang) {
        ("angry", Lang::Zh) => &["", "", "!", "!!!", "！！", "？？", " 气死了"],
        ("angry", Lang::En) => &["", "", "!", "!!!", "??", " seriously"],
        ("dissatisfied", Lang::Zh) => &["", "", "。", "...", "？", " 唉", "哎"],
        ("dissatisfied", Lang::En) => &["", "", ".", "...", "?", " sigh"],
        (_, Lang::Zh) => &["", "", "。", "~", " 谢谢", "哈"],
        (_, Lang::En) => &["", "", ".", " :)", " thanks"],
    })
}

/// Endings to vary a phrase of a label with.
type Endings<'a> = &'a dyn Fn(&str, Lang) -> &'static [&'static str];

fn expand(data: &str, seed: u64, endings: Endings<'_>) -> Vec<Example> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    let mut next_group = 0u32;
    for (label, zh, en) in sections(data) {
        for (phrases, lang) in [(zh, Lang::Zh), (en, Lang::En)] {
            if phrases.is_empty() {
                continue;
            }
            let mut seen = std::collections::HashSet::new();
            let first_group = next_group;
            next_group += phrases.len() as u32;
            let mut push = |text: String, phrase: usize, out: &mut Vec<Example>| {
                if seen.insert(text.clone()) {
                    out.push(Example { text, label: label.clone(), group: Some(first_group + phrase as u32) });
                }
                seen.len()
            };
            // The phrases as written first, then variations until the quota is met.
            let mut made = 0;
            for (i, p) in phrases.iter().enumerate() {
                made = push(fill(p, lang, &mut rng), i, &mut out);
            }
            let quota = PER_INTENT_LANGUAGE.max(phrases.len());
            for _ in 0..20 * PER_INTENT_LANGUAGE {
                if made >= quota {
                    break;
                }
                let i = rng.below(phrases.len());
                let text = vary(&fill(&phrases[i], lang, &mut rng), lang, endings(&label, lang), &mut rng);
                made = push(text, i, &mut out);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
pub enum Lang {
    Zh,
    En,
}

/// (intent, zh phrases, en phrases) in file order.
fn sections(data: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for line in data.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_owned(), Vec::new(), Vec::new()));
        } else if let Some(last) = out.last_mut() {
            if let Some(p) = line.strip_prefix("zh:") {
                last.1.push(p.trim().to_owned());
            } else if let Some(p) = line.strip_prefix("en:") {
                last.2.push(p.trim().to_owned());
            }
        }
    }
    out
}

const ZH_PRODUCTS: &[&str] = &[
    "冰箱",
    "洗衣机",
    "空调",
    "手机",
    "蓝牙耳机",
    "笔记本",
    "连衣裙",
    "羽绒服",
    "面霜",
    "口红",
    "车厘子",
    "牛排",
    "显示器",
    "机械键盘",
    "热水器",
];
const EN_PRODUCTS: &[&str] = &[
    "fridge",
    "washing machine",
    "phone",
    "headphones",
    "laptop",
    "dress",
    "jacket",
    "face cream",
    "lipstick",
    "monitor",
    "keyboard",
];
const ZH_CARRIERS: &[&str] = &["顺丰", "京东物流", "中通", "圆通", "韵达", "极兔", "邮政"];
const EN_CARRIERS: &[&str] = &["sf express", "ups", "fedex", "dhl", "jd logistics"];
const ZH_CITIES: &[&str] = &["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "乌鲁木齐", "拉萨"];
const EN_CITIES: &[&str] = &["beijing", "shanghai", "shenzhen", "chengdu", "new york", "london"];

const ZH_PREFIXES: &[&str] = &[
    "",
    "",
    "",
    "亲，",
    "亲 ",
    "在吗，",
    "在吗 ",
    "你好，",
    "您好 ",
    "请问",
    "客服，",
    "亲亲",
    "hello ",
    "那个",
    "喂 ",
];
const ZH_SUFFIXES: &[&str] = &[
    "",
    "",
    "",
    "？",
    "?",
    "??",
    "。",
    "！",
    "!!",
    "，急",
    " 急急急",
    " 谢谢",
    "，谢谢亲",
    "～",
    " 在线等",
    "呀",
    "哈",
];
const EN_PREFIXES: &[&str] = &["", "", "", "hi ", "hello, ", "hey ", "excuse me, ", "pls ", "um ", "hi team, "];
const EN_SUFFIXES: &[&str] = &["", "", "", "?", "??", ".", "!", " thanks", " asap", " pls", " thx", "!!!"];

fn fill(phrase: &str, lang: Lang, rng: &mut Rng) -> String {
    let pick = |list: &[&str], rng: &mut Rng| list[rng.below(list.len())].to_owned();
    let mut text = phrase.to_owned();
    while let Some(start) = text.find('{') {
        let Some(len) = text[start..].find('}') else { break };
        let value = match &text[start + 1..start + len] {
            "order" => order_number(rng),
            "product" => pick(if lang == Lang::Zh { ZH_PRODUCTS } else { EN_PRODUCTS }, rng),
            "carrier" => pick(if lang == Lang::Zh { ZH_CARRIERS } else { EN_CARRIERS }, rng),
            "city" => pick(if lang == Lang::Zh { ZH_CITIES } else { EN_CITIES }, rng),
            _ => String::new(),
        };
        text.replace_range(start..=start + len, &value);
    }
    text
}

fn order_number(rng: &mut Rng) -> String {
    let digits = |n: usize, rng: &mut Rng| (0..n).map(|_| char::from(b'0' + rng.below(10) as u8)).collect::<String>();
    match rng.below(4) {
        0 => digits(13, rng),
        1 => format!("JD{}", digits(12, rng)),
        2 => format!("DD2026{}", digits(10, rng)),
        _ => format!(" {} ", digits(18, rng)),
    }
}

fn vary(text: &str, lang: Lang, suffixes: &[&str], rng: &mut Rng) -> String {
    let prefixes = match lang {
        Lang::Zh => ZH_PREFIXES,
        Lang::En => EN_PREFIXES,
    };
    let mut body = text.to_owned();
    if lang == Lang::En && rng.below(4) == 0 {
        body = typo(&body, rng);
    }
    if lang == Lang::En && rng.below(3) == 0 {
        body = body.replace("i ", "I ").replace("i'm", "im").replace("don't", "dont").replace("can't", "cant");
    }
    format!("{}{}{}", prefixes[rng.below(prefixes.len())], body, suffixes[rng.below(suffixes.len())])
}

/// One slip of the fingers in a word of four letters or more.
fn typo(text: &str, rng: &mut Rng) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let long: Vec<usize> = (0..words.len()).filter(|i| words[*i].chars().count() >= 4).collect();
    if long.is_empty() {
        return text.to_owned();
    }
    let target = long[rng.below(long.len())];
    let mut chars: Vec<char> = words[target].chars().collect();
    let at = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 => {
            chars.remove(at);
        }
        1 => chars.swap(at, at + 1),
        _ => chars.insert(at, chars[at]),
    }
    let changed: String = chars.into_iter().collect();
    words.iter().enumerate().map(|(i, w)| if i == target { changed.as_str() } else { w }).collect::<Vec<_>>().join(" ")
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_intent_has_enough_examples_in_both_languages() {
        let examples = intent_examples();
        for (intent, zh, en) in sections(INTENT_DATA) {
            let is_zh = |t: &str| t.chars().any(crate::tokenize::is_han);
            let of: Vec<&Example> = examples.iter().filter(|e| e.label == intent).collect();
            let n_zh = of.iter().filter(|e| is_zh(&e.text)).count();
            assert!(n_zh >= 60, "{intent}: {n_zh} zh examples");
            assert!(of.len() - n_zh >= 60, "{intent}: {} en examples", of.len() - n_zh);
            assert!(zh.len() >= 8 && en.len() >= 8, "{intent}: write at least 8 phrases per language");
        }
    }

    #[test]
    fn the_intent_model_understands_held_out_messages() {
        let eval = intent_eval_examples();
        assert!(eval.len() >= 90);
        let pairs: Vec<(String, String)> =
            eval.iter().map(|e| (e.label.clone(), intent_model().predict(&e.text).label)).collect();
        let report = crate::metrics::evaluate(&pairs);
        // Deterministic; a floor against regressions, the figure itself is in docs/QUALITY.md.
        assert!(report.accuracy >= 0.75, "accuracy {:.3}: {:?}", report.accuracy, report.confusions);
    }

    #[test]
    fn emotion_levels_on_plain_messages() {
        assert_eq!(emotion("好的，谢谢亲").level, EmotionLevel::Calm);
        assert_eq!(emotion("你们这群骗子，我要投诉！！！").level, EmotionLevel::Angry);
        let calm = emotion("请问什么时候发货");
        let angry = emotion("垃圾商家 退钱！！！");
        assert!(angry.score > calm.score);
        assert!((0.0..=1.0).contains(&calm.score));
    }

    #[test]
    fn cues_raise_the_level_and_product_words_do_not() {
        assert_eq!(emotion("这个垃圾袋一卷有多少只").level, EmotionLevel::Calm);
        assert_eq!(emotion("滚筒洗衣机包安装吗").level, EmotionLevel::Calm);
        assert_eq!(emotion("tmd 等了十天了").level, EmotionLevel::Angry);
        assert_eq!(emotion("再不处理我就找律师").level, EmotionLevel::Angry);
        assert_eq!(emotion("STOP SENDING ME THE SAME ANSWER").level, EmotionLevel::Angry);
        assert!(emotion("物流好几天没更新了").level >= EmotionLevel::Dissatisfied);
        let angry = emotion("you guys are a total scam");
        assert_eq!(angry.level, EmotionLevel::Angry);
        assert!(angry.score >= ANGRY_FLOOR);
    }

    /// The held-out messages written apart from the phrases (docs/QUALITY.md):
    /// a floor under today's figures, so a change that loses anger shows here.
    #[test]
    fn emotion_holds_on_the_written_eval() {
        let eval = emotion_eval_examples();
        assert!(eval.len() >= 100);
        let pairs: Vec<(String, String)> =
            eval.iter().map(|e| (e.label.clone(), emotion(&e.text).level.as_str().to_owned())).collect();
        let report = crate::metrics::evaluate(&pairs);
        assert!(report.accuracy >= 0.85, "accuracy {}", report.accuracy);
        let angry = report.labels.iter().find(|l| l.label == "angry").expect("angry rows");
        assert!(angry.precision >= 0.9 && angry.recall >= 0.85, "angry {angry:?}");
    }

    #[test]
    fn builtin_models_are_fresh() {
        let update = std::env::var_os("KEFU_UPDATE_MODELS").is_some();
        for (name, examples, committed) in
            [("intents", intent_examples(), INTENT_MODEL), ("emotion", emotion_examples(), EMOTION_MODEL)]
        {
            let trained = Classifier::train(&examples, &config(), &|_, _, _| {}).expect("train").to_bytes();
            if update {
                let path = format!("{}/models/{name}.kfm", env!("CARGO_MANIFEST_DIR"));
                std::fs::write(path, &trained).expect("write the model");
                continue;
            }
            assert!(
                trained == committed,
                "models/{name}.kfm is stale: run `KEFU_UPDATE_MODELS=1 cargo test -p kefu-nlu builtin` and commit it"
            );
        }
    }
}
