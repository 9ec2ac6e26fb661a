//! A trainable text classifier for intents, sentiment, emotion or product
//! category: TF-IDF over [`features`](crate::features); three linear models
//! (one-vs-rest squared-hinge SVMs by dual coordinate descent as in
//! LIBLINEAR, the same over NB-scaled features, and softmax regression)
//! added into one weight matrix; and a softmax over the margins with a
//! temperature fitted on a held-out slice so the confidence means something. Examples labelled [`OUT_OF_SCOPE`] train
//! an out-of-scope class, and a confidence threshold tuned on the held-out
//! slice sends weak in-scope guesses out of scope too.

use std::collections::HashMap;

use crate::{OUT_OF_SCOPE, Tokenizer, features, normalize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub label: String,
    /// Variants of one written phrase share a group, so calibration holds
    /// out whole phrases rather than near-copies of trained ones.
    pub group: Option<u32>,
}

impl Example {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Self {
        Example { text: text.into(), label: label.into(), group: None }
    }
}

#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// SVM cost: higher fits the training data harder.
    pub c: f32,
    /// Upper bound on coordinate-descent passes per class.
    pub max_epochs: usize,
    /// Features seen in fewer training texts are dropped.
    pub min_df: u32,
    /// Share of each label held out to calibrate confidence and the threshold.
    pub holdout: f32,
    pub seed: u64,
    /// The linear models trained and added together into the one model.
    pub learners: Vec<Learner>,
    /// With `oos` rows in the data: the share of correctly answered in-scope
    /// questions the out-of-scope threshold may turn away.
    pub in_scope_loss: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            c: 1.0,
            max_epochs: 40,
            min_df: 2,
            holdout: 0.1,
            seed: 7,
            learners: vec![Learner::Svm, Learner::NbSvm, Learner::Softmax],
            in_scope_loss: 0.002,
        }
    }
}

/// One linear model over the shared TF-IDF features. Several learners are
/// added together (each scaled to the typical spread of its margins), so a
/// combination still predicts with one weight matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learner {
    /// One-vs-rest squared-hinge SVM.
    Svm,
    /// The same SVM over features scaled by per-class log-count ratios.
    NbSvm,
    /// Multinomial logistic regression (softmax), trained by SGD.
    Softmax,
}

impl Learner {
    fn name(self) -> &'static str {
        match self {
            Learner::Svm => "svm",
            Learner::NbSvm => "nb-svm",
            Learner::Softmax => "softmax",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The best label, or [`OUT_OF_SCOPE`].
    pub label: String,
    /// Calibrated probability of the best in-scope label.
    pub confidence: f32,
    pub top: Vec<(String, f32)>,
    pub out_of_scope: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TrainError {
    #[error("no training examples")]
    Empty,
    #[error("at least two labels are needed, found {0}")]
    OneLabel(usize),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("not a kefu classifier model (bad magic)")]
    BadMagic,
    #[error("the model file is truncated or corrupt: {0}")]
    Corrupt(&'static str),
}

/// Reports progress: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

pub struct Classifier {
    labels: Vec<String>,
    index: FeatureIndex,
    idf: Vec<f32>,
    /// `weights[column * labels + class]`: a text touches few columns, each contiguous.
    weights: Vec<f32>,
    bias: Vec<f32>,
    temperature: f32,
    threshold: f32,
    oos_class: Option<usize>,
    /// Which candidate training chose (not stored in the model file).
    chosen: String,
}

/// Labels and vocabulary size: the weights are too many to print.
impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("labels", &self.labels)
            .field("features", &self.index.len())
            .finish_non_exhaustive()
    }
}

/// A text as sparse TF-IDF, L2-normalised: (column, value).
type Vector = Vec<(u32, f32)>;

/// Feature hash → column (see [`features::FeatureMap`]).
type FeatureIndex = features::FeatureMap<u32>;

impl Classifier {
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Overrides the calibrated out-of-scope threshold (0 turns it off).
    pub fn set_threshold(&mut self, threshold: f32) {
        self.threshold = threshold.clamp(0.0, 1.0);
    }

    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    pub fn train(examples: &[Example], config: &TrainConfig, progress: Progress<'_>) -> Result<Self, TrainError> {
        if examples.is_empty() {
            return Err(TrainError::Empty);
        }
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort();
        labels.dedup();
        if labels.len() < 2 {
            return Err(TrainError::OneLabel(labels.len()));
        }
        let label_of: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
        let y: Vec<usize> = examples.iter().map(|e| label_of[e.label.as_str()]).collect();
        let tokenizer = Tokenizer::shared();
        let mut docs = Vec::with_capacity(examples.len());
        for (i, e) in examples.iter().enumerate() {
            docs.push(hashes(tokenizer, &e.text));
            if i % 512 == 0 {
                progress("features", i as u64, examples.len() as u64);
            }
        }
        progress("features", examples.len() as u64, examples.len() as u64);

        let groups: Vec<Option<u32>> = examples.iter().map(|e| e.group).collect();
        let (fit_rows, held_rows) = split(&y, &groups, labels.len(), config);
        // Temperature and threshold come from a model that has not seen the
        // held-out slice; the shipped model then learns from every row.
        let mut model = fit(&labels, &docs, &y, &fit_rows, config, progress, "calibrating");
        if !held_rows.is_empty() {
            let held: Vec<(Vector, usize)> = held_rows.iter().map(|&i| (model.vectorize(&docs[i]), y[i])).collect();
            model.temperature = fit_temperature(&model, &held);
            model.threshold = fit_threshold(&model, &held, config.in_scope_loss);
        }
        let (temperature, threshold) = (model.temperature, model.threshold);
        let all: Vec<usize> = (0..docs.len()).collect();
        let mut model = fit(&labels, &docs, &y, &all, config, progress, "training");
        model.temperature = temperature;
        model.threshold = threshold;
        model.chosen = describe(config);
        Ok(model)
    }

    /// The configuration model selection chose, e.g. `nb-svm c=1`.
    pub fn chosen(&self) -> &str {
        &self.chosen
    }

    pub fn predict(&self, text: &str) -> Prediction {
        self.predict_prepared(&Prepared::new(text))
    }

    /// `predict` on text already normalised and featurised, so several
    /// models can read one message for the price of one pass.
    pub fn predict_prepared(&self, text: &Prepared<'_>) -> Prediction {
        self.predict_vector(&self.vectorize(&text.features))
    }

    fn predict_vector(&self, v: &Vector) -> Prediction {
        let probs = self.probabilities(v);
        let mut ranked: Vec<usize> = (0..self.labels.len()).collect();
        ranked.sort_by(|a, b| probs[*b].total_cmp(&probs[*a]).then(a.cmp(b)));
        let best_in_scope = ranked.iter().copied().find(|c| Some(*c) != self.oos_class);
        let confidence = best_in_scope.map_or(0.0, |c| probs[c]);
        let out_of_scope = ranked.first().copied() == self.oos_class || confidence < self.threshold;
        let label = match best_in_scope {
            Some(c) if !out_of_scope => self.labels[c].clone(),
            _ => OUT_OF_SCOPE.to_owned(),
        };
        let top = ranked.iter().take(3).map(|c| (self.labels[*c].clone(), probs[*c])).collect();
        Prediction { label, confidence, top, out_of_scope }
    }

    fn vectorize(&self, doc: &[u64]) -> Vector {
        let mut columns: Vec<u32> = doc.iter().filter_map(|h| self.index.get(h).copied()).collect();
        columns.sort_unstable();
        let mut counts: Vec<(u32, f32)> = Vec::with_capacity(columns.len());
        for col in columns {
            match counts.last_mut() {
                Some((last, n)) if *last == col => *n += 1.0,
                _ => counts.push((col, 1.0)),
            }
        }
        tfidf(counts, &self.idf)
    }

    fn margins(&self, v: &Vector) -> Vec<f32> {
        let k = self.labels.len();
        let mut scores = self.bias.clone();
        for (col, x) in v {
            let row = &self.weights[*col as usize * k..(*col as usize + 1) * k];
            for (s, w) in scores.iter_mut().zip(row) {
                *s += w * x;
            }
        }
        scores
    }

    fn probabilities(&self, v: &Vector) -> Vec<f32> {
        softmax(&self.margins(v), self.temperature)
    }
}

/// One message as every model reads it: the raw text (capitals survive only
/// there), its normalised form and its feature hashes.
pub struct Prepared<'a> {
    pub raw: &'a str,
    pub normalized: String,
    pub features: Vec<u64>,
}

impl<'a> Prepared<'a> {
    pub fn new(raw: &'a str) -> Prepared<'a> {
        let normalized = normalize(raw);
        let mut features = Vec::new();
        features::features(&Tokenizer::shared().tokens(&normalized), &mut features);
        Prepared { raw, normalized, features }
    }
}

fn hashes(tokenizer: &Tokenizer, text: &str) -> Vec<u64> {
    let normalized = normalize(text);
    let mut out = Vec::new();
    features::features(&tokenizer.tokens(&normalized), &mut out);
    out
}

/// `counts`: each column once, in column order.
fn tfidf(counts: Vec<(u32, f32)>, idf: &[f32]) -> Vector {
    let mut v: Vector = counts;
    for (c, x) in &mut v {
        *x = (1.0 + x.ln()) * idf[*c as usize];
    }
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut v {
            *x /= norm;
        }
    }
    v
}

fn softmax(margins: &[f32], temperature: f32) -> Vec<f32> {
    let t = temperature.max(1e-4);
    let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = margins.iter().map(|m| ((m - max) / t).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// A deterministic stratified split: `holdout` of each label's rows (none
/// when a label has fewer than 5), keeping each group on one side.
fn split(y: &[usize], groups: &[Option<u32>], labels: usize, config: &TrainConfig) -> (Vec<usize>, Vec<usize>) {
    // Units of one row, or of all rows of a group, per label.
    let mut units: Vec<Vec<Vec<usize>>> = vec![Vec::new(); labels];
    let mut unit_of: HashMap<(usize, u32), usize> = HashMap::new();
    for (i, l) in y.iter().enumerate() {
        match groups[i] {
            Some(g) => {
                let slot = *unit_of.entry((*l, g)).or_insert_with(|| {
                    units[*l].push(Vec::new());
                    units[*l].len() - 1
                });
                units[*l][slot].push(i);
            }
            None => units[*l].push(vec![i]),
        }
    }
    let mut rng = SplitMix(config.seed);
    let (mut fit, mut held) = (Vec::new(), Vec::new());
    for mut label_units in units {
        rng.shuffle(&mut label_units);
        let n = label_units.len();
        let n_held = if n >= 5 { (n as f32 * config.holdout).round() as usize } else { 0 };
        for (k, unit) in label_units.into_iter().enumerate() {
            if k < n_held { held.extend(unit) } else { fit.extend(unit) }
        }
    }
    fit.sort_unstable();
    held.sort_unstable();
    (fit, held)
}

fn fit(
    labels: &[String],
    docs: &[Vec<u64>],
    y: &[usize],
    rows: &[usize],
    config: &TrainConfig,
    progress: Progress<'_>,
    stage: &str,
) -> Classifier {
    // Vocabulary and IDF from the rows being fitted.
    let mut df: HashMap<u64, u32> = HashMap::new();
    for &i in rows {
        let mut seen = docs[i].clone();
        seen.sort_unstable();
        seen.dedup();
        for h in seen {
            *df.entry(h).or_default() += 1;
        }
    }
    let mut kept: Vec<(u64, u32)> = df.into_iter().filter(|(_, n)| *n >= config.min_df).collect();
    kept.sort_unstable();
    let n = rows.len() as f32;
    let idf: Vec<f32> = kept.iter().map(|(_, d)| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0).collect();
    let index: FeatureIndex = kept.iter().enumerate().map(|(i, (h, _))| (*h, i as u32)).collect();
    let k = labels.len();
    let mut model = Classifier {
        labels: labels.to_vec(),
        index,
        idf,
        weights: Vec::new(),
        bias: vec![0.0; k],
        temperature: 1.0,
        threshold: 0.0,
        oos_class: labels.iter().position(|l| l == OUT_OF_SCOPE),
        chosen: String::new(),
    };
    let xs: Vec<Vector> = rows.iter().map(|&i| model.vectorize(&docs[i])).collect();
    let ys: Vec<usize> = rows.iter().map(|&i| y[i]).collect();
    let features = model.idf.len();

    let mut weights = vec![0.0f32; features * k];
    let mut bias = vec![0.0f32; k];
    for learner in &config.learners {
        let (w, b) = match learner {
            Learner::Svm => one_vs_rest(&xs, &ys, k, features, config, false, progress, stage),
            Learner::NbSvm => one_vs_rest(&xs, &ys, k, features, config, true, progress, stage),
            Learner::Softmax => softmax_regression(&xs, &ys, k, features, config, progress, stage),
        };
        // Margins of different learners live on different scales; each is
        // brought to unit spread across classes so none drowns the others.
        let scale = if config.learners.len() > 1 { 1.0 / margin_spread(&xs, &w, &b, k) } else { 1.0 };
        for (sum, x) in weights.iter_mut().zip(&w) {
            *sum += x * scale;
        }
        for (sum, x) in bias.iter_mut().zip(&b) {
            *sum += x * scale;
        }
    }
    model.weights = weights;
    model.bias = bias;
    model
}

fn describe(config: &TrainConfig) -> String {
    let names: Vec<&str> = config.learners.iter().map(|l| l.name()).collect();
    format!("{} c={}", names.join("+"), config.c)
}

/// Mean over texts of the standard deviation of their class margins.
fn margin_spread(xs: &[Vector], w: &[f32], b: &[f32], k: usize) -> f32 {
    let mut total = 0.0f64;
    let mut scores = vec![0.0f32; k];
    for x in xs {
        scores.copy_from_slice(b);
        for (col, v) in x {
            let row = &w[*col as usize * k..(*col as usize + 1) * k];
            for (s, w) in scores.iter_mut().zip(row) {
                *s += w * v;
            }
        }
        let mean = scores.iter().sum::<f32>() / k as f32;
        let var = scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f32>() / k as f32;
        total += f64::from(var.sqrt());
    }
    let spread = (total / xs.len().max(1) as f64) as f32;
    if spread > 1e-6 { spread } else { 1.0 }
}

/// One SVM per class, classes spread over the cores; weights laid out
/// `[column * k + class]`.
#[allow(clippy::too_many_arguments)]
fn one_vs_rest(
    xs: &[Vector],
    ys: &[usize],
    k: usize,
    features: usize,
    config: &TrainConfig,
    nb: bool,
    progress: Progress<'_>,
    stage: &str,
) -> (Vec<f32>, Vec<f32>) {
    let done = std::sync::atomic::AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(k);
    let mut per_class: Vec<(Vec<f32>, f32)> = vec![(Vec::new(), 0.0); k];
    std::thread::scope(|scope| {
        let chunks: Vec<_> = per_class.chunks_mut(k.div_ceil(threads)).enumerate().collect();
        for (chunk_index, chunk) in chunks {
            let done = &done;
            let first = chunk_index * k.div_ceil(threads);
            scope.spawn(move || {
                for (offset, slot) in chunk.iter_mut().enumerate() {
                    let class = first + offset;
                    *slot = if nb {
                        nb_svm(xs, ys, class, features, config)
                    } else {
                        binary_svm(xs, ys, class, features, config)
                    };
                    let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(stage, d, k as u64);
                }
            });
        }
    });
    let mut weights = vec![0.0f32; features * k];
    let mut bias = vec![0.0f32; k];
    for (class, (w, b)) in per_class.into_iter().enumerate() {
        for (col, value) in w.into_iter().enumerate() {
            weights[col * k + class] = value;
        }
        bias[class] = b;
    }
    (weights, bias)
}

/// Multinomial logistic regression with L2 (`1 / (c·SOFTMAX_C·n)` per
/// example) by plain SGD with a linearly decaying step. The weight decay is
/// kept as one running scale so an update touches only the text's columns.
fn softmax_regression(
    xs: &[Vector],
    ys: &[usize],
    k: usize,
    features: usize,
    config: &TrainConfig,
    progress: Progress<'_>,
    stage: &str,
) -> (Vec<f32>, Vec<f32>) {
    // The SVM's C and this one mean different things; 30 per unit of C was
    // the best setting on held-out slices of several data sets.
    const SOFTMAX_C: f32 = 30.0;
    const EPOCHS: usize = 15;
    const STEP: f32 = 2.0;
    let lambda = 1.0 / (config.c * SOFTMAX_C * xs.len().max(1) as f32);
    let mut v = vec![0.0f32; features * k];
    let mut bias = vec![0.0f32; k];
    let mut scale = 1.0f32;
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut rng = SplitMix(config.seed ^ 0x5eed);
    let mut z = vec![0.0f32; k];
    let total = (EPOCHS * xs.len()).max(1) as f32;
    let mut t = 0usize;
    for epoch in 0..EPOCHS {
        rng.shuffle(&mut order);
        for &i in &order {
            let eta = STEP * (1.0 - t as f32 / total).max(0.01);
            t += 1;
            z.copy_from_slice(&bias);
            for (col, x) in &xs[i] {
                let row = &v[*col as usize * k..(*col as usize + 1) * k];
                for (zc, w) in z.iter_mut().zip(row) {
                    *zc += scale * w * x;
                }
            }
            let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for zc in z.iter_mut() {
                *zc = (*zc - max).exp();
                sum += *zc;
            }
            // z becomes the gradient of the loss in the margins: p - onehot.
            for zc in z.iter_mut() {
                *zc /= sum;
            }
            z[ys[i]] -= 1.0;
            scale *= 1.0 - eta * lambda;
            let step = eta / scale;
            for (col, x) in &xs[i] {
                let row = &mut v[*col as usize * k..(*col as usize + 1) * k];
                for (w, g) in row.iter_mut().zip(&z) {
                    *w -= step * g * x;
                }
            }
            for (b, g) in bias.iter_mut().zip(&z) {
                *b -= eta * g;
            }
            if scale < 1e-3 {
                for w in v.iter_mut() {
                    *w *= scale;
                }
                scale = 1.0;
            }
        }
        progress(stage, epoch as u64 + 1, EPOCHS as u64);
    }
    for w in v.iter_mut() {
        *w *= scale;
    }
    (v, bias)
}

/// NB-SVM (Wang & Manning, 2012): each feature scaled by its log-count ratio
/// between this class and the rest before the SVM; the ratios are folded
/// into the weights afterwards, so prediction costs the same.
fn nb_svm(xs: &[Vector], ys: &[usize], class: usize, features: usize, config: &TrainConfig) -> (Vec<f32>, f32) {
    const ALPHA: f32 = 1.0;
    let mut p = vec![ALPHA; features];
    let mut q = vec![ALPHA; features];
    for (x, y) in xs.iter().zip(ys) {
        let side = if *y == class { &mut p } else { &mut q };
        for (c, _) in x {
            side[*c as usize] += 1.0;
        }
    }
    let (ps, qs) = (p.iter().sum::<f32>(), q.iter().sum::<f32>());
    let r: Vec<f32> = p.iter().zip(&q).map(|(a, b)| ((a / ps) / (b / qs)).ln()).collect();
    let scaled: Vec<Vector> = xs.iter().map(|x| x.iter().map(|(c, v)| (*c, v * r[*c as usize])).collect()).collect();
    let (w, b) = binary_svm(&scaled, ys, class, features, config);
    (w.iter().zip(&r).map(|(w, r)| w * r).collect(), b)
}

/// One class against the rest: squared-hinge L2 SVM by dual coordinate
/// descent (Hsieh et al., 2008), bias as a constant feature.
fn binary_svm(xs: &[Vector], ys: &[usize], class: usize, features: usize, config: &TrainConfig) -> (Vec<f32>, f32) {
    let diag = 0.5 / config.c;
    let mut w = vec![0.0f32; features];
    let mut b = 0.0f32;
    let mut alpha = vec![0.0f32; xs.len()];
    let q: Vec<f32> = xs.iter().map(|x| x.iter().map(|(_, v)| v * v).sum::<f32>() + 1.0 + diag).collect();
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut rng = SplitMix(config.seed ^ class as u64);
    for _ in 0..config.max_epochs {
        rng.shuffle(&mut order);
        let (mut pg_max, mut pg_min) = (f32::NEG_INFINITY, f32::INFINITY);
        for &i in &order {
            let yi = if ys[i] == class { 1.0 } else { -1.0 };
            let margin = xs[i].iter().map(|(c, v)| w[*c as usize] * v).sum::<f32>() + b;
            let g = yi * margin - 1.0 + diag * alpha[i];
            let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
            pg_max = pg_max.max(pg);
            pg_min = pg_min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / q[i]).max(0.0);
                let step = (alpha[i] - old) * yi;
                for (c, v) in &xs[i] {
                    w[*c as usize] += step * v;
                }
                b += step;
            }
        }
        if pg_max - pg_min < 0.1 {
            break;
        }
    }
    (w, b)
}

/// The temperature that makes held-out probabilities honest (least log loss).
fn fit_temperature(model: &Classifier, held: &[(Vector, usize)]) -> f32 {
    let margins: Vec<(Vec<f32>, usize)> = held.iter().map(|(v, y)| (model.margins(v), *y)).collect();
    let mut best = (f32::INFINITY, 1.0);
    for step in 0..60 {
        let t = 0.01 * 1.12f32.powi(step);
        let loss: f32 = margins.iter().map(|(m, y)| -softmax(m, t)[*y].max(1e-9).ln()).sum();
        if loss < best.0 {
            best = (loss, t);
        }
    }
    best.1
}

/// The confidence under which a guess is called out of scope (only when
/// the training data has `oos` rows): the highest threshold that turns away
/// at most `budget` of the held-out in-scope questions the model answers
/// right. It is set on in-scope rows, which are many, rather than on the
/// few held-out `oos` rows, whose recall would be an optimistic guess.
fn fit_threshold(model: &Classifier, held: &[(Vector, usize)], budget: f32) -> f32 {
    let Some(oos) = model.oos_class else { return 0.0 };
    let mut model_without = Classifier { threshold: 0.0, ..model.shallow() };
    model_without.temperature = model.temperature;
    // Confidences of the correct in-scope answers, lowest first.
    let mut right: Vec<f32> = held
        .iter()
        .filter(|(_, y)| *y != oos)
        .map(|(v, y)| (model_without.predict_vector(v), *y))
        .filter(|(p, y)| !p.out_of_scope && p.label == model.labels[*y])
        .map(|(p, _)| p.confidence)
        .collect();
    if right.is_empty() {
        return 0.0;
    }
    right.sort_by(f32::total_cmp);
    let may_lose = (right.len() as f32 * budget).floor() as usize;
    // Just at the confidence of the first answer we may not lose.
    right[may_lose.min(right.len() - 1)].clamp(0.0, 0.95)
}

impl Classifier {
    /// The same model; the weights are cloned (used only while training).
    fn shallow(&self) -> Classifier {
        Classifier {
            labels: self.labels.clone(),
            index: self.index.clone(),
            idf: self.idf.clone(),
            weights: self.weights.clone(),
            bias: self.bias.clone(),
            temperature: self.temperature,
            threshold: self.threshold,
            oos_class: self.oos_class,
            chosen: self.chosen.clone(),
        }
    }

    /// The model file: little-endian, versioned by its magic.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.weights.len() * 4 + self.idf.len() * 12);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        for l in &self.labels {
            out.extend_from_slice(&(l.len() as u32).to_le_bytes());
            out.extend_from_slice(l.as_bytes());
        }
        out.extend_from_slice(&self.temperature.to_le_bytes());
        out.extend_from_slice(&self.threshold.to_le_bytes());
        out.extend_from_slice(&(self.idf.len() as u32).to_le_bytes());
        let mut columns: Vec<(u64, u32)> = self.index.iter().map(|(h, c)| (*h, *c)).collect();
        columns.sort_unstable_by_key(|(_, c)| *c);
        for (h, _) in &columns {
            out.extend_from_slice(&h.to_le_bytes());
        }
        for x in self.idf.iter().chain(&self.weights).chain(&self.bias) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Classifier, ModelError> {
        let mut r = Reader(bytes);
        if r.take(MAGIC.len())? != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let k = r.u32()? as usize;
        if !(2..=100_000).contains(&k) {
            return Err(ModelError::Corrupt("label count"));
        }
        let mut labels = Vec::with_capacity(k);
        for _ in 0..k {
            let len = r.u32()? as usize;
            let text = std::str::from_utf8(r.take(len)?).map_err(|_| ModelError::Corrupt("label text"))?;
            labels.push(text.to_owned());
        }
        let temperature = r.f32()?;
        let threshold = r.f32()?;
        let n = r.u32()? as usize;
        let needed = n.checked_mul(8 + 4 + 4 * k).and_then(|x| x.checked_add(4 * k));
        if needed != Some(r.0.len()) {
            return Err(ModelError::Corrupt("sizes do not match"));
        }
        let mut index = FeatureIndex::with_capacity_and_hasher(n, Default::default());
        for col in 0..n {
            index.insert(r.u64()?, col as u32);
        }
        let idf = r.f32s(n)?;
        let weights = r.f32s(n * k)?;
        let bias = r.f32s(k)?;
        let oos_class = labels.iter().position(|l| l == OUT_OF_SCOPE);
        Ok(Classifier { labels, index, idf, weights, bias, temperature, threshold, oos_class, chosen: String::new() })
    }
}

const MAGIC: &[u8] = b"KEFUCLS1";

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if self.0.len() < n {
            return Err(ModelError::Corrupt("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| ModelError::Corrupt("u32"))?))
    }
    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| ModelError::Corrupt("u64"))?))
    }
    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().map_err(|_| ModelError::Corrupt("f32"))?))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, ModelError> {
        let bytes = self.take(n * 4)?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

/// A small deterministic generator for shuffles (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: &str) -> Example {
        Example::new(text, label)
    }

    fn quiet(_: &str, _: u64, _: u64) {}

    fn toy() -> Vec<Example> {
        let mut v = Vec::new();
        for (texts, label) in [
            (
                ["我的快递到哪了", "物流怎么不动了", "包裹在哪里", "查一下物流", "快递到哪了亲", "物流信息没更新"],
                "logistics",
            ),
            (["我要退货", "怎么退货", "这个能退吗", "申请退货退款", "不想要了退货", "退货流程是什么"], "return"),
            (["发票怎么开", "我要开发票", "能开专票吗", "发票抬头写错了", "电子发票在哪下载", "开个发票"], "invoice"),
            (["今天天气怎么样", "讲个笑话", "你会唱歌吗", "明天下雨吗", "推荐个电影", "你几岁了"], OUT_OF_SCOPE),
        ] {
            for t in texts {
                v.push(ex(t, label));
            }
        }
        v
    }

    #[test]
    fn learns_a_toy_task_and_round_trips_through_bytes() {
        let config = TrainConfig { min_df: 1, ..TrainConfig::default() };
        let model = Classifier::train(&toy(), &config, &quiet).expect("train");
        assert_eq!(model.predict("快递到哪了").label, "logistics");
        assert_eq!(model.predict("我想退货").label, "return");
        let again = Classifier::from_bytes(&model.to_bytes()).expect("load");
        for text in ["开发票", "物流", "退货", "唱歌"] {
            assert_eq!(again.predict(text), model.predict(text));
        }
        let p = model.predict("发票");
        assert_eq!(p.top.len(), 3);
        assert!(p.top.windows(2).all(|w| w[0].1 >= w[1].1));
        let total: f32 = model.probabilities(&model.vectorize(&hashes(Tokenizer::shared(), "发票"))).iter().sum();
        assert!((total - 1.0).abs() < 1e-4);
    }

    #[test]
    fn each_learner_alone_and_their_sum_learn_the_toy_task() {
        for learners in
            [vec![Learner::Svm], vec![Learner::NbSvm], vec![Learner::Softmax], TrainConfig::default().learners]
        {
            let config = TrainConfig { min_df: 1, learners: learners.clone(), ..TrainConfig::default() };
            let model = Classifier::train(&toy(), &config, &quiet).expect("train");
            assert_eq!(model.predict("快递到哪了").label, "logistics", "{learners:?}");
            assert_eq!(model.predict("发票怎么开").label, "invoice", "{learners:?}");
            assert!(model.chosen().starts_with(learners[0].name()));
        }
    }

    #[test]
    fn refuses_degenerate_training_sets() {
        assert_eq!(Classifier::train(&[], &TrainConfig::default(), &quiet).err(), Some(TrainError::Empty));
        let one = [ex("a", "x"), ex("b", "x")];
        assert_eq!(Classifier::train(&one, &TrainConfig::default(), &quiet).err(), Some(TrainError::OneLabel(1)));
    }

    #[test]
    fn corrupt_model_files_are_errors_not_panics() {
        assert_eq!(Classifier::from_bytes(b"nope").err(), Some(ModelError::Corrupt("truncated")));
        assert_eq!(Classifier::from_bytes(b"NOTAMODEL___").err(), Some(ModelError::BadMagic));
        let config = TrainConfig { min_df: 1, ..TrainConfig::default() };
        let bytes = Classifier::train(&toy(), &config, &quiet).expect("train").to_bytes();
        for cut in [9, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(Classifier::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
