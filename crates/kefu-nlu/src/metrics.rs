//! Evaluation figures: accuracy, macro-F1, per-label precision and recall,
//! the most frequent confusions, and out-of-scope recall.
//!
//! When the gold labels include [`OUT_OF_SCOPE`], accuracy and macro-F1 are
//! computed over in-scope rows and labels only (the usual CLINC150 reading),
//! and out-of-scope recall is reported apart.

use std::collections::BTreeMap;

use crate::OUT_OF_SCOPE;

#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub oos_recall: Option<f64>,
    pub labels: Vec<LabelScore>,
    /// (gold, predicted, count), most frequent first.
    pub confusions: Vec<(String, String, usize)>,
}

pub fn evaluate(pairs: &[(String, String)]) -> Report {
    let has_oos = pairs.iter().any(|(gold, _)| gold == OUT_OF_SCOPE);
    let in_scope = |gold: &str| !has_oos || gold != OUT_OF_SCOPE;
    let mut gold_count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut predicted_count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut correct: BTreeMap<&str, usize> = BTreeMap::new();
    let mut confusions: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let (mut scored, mut right) = (0usize, 0usize);
    for (gold, predicted) in pairs {
        *gold_count.entry(gold).or_default() += 1;
        *predicted_count.entry(predicted).or_default() += 1;
        if gold == predicted {
            *correct.entry(gold).or_default() += 1;
        } else {
            *confusions.entry((gold, predicted)).or_default() += 1;
        }
        if in_scope(gold) {
            scored += 1;
            right += usize::from(gold == predicted);
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let labels: Vec<LabelScore> = gold_count
        .iter()
        .map(|(label, support)| {
            let ok = correct.get(label).copied().unwrap_or(0);
            let precision = ratio(ok, predicted_count.get(label).copied().unwrap_or(0));
            let recall = ratio(ok, *support);
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            LabelScore { label: (*label).to_owned(), precision, recall, f1, support: *support }
        })
        .collect();
    let scored_labels: Vec<&LabelScore> = labels.iter().filter(|l| in_scope(&l.label)).collect();
    let macro_f1 = scored_labels.iter().map(|l| l.f1).sum::<f64>() / scored_labels.len().max(1) as f64;
    let oos_recall = has_oos.then(|| labels.iter().find(|l| l.label == OUT_OF_SCOPE).map_or(0.0, |l| l.recall));
    let mut confusions: Vec<(String, String, usize)> =
        confusions.into_iter().map(|((g, p), n)| (g.to_owned(), p.to_owned(), n)).collect();
    confusions.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    confusions.truncate(10);
    Report { n: pairs.len(), accuracy: ratio(right, scored), macro_f1, oos_recall, labels, confusions }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(g, p)| ((*g).to_owned(), (*p).to_owned())).collect()
    }

    #[test]
    fn accuracy_and_macro_f1() {
        let r = evaluate(&pairs(&[("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]));
        assert_eq!(r.n, 4);
        assert!((r.accuracy - 0.75).abs() < 1e-9);
        // a: p=1 r=.5 f1=.667; b: p=.667 r=1 f1=.8
        assert!((r.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
        assert_eq!(r.oos_recall, None);
        assert_eq!(r.confusions, vec![("a".to_owned(), "b".to_owned(), 1)]);
    }

    #[test]
    fn out_of_scope_rows_are_scored_apart() {
        let r = evaluate(&pairs(&[("a", "a"), ("a", "oos"), ("oos", "oos"), ("oos", "a")]));
        assert!((r.accuracy - 0.5).abs() < 1e-9, "in-scope rows only");
        assert_eq!(r.oos_recall, Some(0.5));
    }

    #[test]
    fn empty_input_is_zero_not_nan() {
        let r = evaluate(&[]);
        assert_eq!(r.accuracy, 0.0);
        assert_eq!(r.macro_f1, 0.0);
    }
}

/// Area under the ROC curve of `scores` (score, is positive): the chance a
/// random positive outscores a random negative, ties counting half. `None`
/// without both classes.
pub fn auc(scores: &[(f32, bool)]) -> Option<f64> {
    let positives = scores.iter().filter(|(_, p)| *p).count() as f64;
    let negatives = scores.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut sorted: Vec<(f32, bool)> = scores.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann–Whitney: sum of positive ranks, tied scores sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let mean_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += mean_rank * sorted[i..j].iter().filter(|(_, p)| *p).count() as f64;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// The threshold (score ≥ t means positive) with the best accuracy, and that accuracy.
pub fn best_threshold(scores: &[(f32, bool)]) -> (f32, f64) {
    let mut sorted: Vec<(f32, bool)> = scores.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = sorted.len().max(1) as f64;
    // Threshold above everything: all negative.
    let mut correct = sorted.iter().filter(|(_, p)| !*p).count() as i64;
    let (mut best_t, mut best) = (f32::INFINITY, correct);
    let mut i = sorted.len();
    while i > 0 {
        let t = sorted[i - 1].0;
        while i > 0 && sorted[i - 1].0 == t {
            correct += if sorted[i - 1].1 { 1 } else { -1 };
            i -= 1;
        }
        if correct > best {
            (best_t, best) = (t, correct);
        }
    }
    (best_t, best as f64 / n)
}

/// Accuracy of `score ≥ threshold` as the positive prediction.
pub fn accuracy_at(scores: &[(f32, bool)], threshold: f32) -> f64 {
    let correct = scores.iter().filter(|(s, p)| (*s >= threshold) == *p).count();
    correct as f64 / scores.len().max(1) as f64
}

#[cfg(test)]
mod ranking_tests {
    use super::*;

    #[test]
    fn auc_and_threshold_on_small_cases() {
        let perfect = [(0.1, false), (0.2, false), (0.8, true), (0.9, true)];
        assert_eq!(auc(&perfect), Some(1.0));
        assert_eq!(best_threshold(&perfect), (0.8, 1.0));
        let reversed = [(0.9, false), (0.1, true)];
        assert_eq!(auc(&reversed), Some(0.0));
        let ties = [(0.5, false), (0.5, true)];
        assert_eq!(auc(&ties), Some(0.5));
        assert_eq!(auc(&[(0.5, true)]), None);
        assert_eq!(accuracy_at(&perfect, 0.5), 1.0);
    }
}
