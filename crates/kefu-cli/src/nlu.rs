//! `kefu nlu train|eval|predict`: the text classifier on JSONL files of
//! `{"text": …, "label": …}` (other label fields and split filters by flag).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kefu_nlu::metrics::{self, Report};
use kefu_nlu::{Classifier, Example, TrainConfig};
use serde_json::{Value, json};

#[derive(clap::Subcommand)]
pub enum NluCommand {
    /// Train a classifier; the label `oos` marks out-of-scope examples.
    Train {
        /// JSONL training data (repeat to combine files).
        #[arg(long, required = true)]
        data: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        rows: RowArgs,
        /// SVM cost.
        #[arg(long, default_value_t = 1.0)]
        c: f32,
        /// Drop features seen in fewer texts.
        #[arg(long, default_value_t = 2)]
        min_df: u32,
        /// With `oos` rows: the share of held-out questions answered right that the
        /// out-of-scope threshold may turn away.
        #[arg(long, default_value_t = TrainConfig::default().in_scope_loss)]
        in_scope_loss: f32,
    },
    /// Accuracy, macro-F1, per-label precision/recall, confusions, out-of-scope recall.
    Eval {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        rows: RowArgs,
        #[arg(long)]
        json: bool,
        /// Override the model's out-of-scope confidence threshold (0 turns it off).
        #[arg(long)]
        threshold: Option<f32>,
    },
    /// Question matching (the knowledge base's matcher) on JSONL pairs
    /// `{"sentence1", "sentence2", "label": 0|1}`: ROC AUC and accuracy at a threshold.
    Match {
        #[arg(long)]
        data: PathBuf,
        /// Choose the threshold on these pairs (e.g. a dev split) instead of `--threshold`.
        #[arg(long)]
        tune: Option<PathBuf>,
        #[arg(long)]
        threshold: Option<f32>,
        #[arg(long)]
        json: bool,
    },
    /// Reads lines on stdin, writes one JSON prediction per line.
    Predict {
        #[arg(long)]
        model: PathBuf,
    },
}

#[derive(clap::Args, Clone)]
pub struct RowArgs {
    /// The field holding the label.
    #[arg(long, default_value = "label")]
    label_field: String,
    /// Keep only rows whose `split` field has this value.
    #[arg(long)]
    split: Option<String>,
}

pub fn run(command: NluCommand) -> anyhow::Result<()> {
    match command {
        NluCommand::Train { data, out, rows, c, min_df, in_scope_loss } => {
            anyhow::ensure!((0.0..=1.0).contains(&in_scope_loss), "--in-scope-loss must be between 0 and 1");
            let mut examples = Vec::new();
            for path in &data {
                examples.extend(read_examples(path, &rows)?);
            }
            let config = TrainConfig { c, min_df, in_scope_loss, ..TrainConfig::default() };
            let bar = bar();
            let started = std::time::Instant::now();
            let report = |stage: &str, done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(stage.to_owned());
            };
            let model = Classifier::train(&examples, &config, &report)?;
            bar.finish_and_clear();
            std::fs::write(&out, model.to_bytes()).with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "trained on {} examples, {} labels in {:.1} s ({}, temperature {:.3}, out-of-scope threshold {:.2}) → {}",
                examples.len(),
                model.labels().len(),
                started.elapsed().as_secs_f64(),
                model.chosen(),
                model.temperature(),
                model.threshold(),
                out.display()
            );
            Ok(())
        }
        NluCommand::Eval { model, data, rows, json, threshold } => {
            // The built-in emotion is the model plus its anger cues: evaluate what the bot uses.
            let whole_emotion = model == Path::new("builtin:emotion");
            // Said rather than ignored: its levels have no out-of-scope class to threshold.
            anyhow::ensure!(
                !(whole_emotion && threshold.is_some()),
                "--threshold does not apply to builtin:emotion (calm / dissatisfied / angry has no out-of-scope class)"
            );
            let mut model = load(&model)?;
            if let Some(t) = threshold {
                model.set_threshold(t);
            }
            let label_of = |text: &str| {
                if whole_emotion {
                    kefu_nlu::builtin::emotion(text).level.as_str().to_owned()
                } else {
                    model.predict(text).label
                }
            };
            let examples = read_examples(&data, &rows)?;
            let bar = bar();
            bar.set_length(examples.len() as u64);
            bar.set_message("evaluating");
            // Build the tokeniser's dictionary before the clock starts.
            label_of("");
            let started = std::time::Instant::now();
            let mut pairs = Vec::with_capacity(examples.len());
            for (i, e) in examples.into_iter().enumerate() {
                pairs.push((e.label, label_of(&e.text)));
                if i % 256 == 0 {
                    bar.set_position(i as u64);
                }
            }
            bar.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            let report = metrics::evaluate(&pairs);
            if json {
                println!("{}", report_json(&report, seconds));
            } else {
                print_report(&report, seconds);
            }
            Ok(())
        }
        NluCommand::Match { data, tune, threshold, json } => match_pairs(&data, tune.as_deref(), threshold, json),
        NluCommand::Predict { model } => {
            let model = load(&model)?;
            let stdin = std::io::stdin();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for line in stdin.lock().lines() {
                let line = line.context("reading stdin")?;
                let p = model.predict(&line);
                let top: Vec<Value> = p.top.iter().map(|(l, c)| json!({"label": l, "confidence": c})).collect();
                let v =
                    json!({"label": p.label, "confidence": p.confidence, "out_of_scope": p.out_of_scope, "top": top});
                writeln!(out, "{v}")?;
                out.flush()?;
            }
            Ok(())
        }
    }
}

fn bar() -> ProgressBar {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:>28} [{bar:30}] {pos}/{len} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// A model file, or `builtin:intents` / `builtin:emotion` for an embedded model.
fn load(path: &Path) -> anyhow::Result<Classifier> {
    if path == Path::new("builtin:intents") {
        return Ok(Classifier::from_bytes(kefu_nlu::builtin::intent_model_bytes())?);
    }
    if path == Path::new("builtin:emotion") {
        return Ok(Classifier::from_bytes(kefu_nlu::builtin::emotion_model_bytes())?);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Classifier::from_bytes(&bytes).with_context(|| format!("loading {}", path.display()))
}

/// Every row or an error naming the line: a half-read file trains nothing.
/// `builtin:intents-eval` and `builtin:emotion-eval` name the held-out messages written for the built-in models.
pub fn read_examples(path: &Path, rows: &RowArgs) -> anyhow::Result<Vec<Example>> {
    if path == Path::new("builtin:intents-eval") {
        return Ok(kefu_nlu::builtin::intent_eval_examples());
    }
    if path == Path::new("builtin:emotion-eval") {
        return Ok(kefu_nlu::builtin::emotion_eval_examples());
    }
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: not UTF-8", path.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(&line).with_context(|| format!("{}:{}: not a JSON object", path.display(), i + 1))?;
        if let Some(split) = &rows.split
            && v["split"].as_str() != Some(split.as_str())
        {
            continue;
        }
        let Some(text) = v["text"].as_str() else { bail!("{}:{}: no \"text\" string", path.display(), i + 1) };
        let label = match &v[rows.label_field.as_str()] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => bail!("{}:{}: no {:?} label", path.display(), i + 1, rows.label_field),
        };
        out.push(Example::new(text, label));
    }
    if out.is_empty() {
        bail!("{}: no examples", path.display());
    }
    Ok(out)
}

fn report_json(r: &Report, seconds: f64) -> Value {
    let mut v = json!({
        "n": r.n,
        "accuracy": r.accuracy,
        "macro_f1": r.macro_f1,
        "msgs_per_sec": r.n as f64 / seconds.max(1e-9),
        "labels": r.labels.iter().map(|l| json!({"label": l.label, "precision": l.precision, "recall": l.recall, "f1": l.f1, "support": l.support})).collect::<Vec<_>>(),
        "confusions": r.confusions.iter().map(|(g, p, n)| json!({"gold": g, "predicted": p, "count": n})).collect::<Vec<_>>(),
    });
    if let Some(oos) = r.oos_recall {
        v["oos_recall"] = json!(oos);
    }
    v
}

fn print_report(r: &Report, seconds: f64) {
    println!("examples      {}", r.n);
    println!("accuracy      {:.4}{}", r.accuracy, if r.oos_recall.is_some() { " (in-scope rows)" } else { "" });
    println!("macro-F1      {:.4}", r.macro_f1);
    if let Some(oos) = r.oos_recall {
        println!("oos recall    {oos:.4}");
    }
    println!("speed         {:.0} texts/s", r.n as f64 / seconds.max(1e-9));
    println!("\n{:<32} {:>9} {:>9} {:>9} {:>8}", "label", "precision", "recall", "f1", "support");
    for l in &r.labels {
        println!("{:<32} {:>9.3} {:>9.3} {:>9.3} {:>8}", l.label, l.precision, l.recall, l.f1, l.support);
    }
    if !r.confusions.is_empty() {
        println!("\ntop confusions (gold → predicted)");
        for (g, p, n) in &r.confusions {
            println!("  {n:>5}  {g} → {p}");
        }
    }
}

/// Similarity of every pair; document frequencies from the file's own
/// sentences (no labels), as a knowledge base's come from its questions.
type Scores = Vec<(f32, bool)>;

/// Our matcher's scores and the character-bigram baseline's, per pair.
fn pair_scores(path: &Path) -> anyhow::Result<(Scores, Scores)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let label = match v.get("label") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        match (field("sentence1"), field("sentence2"), label) {
            (Some(a), Some(b), Some(l @ (0 | 1))) => pairs.push((a, b, l == 1)),
            _ => bail!("{}:{}: needs sentence1, sentence2 and label 0 or 1", path.display(), i + 1),
        }
    }
    let mut df = kefu_nlu::faq::DocFreq::default();
    for (a, b, _) in &pairs {
        df.add(a);
        df.add(b);
    }
    let bar = bar();
    bar.set_length(pairs.len() as u64);
    bar.set_message("matching");
    let scores = pairs
        .iter()
        .enumerate()
        .map(|(i, (a, b, l))| {
            if i % 256 == 0 {
                bar.set_position(i as u64);
            }
            (kefu_nlu::faq::similarity(a, b, &df), *l)
        })
        .collect();
    bar.finish_and_clear();
    let baseline = char_bigram_scores(&pairs);
    Ok((scores, baseline))
}

/// The README's baseline in the same run: TF-IDF cosine over character
/// bigrams (spaces dropped), document frequencies from the same sentences.
fn char_bigram_scores(pairs: &[(String, String, bool)]) -> Vec<(f32, bool)> {
    use std::collections::HashMap;
    fn grams(text: &str) -> HashMap<String, f32> {
        let chars: Vec<char> = kefu_nlu::normalize(text).chars().filter(|c| !c.is_whitespace()).collect();
        let mut tf = HashMap::new();
        for w in chars.windows(2) {
            *tf.entry(w.iter().collect::<String>()).or_insert(0.0) += 1.0;
        }
        if chars.len() == 1 {
            tf.insert(chars[0].to_string(), 1.0);
        }
        tf
    }
    let mut df: HashMap<String, f32> = HashMap::new();
    let grams_of: Vec<(HashMap<String, f32>, HashMap<String, f32>)> =
        pairs.iter().map(|(a, b, _)| (grams(a), grams(b))).collect();
    for (a, b) in &grams_of {
        for g in a.keys().chain(b.keys()) {
            *df.entry(g.clone()).or_insert(0.0) += 1.0;
        }
    }
    let n = (2 * pairs.len()) as f32;
    let weigh = |tf: &HashMap<String, f32>| -> HashMap<String, f32> {
        let mut v: HashMap<String, f32> =
            tf.iter().map(|(g, c)| (g.clone(), c * (((n + 1.0) / (df[g] + 1.0)).ln() + 1.0))).collect();
        let norm = v.values().map(|w| w * w).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
        v.values_mut().for_each(|w| *w /= norm);
        v
    };
    grams_of
        .iter()
        .zip(pairs)
        .map(|((a, b), (_, _, l))| {
            let (a, b) = (weigh(a), weigh(b));
            (a.iter().map(|(g, w)| w * b.get(g).copied().unwrap_or(0.0)).sum(), *l)
        })
        .collect()
}

fn match_pairs(data: &Path, tune: Option<&Path>, threshold: Option<f32>, json: bool) -> anyhow::Result<()> {
    let (scores, baseline) = pair_scores(data)?;
    let baseline_auc = metrics::auc(&baseline).unwrap_or(f64::NAN);
    let (threshold, tuned_on) = match (tune, threshold) {
        (Some(tune), _) => (metrics::best_threshold(&pair_scores(tune)?.0).0, tune.display().to_string()),
        (None, Some(t)) => (t, "given".to_owned()),
        (None, None) => (metrics::best_threshold(&scores).0, "this data (optimistic)".to_owned()),
    };
    let auc = metrics::auc(&scores).unwrap_or(f64::NAN);
    let accuracy = metrics::accuracy_at(&scores, threshold);
    let said_same = scores.iter().filter(|(s, _)| *s >= threshold).count();
    let right = scores.iter().filter(|(s, p)| *s >= threshold && *p).count();
    let positives = scores.iter().filter(|(_, p)| *p).count();
    let precision = right as f64 / said_same.max(1) as f64;
    let recall = right as f64 / positives.max(1) as f64;
    if json {
        let v = json!({"n": scores.len(), "auc": auc, "accuracy": accuracy, "threshold": threshold,
            "precision": precision, "recall": recall, "baseline_char_bigram_auc": baseline_auc});
        println!("{v}");
    } else {
        println!("pairs      {}", scores.len());
        println!("ROC AUC    {auc:.4}   (character-bigram TF-IDF baseline, same run: {baseline_auc:.4})");
        println!("accuracy   {accuracy:.4} at similarity ≥ {threshold:.3} (threshold from {tuned_on})");
        println!("precision  {precision:.4}, recall {recall:.4} of matching pairs");
    }
    Ok(())
}
