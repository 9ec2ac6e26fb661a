//! `kefu bench nlu`: the text pipeline against the raw library it is built
//! on (jieba-rs, measured in the same run), and the classifier's speed.

use std::path::PathBuf;
use std::time::Instant;

use hdrhistogram::Histogram;
use kefu_nlu::{Classifier, Tokenizer, normalize};
use serde_json::json;

#[derive(clap::Args, Clone, Debug)]
pub struct NluArgs {
    /// JSONL with a "text" field (default: the built-in intent examples).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// A model file (default: the built-in intent model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Passes over the corpus per measurement.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: NluArgs) -> anyhow::Result<()> {
    let texts: Vec<String> = match &args.data {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["text"].as_str().map(str::to_owned))
            .collect(),
        None => kefu_nlu::builtin::intent_examples().into_iter().map(|e| e.text).collect(),
    };
    anyhow::ensure!(!texts.is_empty(), "no texts to measure");
    let model = match &args.model {
        Some(path) => Classifier::from_bytes(&std::fs::read(path)?)?,
        None => Classifier::from_bytes(kefu_nlu::builtin::intent_model_bytes())?,
    };
    let bytes: usize = texts.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6 * args.rounds as f64;
    let rounds = args.rounds.max(1);

    // Raw jieba-rs against ours (normalise + tokenise: jieba inside, plus our
    // dictionary and the Latin/number split), one pass each in turn so both
    // see the same machine weather; the median pass of each is reported.
    let jieba = jieba_rs::Jieba::new();
    let tokenizer = Tokenizer::shared();
    let mut sink = 0usize;
    let pass_mb = bytes as f64 / 1e6;
    let normalized: Vec<String> = texts.iter().map(|t| normalize(t)).collect();
    let (mut jieba_runs, mut normalize_runs, mut ours_runs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut jieba_norm_runs, mut segment_runs) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(3) {
        // Segmentation alone: both on the same normalised text.
        let started = Instant::now();
        for t in &normalized {
            sink += jieba.cut(t, true).len();
        }
        jieba_norm_runs.push(pass_mb / started.elapsed().as_secs_f64());
        let started = Instant::now();
        for t in &normalized {
            sink += tokenizer.tokens(t).len();
        }
        segment_runs.push(pass_mb / started.elapsed().as_secs_f64());
        let started = Instant::now();
        for t in &texts {
            sink += jieba.cut(t, true).len();
        }
        jieba_runs.push(pass_mb / started.elapsed().as_secs_f64());
        let started = Instant::now();
        for t in &texts {
            sink += normalize(t).len();
        }
        normalize_runs.push(pass_mb / started.elapsed().as_secs_f64());
        let started = Instant::now();
        for t in &texts {
            sink += tokenizer.tokens(&normalize(t)).len();
        }
        ours_runs.push(pass_mb / started.elapsed().as_secs_f64());
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (jieba_mb_s, normalize_mb_s, ours_mb_s) = (median(jieba_runs), median(normalize_runs), median(ours_runs));
    let (jieba_norm_mb_s, segment_mb_s) = (median(jieba_norm_runs), median(segment_runs));

    // Classification, one message at a time, with per-message latency.
    let mut latency = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)?;
    let started = Instant::now();
    for _ in 0..rounds {
        for t in &texts {
            let one = Instant::now();
            sink += model.predict(t).label.len();
            latency.record((one.elapsed().as_nanos() as u64).max(1))?;
        }
    }
    let classify_per_sec = (texts.len() * rounds) as f64 / started.elapsed().as_secs_f64();

    // Knowledge-base search: every text against the bench shop's 500 entries
    // (1,500 questions), beside tokenising alone (what the search is built on).
    let kb = kefu_bot::knowledge::Knowledge::new(super::target::bulk_knowledge().into_iter().enumerate().map(
        |(i, (question, alternates, answer))| kefu_core::knowledge::KnowledgeEntry {
            id: kefu_core::id::KnowledgeId::from_uuid(uuid::Uuid::from_u128(i as u128)),
            shop_id: kefu_core::id::ShopId::from_uuid(uuid::Uuid::nil()),
            question,
            alternates,
            answer,
            category: None,
            enabled: true,
            updated_at: kefu_core::clock::Timestamp(0),
        },
    ));
    let mut search_latency = Histogram::<u64>::new_with_bounds(1, 100_000_000, 3)?;
    let started = Instant::now();
    for t in &texts {
        let one = Instant::now();
        sink += kb.search(t, 2).len();
        search_latency.record((one.elapsed().as_nanos() as u64).max(1))?;
    }
    let search_per_sec = texts.len() as f64 / started.elapsed().as_secs_f64();
    let tokenize_per_sec = (texts.len() * rounds) as f64 * ours_mb_s / mb;
    std::hint::black_box(sink);

    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "texts": texts.len(),
        "mean_bytes": bytes as f64 / texts.len() as f64,
        "jieba_raw_mb_per_sec": jieba_mb_s,
        "normalize_mb_per_sec": normalize_mb_s,
        "tokenize_mb_per_sec": ours_mb_s,
        "tokenize_vs_jieba": ours_mb_s / jieba_mb_s,
        "segment_only_mb_per_sec": segment_mb_s,
        "jieba_on_normalized_mb_per_sec": jieba_norm_mb_s,
        "segment_vs_jieba": segment_mb_s / jieba_norm_mb_s,
        "classify_per_sec_one_thread": classify_per_sec,
        "classify_p50_us": us(0.5),
        "classify_p99_us": us(0.99),
        "classify_p999_us": us(0.999),
        "kb_questions": 1500,
        "kb_search_per_sec_one_thread": search_per_sec,
        "kb_search_p50_us": search_latency.value_at_quantile(0.5) as f64 / 1000.0,
        "kb_search_p99_us": search_latency.value_at_quantile(0.99) as f64 / 1000.0,
        "kb_search_vs_tokenize": search_per_sec / tokenize_per_sec,
    });
    if args.json {
        println!("{report}");
    } else {
        println!("texts                    {} (mean {:.0} bytes)", texts.len(), bytes as f64 / texts.len() as f64);
        println!("raw jieba-rs cut         {jieba_mb_s:.2} MB/s");
        println!("normalise only           {normalize_mb_s:.2} MB/s");
        println!("normalise + tokenise     {ours_mb_s:.2} MB/s  ({:.2}× raw jieba-rs)", ours_mb_s / jieba_mb_s);
        println!(
            "tokenise only            {segment_mb_s:.2} MB/s  ({:.2}× raw jieba-rs on the same normalised text, {jieba_norm_mb_s:.2} MB/s)",
            segment_mb_s / jieba_norm_mb_s
        );
        println!("classify, one thread     {classify_per_sec:.0} texts/s");
        println!("classify latency         p50 {:.1} µs, p99 {:.1} µs, p999 {:.1} µs", us(0.5), us(0.99), us(0.999));
        println!(
            "knowledge search (1,500 questions) {search_per_sec:.0} texts/s ({:.2}× tokenising alone), p50 {:.1} µs, p99 {:.1} µs",
            search_per_sec / tokenize_per_sec,
            search_latency.value_at_quantile(0.5) as f64 / 1000.0,
            search_latency.value_at_quantile(0.99) as f64 / 1000.0
        );
    }
    Ok(())
}
