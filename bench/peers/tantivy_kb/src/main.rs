//! Raw tantivy on the knowledge base `kefu bench kb` measures: the questions
//! and queries it writes with `--dump DIR` (one document per phrasing),
//! Chinese character 1–2-grams (tantivy's NgramTokenizer), top-5 by BM25 (an
//! OR of the query's n-grams).

use std::time::Instant;

use hdrhistogram::Histogram;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{NgramTokenizer, TextAnalyzer, TokenStream};
use tantivy::{Index, TantivyDocument, Term, doc};

/// One JSON string field of a JSONL line (the dump writes no escapes beyond JSON's own).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{name}\":"))? + name.len() + 3;
    let rest = &line[start..];
    if let Some(text) = rest.strip_prefix('"') {
        text.find('"').map(|end| &text[..end])
    } else {
        rest.find([',', '}']).map(|end| &rest[..end])
    }
}

fn read(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (write it with `kefu bench kb --dump DIR`)", path.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn main() -> tantivy::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: tantivy-kb-peer DUMP_DIR"));
    let docs: Vec<(u64, String)> = read(&dir.join("questions.jsonl"))
        .iter()
        .filter_map(|l| Some((field(l, "entry")?.parse().ok()?, field(l, "text")?.to_owned())))
        .collect();
    let queries: Vec<String> =
        read(&dir.join("queries.jsonl")).iter().filter_map(|l| field(l, "text").map(str::to_owned)).collect();
    let n = docs.iter().map(|(e, _)| e + 1).max().unwrap_or(0) as usize;
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default().set_tokenizer("ng12").set_index_option(IndexRecordOption::WithFreqs);
    let text = builder.add_text_field("q", TextOptions::default().set_indexing_options(indexing));
    let id = builder.add_u64_field("id", STORED);
    let index = Index::create_in_ram(builder.build());
    let analyzer = || TextAnalyzer::builder(NgramTokenizer::new(1, 2, false).expect("ngram")).build();
    index.tokenizers().register("ng12", analyzer());

    let started = Instant::now();
    let mut writer = index.writer_with_num_threads(1, 100_000_000)?;
    for (i, q) in &docs {
        writer.add_document(doc!(text => q.as_str(), id => *i))?;
    }
    writer.commit()?;
    let build = started.elapsed().as_secs_f64();
    let searcher = index.reader()?.searcher();

    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).expect("histogram");
    let mut tokenizer = analyzer();
    let mut found = 0usize;
    let started = Instant::now();
    for q in &queries {
        let one = Instant::now();
        let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut stream = tokenizer.token_stream(q);
        while stream.advance() {
            let term = Term::from_field_text(text, &stream.token().text);
            terms.push((Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))));
        }
        let top = searcher.search(&BooleanQuery::new(terms), &TopDocs::with_limit(5))?;
        for (_, addr) in &top {
            let d: TantivyDocument = searcher.doc(*addr)?;
            found += d.get_first(id).and_then(|v| v.as_u64()).is_some() as usize;
        }
        hist.record((one.elapsed().as_nanos() as u64).max(1)).expect("record");
    }
    let qps = queries.len() as f64 / started.elapsed().as_secs_f64();
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1e6;
    println!(
        "{{\"peer\":\"tantivy\",\"entries\":{n},\"questions\":{},\"build_seconds\":{build:.3},\"build_entries_per_sec\":{:.0},\"search_top5_per_sec\":{qps:.0},\"search_p50_ms\":{:.3},\"search_p99_ms\":{:.3},\"found\":{found}}}",
        docs.len(),
        n as f64 / build,
        ms(0.5),
        ms(0.99)
    );
    Ok(())
}
