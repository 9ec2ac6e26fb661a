//! Question matching for a knowledge base: which stored question (or one of
//! its alternates) a shopper's message asks, and how similar they are.
//!
//! TF-IDF cosine over words (number shapes for numbers) and Chinese
//! character 1- and 2-grams. Measured on question-matching pairs (`kefu nlu
//! match`, docs/QUALITY.md), this beats character bigrams alone and the
//! classifier's richer feature set (word bigrams and 3-grams split
//! paraphrases that share meaning but not word order).
//! Document frequencies come from the index's questions plus a background of
//! shopper phrases the team wrote (the built-in intent phrases), so the
//! particles every message has (亲, 请问, 吗, 呢) weigh little even in a
//! knowledge base of ten entries.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::features::{FeatureMap, matching_features};
use crate::{Tokenizer, normalize};

/// A sparse unit vector: (feature, weight), sorted by feature.
type Vector = Vec<(u64, f32)>;

/// Document frequencies: how many texts hold each feature.
#[derive(Debug, Clone, Default)]
pub struct DocFreq {
    docs: u32,
    df: FeatureMap<u32>,
}

impl DocFreq {
    pub fn add(&mut self, text: &str) {
        self.docs += 1;
        let mut f = distinct(text);
        f.dedup();
        for h in f {
            *self.df.entry(h).or_default() += 1;
        }
    }

    /// Built from the built-in intent phrases; computed once.
    pub fn background() -> &'static DocFreq {
        static BG: OnceLock<DocFreq> = OnceLock::new();
        BG.get_or_init(|| {
            let mut d = DocFreq::default();
            for e in crate::builtin::intent_examples() {
                d.add(&e.text);
            }
            d
        })
    }

    fn idf(&self, extra: &DocFreq, h: u64) -> f32 {
        let n = (self.docs + extra.docs) as f32;
        let df = (self.df.get(&h).copied().unwrap_or(0) + extra.df.get(&h).copied().unwrap_or(0)) as f32;
        ((n + 1.0) / (df + 1.0)).ln() + 1.0
    }
}

fn raw_features(text: &str) -> Vec<u64> {
    let normalized = normalize(text);
    let mut out = Vec::new();
    matching_features(&Tokenizer::shared().tokens(&normalized), &mut out);
    out
}

fn distinct(text: &str) -> Vec<u64> {
    let mut f = raw_features(text);
    f.sort_unstable();
    f
}

/// Sublinear term frequency × IDF, unit length.
fn vectorize(text: &str, idf: impl Fn(u64) -> f32) -> Vector {
    let f = distinct(text);
    let mut v: Vector = Vec::new();
    let mut i = 0;
    while i < f.len() {
        let mut j = i;
        while j < f.len() && f[j] == f[i] {
            j += 1;
        }
        let tf = 1.0 + ((j - i) as f32).ln();
        v.push((f[i], tf * idf(f[i])));
        i = j;
    }
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in &mut v {
            *w /= norm;
        }
    }
    v
}

fn cosine(a: &Vector, b: &Vector) -> f32 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot
}

/// One stored question that matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// The caller's id for the entry the question belongs to.
    pub entry: usize,
    /// Cosine similarity, 0–1.
    pub score: f32,
}

/// Every question of a knowledge base, ready to match against: an inverted
/// index from feature to the questions holding it, so a message is scored
/// only against questions that share a feature with it.
#[derive(Debug, Clone, Default)]
pub struct FaqIndex {
    /// The entry each question belongs to, as an index into `entry_ids`.
    entries: Vec<u32>,
    /// The caller's entry ids, each once.
    entry_ids: Vec<usize>,
    postings: FeatureMap<Vec<(u32, f32)>>,
    local: DocFreq,
}

impl FaqIndex {
    /// `questions`: (entry id, question text); an entry may have several.
    pub fn build<'a>(questions: impl IntoIterator<Item = (usize, &'a str)>) -> FaqIndex {
        let questions: Vec<(usize, &str)> = questions.into_iter().collect();
        let mut local = DocFreq::default();
        for (_, q) in &questions {
            local.add(q);
        }
        let bg = DocFreq::background();
        let mut postings: FeatureMap<Vec<(u32, f32)>> = FeatureMap::default();
        for (i, (_, q)) in questions.iter().enumerate() {
            for (h, w) in vectorize(q, |h| bg.idf(&local, h)) {
                postings.entry(h).or_default().push((i as u32, w));
            }
        }
        let mut entry_ids: Vec<usize> = Vec::new();
        let mut dense: HashMap<usize, u32> = HashMap::new();
        let entries = questions
            .iter()
            .map(|(e, _)| {
                *dense.entry(*e).or_insert_with(|| {
                    entry_ids.push(*e);
                    (entry_ids.len() - 1) as u32
                })
            })
            .collect();
        FaqIndex { entries, entry_ids, postings, local }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best-matching entries, best first, one match per entry; entries
    /// sharing nothing with the text are not matches.
    pub fn top(&self, text: &str, k: usize) -> Vec<Match> {
        if self.entries.is_empty() || k == 0 {
            return Vec::new();
        }
        let bg = DocFreq::background();
        let v = vectorize(text, |h| bg.idf(&self.local, h));
        let mut dots = vec![0.0f32; self.entries.len()];
        for (h, w) in &v {
            for (q, qw) in self.postings.get(h).map_or(&[][..], Vec::as_slice) {
                dots[*q as usize] += w * qw;
            }
        }
        let mut best = vec![0.0f32; self.entry_ids.len()];
        for (q, dot) in dots.into_iter().enumerate() {
            let slot = &mut best[self.entries[q] as usize];
            *slot = slot.max(dot);
        }
        // The best k in one pass, kept sorted: most entries lose to the
        // k-th at once. (Selecting over every entry was a third of a query.)
        let order = |a: &Match, b: &Match| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry));
        let mut top: Vec<Match> = Vec::with_capacity(k.min(best.len()) + 1);
        for (i, score) in best.into_iter().enumerate() {
            if score <= 0.0 {
                continue;
            }
            let m = Match { entry: self.entry_ids[i], score };
            if top.len() == k && top.last().is_some_and(|last| order(&m, last).is_ge()) {
                continue;
            }
            let at = top.partition_point(|x| order(x, &m).is_lt());
            top.insert(at, m);
            top.truncate(k);
        }
        top
    }
}

/// Similarity of two texts with document frequencies `df` (and the background).
pub fn similarity(a: &str, b: &str, df: &DocFreq) -> f32 {
    let bg = DocFreq::background();
    cosine(&vectorize(a, |h| bg.idf(df, h)), &vectorize(b, |h| bg.idf(df, h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> FaqIndex {
        FaqIndex::build([
            (0, "你们发什么快递"),
            (0, "默认走哪家快递"),
            (1, "支持七天无理由退货吗"),
            (2, "冰箱可以上门安装吗"),
            (3, "how long is the warranty"),
        ])
    }

    #[test]
    fn the_right_entry_comes_first() {
        let kb = kb();
        for (text, entry) in [
            ("亲，请问默认发什么快递呀", 0),
            ("你们家支持7天无理由吗", 1),
            ("冰箱能上门装吗", 2),
            ("What is the warranty period?", 3),
        ] {
            let top = kb.top(text, 3);
            assert_eq!(top[0].entry, entry, "{text}: {top:?}");
            assert!(top[0].score > 0.3, "{text}: {top:?}");
        }
    }

    #[test]
    fn unrelated_messages_score_low() {
        let kb = kb();
        for text in ["今天天气怎么样", "给我讲个笑话", "", "😀"] {
            let top = kb.top(text, 1);
            assert!(top.first().is_none_or(|m| m.score < 0.3), "{text}: {top:?}");
        }
    }

    /// The one-pass top k is the head of every scored entry sorted.
    #[test]
    fn top_k_is_the_head_of_a_full_ranking() {
        let questions: Vec<(usize, String)> =
            crate::builtin::intent_examples().into_iter().take(400).enumerate().map(|(i, e)| (i / 2, e.text)).collect();
        let index = FaqIndex::build(questions.iter().map(|(e, q)| (*e, q.as_str())));
        for query in ["快递到哪了", "我要退货", "发票怎么开", "where is my parcel", "😀", ""] {
            let all = index.top(query, usize::MAX >> 1);
            assert!(
                all.windows(2)
                    .all(|w| w[0].score > w[1].score || (w[0].score == w[1].score && w[0].entry < w[1].entry))
            );
            assert!(all.iter().all(|m| m.score > 0.0), "{query}");
            for k in [1, 3, 8] {
                assert_eq!(index.top(query, k), all[..k.min(all.len())], "{query} k={k}");
            }
        }
    }

    #[test]
    fn similarity_is_symmetric_and_one_for_the_same_text() {
        let df = DocFreq::default();
        let a = "冰箱可以上门安装吗";
        let b = "冰箱能上门装吗";
        assert!((similarity(a, a, &df) - 1.0).abs() < 1e-4);
        assert!((similarity(a, b, &df) - similarity(b, a, &df)).abs() < 1e-6);
        assert_eq!(similarity("", a, &df), 0.0);
    }
}
