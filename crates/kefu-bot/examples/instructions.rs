//! Instruction counts of the text pipeline's and the bot's hot paths, for CI.
//!
//! Wall-clock figures on these shared machines drift by tens of percent from
//! one minute to the next; the number of instructions a fixed workload
//! executes under `valgrind --tool=callgrind` does not. CI (`.ci/run`)
//! compares each workload's count with `bench/instructions.txt` and fails
//! when one moved by more than the tolerance, either way: a rise is a
//! regression to explain, a fall is a gain to record (`--update`).
//!
//! ```sh
//! cargo build --release -p kefu-bot --example instructions
//! target/release/examples/instructions check bench/instructions.txt [--update]
//! target/release/examples/instructions run classify   # one workload, natively
//! ```
//!
//! Every workload is a `workload_*` function that never inlines: callgrind
//! collects only inside it (`--toggle-collect`), so loading the models and
//! building the inputs is not counted. The inputs are the team's own
//! training phrases (never ../shared/data, which CI does not have and the
//! binary must not carry).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use kefu_bot::stories::{StoryFile, files_in};
use kefu_nlu::entities::{DEFAULT_ORDER_PATTERN, Day, Extractor};
use kefu_nlu::faq::FaqIndex;
use kefu_nlu::{Prepared, Tokenizer, builtin, normalize};

/// A count further than this from its baseline fails the check.
const TOLERANCE: f64 = 0.03;
/// About a megabyte of shopper messages for the text workloads.
const TEXT_BYTES: usize = 1 << 20;

struct Workload {
    name: &'static str,
    what: &'static str,
    /// Returns how many items (messages, turns) it handled.
    run: fn(&Inputs) -> usize,
    /// The function callgrind counts inside.
    collect: &'static str,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "normalize",
        what: "normalise 1 MiB of shopper messages, message by message",
        run: workload_normalize,
        collect: "workload_normalize",
    },
    Workload {
        name: "segment",
        what: "tokenise 1 MiB of normalised messages (jieba + our dictionary)",
        run: workload_segment,
        collect: "workload_segment",
    },
    Workload {
        name: "jieba",
        what: "raw jieba-rs (HMM on, its own dictionary) on the same messages: S4's peer",
        run: workload_jieba,
        collect: "workload_jieba",
    },
    Workload {
        name: "classify",
        what: "built-in intent model, each held-out message once",
        run: workload_classify,
        collect: "workload_classify",
    },
    Workload {
        name: "emotion",
        what: "built-in emotion model, each held-out message once",
        run: workload_emotion,
        collect: "workload_emotion",
    },
    Workload {
        name: "entities",
        what: "entities of each held-out message, one warm extractor (default order pattern, no catalogue)",
        run: workload_entities,
        collect: "workload_entities",
    },
    Workload {
        name: "faq",
        what: "top-5 over a 1,000-question index, each held-out message once",
        run: workload_faq,
        collect: "workload_faq",
    },
    Workload {
        name: "stories",
        what: "every dialogue story: world set-up and each bot turn",
        run: workload_stories,
        collect: "workload_stories",
    },
    Workload {
        name: "turns",
        what: "the same stories, counting only inside the bot's turns (flow::respond, respond_to)",
        run: workload_stories,
        collect: "kefu_bot::flow::respond",
    },
];

struct Inputs {
    messages: Vec<String>,
    normalized: Vec<String>,
    held_out: Vec<String>,
    jieba: jieba_rs::Jieba,
    faq: FaqIndex,
    extractor: Extractor,
    /// Relative dates resolve against a fixed day, so every run does the same work.
    today: Day,
    stories: Vec<StoryFile>,
}

impl Inputs {
    fn load() -> Inputs {
        let phrases: Vec<String> = builtin::intent_examples().into_iter().map(|e| e.text).collect();
        let mut messages = Vec::new();
        let mut bytes = 0;
        while bytes < TEXT_BYTES {
            for p in &phrases {
                bytes += p.len();
                messages.push(p.clone());
            }
        }
        let normalized = messages.iter().map(|m| normalize(m)).collect();
        let held_out: Vec<String> = builtin::intent_eval_examples().into_iter().map(|e| e.text).collect();
        let faq = FaqIndex::build(phrases.iter().take(1_000).enumerate().map(|(i, q)| (i, q.as_str())));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stories");
        let stories = files_in(&dir)
            .expect("the stories directory")
            .iter()
            .map(|f| StoryFile::load(f).expect("a story file"))
            .collect();
        // Touch the lazily built models so their loading is not counted.
        builtin::intent_model();
        builtin::emotion_model();
        kefu_nlu::cues::cues("", "");
        Tokenizer::shared();
        let extractor = Extractor::new(DEFAULT_ORDER_PATTERN, &[]).expect("the default pattern");
        let today = Day::new(2026, 11, 22).expect("a day");
        // The regexes' lazy DFAs fill on first use; a server's extractor lives for minutes.
        for m in &held_out {
            extractor.extract(&normalize(m), today);
        }
        Inputs { messages, normalized, held_out, jieba: jieba_rs::Jieba::new(), faq, extractor, today, stories }
    }
}

/// Runs `f` on every item, keeping what it returns from being optimised away.
fn each<T, R>(items: &[T], f: impl Fn(&T) -> R) -> usize {
    for item in items {
        std::hint::black_box(f(item));
    }
    items.len()
}

#[inline(never)]
fn workload_normalize(inputs: &Inputs) -> usize {
    each(&inputs.messages, |m| normalize(m))
}

#[inline(never)]
fn workload_segment(inputs: &Inputs) -> usize {
    let tokenizer = Tokenizer::shared();
    each(&inputs.normalized, |m| tokenizer.tokens(m).len())
}

#[inline(never)]
fn workload_jieba(inputs: &Inputs) -> usize {
    each(&inputs.normalized, |m| inputs.jieba.cut(m, true).len())
}

#[inline(never)]
fn workload_classify(inputs: &Inputs) -> usize {
    let model = builtin::intent_model();
    each(&inputs.held_out, |m| model.predict_prepared(&Prepared::new(m)))
}

#[inline(never)]
fn workload_emotion(inputs: &Inputs) -> usize {
    each(&inputs.held_out, |m| builtin::emotion_prepared(&Prepared::new(m)))
}

#[inline(never)]
fn workload_entities(inputs: &Inputs) -> usize {
    each(&inputs.held_out, |m| inputs.extractor.extract(&normalize(m), inputs.today))
}

#[inline(never)]
fn workload_faq(inputs: &Inputs) -> usize {
    each(&inputs.held_out, |m| inputs.faq.top(m, 5))
}

#[inline(never)]
fn workload_stories(inputs: &Inputs) -> usize {
    let results = inputs.stories.iter().flat_map(|f| f.run(None));
    results.map(|r| std::hint::black_box(r).turns).sum()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["run", name] => run(name),
        ["check", baseline] => check(Path::new(baseline), false),
        ["check", baseline, "--update"] => check(Path::new(baseline), true),
        _ => Err("usage: instructions run WORKLOAD | check BASELINE [--update]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("instructions: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workload(name: &str) -> Result<&'static Workload, String> {
    WORKLOADS.iter().find(|w| w.name == name).ok_or_else(|| format!("no workload {name:?}"))
}

fn run(name: &str) -> Result<(), String> {
    let w = workload(name)?;
    let inputs = Inputs::load();
    println!("{}", (w.run)(&inputs));
    Ok(())
}

/// What one workload cost under callgrind.
struct Counted {
    instructions: u64,
    items: u64,
}

/// Runs one workload under callgrind.
fn count(w: &Workload) -> Result<Counted, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out: PathBuf = std::env::temp_dir().join(format!("kefu-callgrind-{}-{}.out", std::process::id(), w.name));
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect=*{}*", w.collect))
        .arg("--quiet")
        .arg(&me)
        .args(["run", w.name])
        .output()
        .map_err(|e| format!("cannot start valgrind: {e}"))?;
    if !run.status.success() {
        return Err(format!("valgrind on {}: {}\n{}", w.name, run.status, String::from_utf8_lossy(&run.stderr)));
    }
    let items =
        String::from_utf8_lossy(&run.stdout).trim().parse().map_err(|_| format!("{}: no item count", w.name))?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    let instructions = text
        .lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|n| n.trim().parse().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            format!("no instructions counted for {}: is {} still a function (not inlined)?", w.name, w.collect)
        })?;
    Ok(Counted { instructions, items })
}

/// Baseline lines: `name count`; `#` starts a comment.
fn read_baseline(path: &Path) -> Result<BTreeMap<String, u64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut counts = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(name), Some(n), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("{}:{}: expected `name count`", path.display(), i + 1));
        };
        let n = n.parse().map_err(|_| format!("{}:{}: {n:?} is not a count", path.display(), i + 1))?;
        counts.insert(name.to_owned(), n);
    }
    Ok(counts)
}

fn write_baseline(path: &Path, counts: &BTreeMap<&str, u64>) -> Result<(), String> {
    let mut text = String::from(
        "# Instructions per workload (valgrind --tool=callgrind, release build), checked by .ci/run.\n\
         # Rewrite with: target/release/examples/instructions check bench/instructions.txt --update\n",
    );
    for w in WORKLOADS {
        text.push_str(&format!("# {}: {}\n{} {}\n", w.name, w.what, w.name, counts[w.name]));
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn check(baseline: &Path, update: bool) -> Result<(), String> {
    let before = if baseline.exists() { read_baseline(baseline)? } else { BTreeMap::new() };
    let mut now = BTreeMap::new();
    let mut moved = Vec::new();
    println!(
        "{:<10} {:>14} {:>14} {:>7} {:>8} {:>12}",
        "workload", "instructions", "baseline", "ratio", "items", "per item"
    );
    for w in WORKLOADS {
        let Counted { instructions: n, items } = count(w)?;
        now.insert(w.name, n);
        let per_item = n / items.max(1);
        match before.get(w.name) {
            Some(&b) => {
                let ratio = n as f64 / b as f64;
                println!("{:<10} {n:>14} {b:>14} {ratio:>7.3} {items:>8} {per_item:>12}", w.name);
                if (ratio - 1.0).abs() > TOLERANCE {
                    moved.push(format!("{} {:+.1}%", w.name, (ratio - 1.0) * 100.0));
                }
            }
            None => {
                println!("{:<10} {n:>14} {:>14} {:>7} {items:>8} {per_item:>12}", w.name, "-", "-");
                moved.push(format!("{} has no baseline", w.name));
            }
        }
    }
    if update {
        return write_baseline(baseline, &now);
    }
    if moved.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "moved past ±{:.0}%: {}. A rise is a regression to find; a gain is recorded with --update.",
            TOLERANCE * 100.0,
            moved.join(", ")
        ))
    }
}
