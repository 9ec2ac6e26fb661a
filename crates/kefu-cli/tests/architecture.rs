//! ARCHITECTURE.md must describe every crate (it is checked, not hoped).

#[test]
fn every_crate_is_in_the_architecture_document() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    for entry in std::fs::read_dir(root.join("crates")).expect("crates dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(doc.contains(&format!("### `crates/{name}`")), "ARCHITECTURE.md lacks a section for crates/{name}");
    }
}
