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

async fn knowledge_of(dir: &std::path::Path) -> Vec<kefu_core::knowledge::KnowledgeEntry> {
    let backend =
        kefu_store::Backend::Sqlite { path: kefu_store::sqlite_path(dir), durability: kefu_store::Durability::Normal };
    let store = kefu_store::open(&backend).await.expect("open");
    let shop = store.shop_by_slug(&ShopSlug::parse("youpin-home").expect("slug")).await.expect("read").expect("shop");
    store.knowledge(shop.id, 1000).await.expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_knowledge_sheet_imports_whole_and_updates_by_question() {
    let dir = std::env::temp_dir().join(format!("kefu-import-kb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(kefu(&dir, &["demo", "--seed-only"]).status.success());
    let before = knowledge_of(&dir).await.len();

    // Row 3 has no answer: nothing is written, and the line is named.
    let bad = dir.join("kb.csv");
    std::fs::write(
        &bad,
        "question,alternates,answer,category,enabled\n\
         以旧换新怎么参加,旧冰箱能抵钱吗|有以旧换新吗,下单时勾选以旧换新即可,家用电器/冰箱,是\n\
         发票多久开好,,,,\n",
    )
    .expect("write");
    let out = kefu(&dir, &["import", "knowledge", bad.to_str().expect("utf8"), "--shop", "youpin-home"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3") && stderr.contains("answer"), "{stderr}");
    assert_eq!(knowledge_of(&dir).await.len(), before, "nothing half-imported");

    // Fixed, plus a row for a question the demo already has: that entry is updated, not doubled.
    std::fs::write(
        &bad,
        "question,alternates,answer,category,enabled\n\
         以旧换新怎么参加,旧冰箱能抵钱吗|有以旧换新吗,下单时勾选以旧换新即可,家用电器/冰箱,是\n\
         发票多久开好,,确认收货后24小时内开出电子发票,,\n\
         你们发什么快递,,默认京东物流,,false\n",
    )
    .expect("write");
    let out = kefu(&dir, &["import", "knowledge", bad.to_str().expect("utf8"), "--shop", "youpin-home"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = knowledge_of(&dir).await;
    assert_eq!(after.len(), before + 2);
    let trade_in = after.iter().find(|e| e.question == "以旧换新怎么参加").expect("imported");
    assert_eq!(trade_in.alternates, ["旧冰箱能抵钱吗", "有以旧换新吗"]);
    let courier = after.iter().find(|e| e.question == "你们发什么快递").expect("demo entry");
    assert_eq!((courier.answer.as_str(), courier.enabled), ("默认京东物流", false));
    let _ = std::fs::remove_dir_all(&dir);
}
