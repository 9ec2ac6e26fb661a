//! The YAML dialogue stories under `stories/` (also run by `kefu bot test`).

use std::path::Path;

use kefu_bot::stories::{StoryFile, files_in};

#[test]
fn every_story_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stories");
    let files = files_in(&dir).expect("stories dir");
    assert!(files.len() >= 5, "{files:?}");
    let mut failures = Vec::new();
    let mut played = 0;
    for path in files {
        let file = StoryFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        for result in file.run(None) {
            played += 1;
            if !result.passed() {
                failures.push(format!("{} › {}\n{}", result.file, result.story, result.failures.join("\n")));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {played} stories failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn a_bad_story_file_names_its_mistake() {
    let cases = [
        ("world: {now: '2026-11-22 12:00'}\nstories: []\n", "no stories"),
        ("world: {now: 'yesterday'}\nstories: [{name: x, turns: [{shopper: hi}]}]\n", "now"),
        ("world: {now: '2026-11-22 12:00', colour: red}\nstories: []\n", "colour"),
        (
            "world:\n  now: '2026-11-22 12:00'\n  orders: [{no: JD2026112000001, status: flying, items: [{sku: a, name: b, price: 1}]}]\nstories: [{name: x, turns: [{shopper: hi}]}]\n",
            "status",
        ),
        ("world: {now: '2026-11-22 12:00'}\nstories: [{name: x, turns: [{shopper: hi, handof: angry}]}]\n", "handof"),
        (
            "world: {now: '2026-11-22 12:00'}\nstories: [{name: x, rules: 'nonsense = 1', turns: [{shopper: hi}]}]\n",
            "nonsense",
        ),
    ];
    for (text, needle) in cases {
        let err = StoryFile::parse(text, Path::new("t.yaml")).expect_err(text).to_string();
        assert!(err.contains(needle) && err.starts_with("t.yaml"), "{needle}: {err}");
    }
}
