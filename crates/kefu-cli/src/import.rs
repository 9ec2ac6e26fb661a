//! `kefu import KIND FILE --shop SLUG`: JSONL or CSV, validated whole, then
//! written in one transaction, with a progress bar and line-numbered errors.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kefu_core::shop::ShopSlug;
use kefu_core::store::Store;
use kefu_server::records::{self, ImportError, Kind};
use serde_json::Value;

/// Reads JSONL: one object per line; blank lines are skipped.
pub fn read_jsonl(path: &Path, bar: &ProgressBar) -> anyhow::Result<(Vec<(usize, Value)>, Vec<String>)> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("line {}: not UTF-8 text", i + 1))?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(v) if v.is_object() => rows.push((i + 1, v)),
            Ok(_) => errors.push(format!("line {}: expected a JSON object", i + 1)),
            Err(e) => errors.push(format!("line {}: malformed JSON: {e}", i + 1)),
        }
    }
    Ok((rows, errors))
}

/// Reads CSV with a header row; empty cells are left out, numeric cells of
/// numeric fields become numbers. Line numbers count the header as line 1.
pub fn read_csv(path: &Path, bar: &ProgressBar) -> anyhow::Result<(Vec<(usize, Value)>, Vec<String>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let headers: Vec<String> =
        reader.headers().context("reading the header row")?.iter().map(|h| h.trim().to_owned()).collect();
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        match record {
            Ok(r) => {
                bar.inc(r.as_slice().len() as u64 + r.len() as u64);
                let mut obj = serde_json::Map::new();
                for (h, cell) in headers.iter().zip(r.iter()) {
                    if cell.is_empty() {
                        continue;
                    }
                    let numeric = h.ends_with("_fen") || h == "quantity" || h == "complaint_count";
                    let value = match cell.parse::<i64>() {
                        Ok(n) if numeric => Value::from(n),
                        _ => Value::String(cell.to_owned()),
                    };
                    obj.insert(h.clone(), value);
                }
                rows.push((line, Value::Object(obj)));
            }
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    Ok((rows, errors))
}

pub async fn run(
    store: &Arc<dyn Store>,
    kind: &str,
    file: &Path,
    shop: &str,
    format: Option<&str>,
) -> anyhow::Result<()> {
    let Some(kind) = Kind::parse(kind) else {
        bail!("KIND must be customers, products, orders, shipments or knowledge")
    };
    let shop = store.shop_by_slug(&ShopSlug::parse(shop)?).await?.with_context(|| format!("no shop {shop:?}"))?;
    let format = format.map(str::to_owned).unwrap_or_else(|| {
        if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) { "csv".into() } else { "jsonl".into() }
    });
    let size = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?.len();
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{msg:10} [{bar:40}] {bytes}/{total_bytes} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("reading");
    let (rows, parse_errors) = match format.as_str() {
        "csv" => read_csv(file, &bar)?,
        "jsonl" | "json" => read_jsonl(file, &bar)?,
        other => bail!("unknown format {other:?}: use jsonl or csv"),
    };
    bar.set_message("validating");
    let ctx = crate::app::context(store.clone(), kefu_core::routing::Routing::PULL, false);
    let result = if parse_errors.is_empty() { records::apply(&ctx, shop.id, kind, rows).await } else { Ok(0) };
    bar.finish_and_clear();
    let mut problems: Vec<String> = parse_errors;
    match result {
        Ok(n) if problems.is_empty() => {
            println!("imported {n} row(s) into {}", shop.slug);
            return Ok(());
        }
        Ok(_) => {}
        Err(ImportError::Rows(rows)) => problems.extend(rows.iter().map(ToString::to_string)),
        Err(ImportError::Store(e)) => return Err(e.into()),
    }
    for p in problems.iter().take(50) {
        eprintln!("{p}");
    }
    if problems.len() > 50 {
        eprintln!("… and {} more", problems.len() - 50);
    }
    bail!("{} invalid row(s) in {}; nothing was imported", problems.len(), file.display())
}
