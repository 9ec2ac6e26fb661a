//! `kefu import` on a real database: a file with one bad row writes nothing
//! and names the line; the corrected file imports every row.

use std::process::Command;

use kefu_core::shop::ShopSlug;

const KEFU: &str = env!("CARGO_BIN_EXE_kefu");

fn kefu(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(KEFU).arg("--data-dir").arg(dir).args(args).env("KEFU_LOG", "error").output().expect("run kefu")
}

async fn known(dir: &std::path::Path, ids: &[&str]) -> usize {
    let backend =
        kefu_store::Backend::Sqlite { path: kefu_store::sqlite_path(dir), durability: kefu_store::Durability::Normal };
    let store = kefu_store::open(&backend).await.expect("open");
    let shop = store.shop_by_slug(&ShopSlug::parse("youpin-home").expect("slug")).await.expect("read").expect("shop");
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    store.customer_ids_by_external(shop.id, &ids).await.expect("read").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_row_imports_nothing_and_names_its_line() {
    let dir = std::env::temp_dir().join(format!("kefu-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let seeded = kefu(&dir, &["demo", "--seed-only"]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "id,nickname,tier\nimp-1,张一,vip\nimp-2,王二,gold\nimp-3,李三,plus\n").expect("write");
    let out = kefu(&dir, &["import", "customers", bad.to_str().expect("utf8"), "--shop", "youpin-home"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert_eq!(known(&dir, &["imp-1", "imp-2", "imp-3"]).await, 0, "nothing half-imported");

    let good = dir.join("good.jsonl");
    std::fs::write(
        &good,
        "{\"id\":\"imp-1\",\"nickname\":\"张一\",\"tier\":\"vip\"}\n{\"id\":\"imp-2\",\"nickname\":\"王二\"}\n",
    )
    .expect("write");
    let out = kefu(&dir, &["import", "customers", good.to_str().expect("utf8"), "--shop", "youpin-home"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(known(&dir, &["imp-1", "imp-2", "imp-3"]).await, 2);
    let _ = std::fs::remove_dir_all(&dir);
}
