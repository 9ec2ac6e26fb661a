//! `kefu bench chat`, `store`, `history` and `kb` are benchmarks, not tests; this only keeps them working:
//! a tiny run completes, loses nothing and prints the documented keys.
//! No figure it prints is asserted.

use std::process::Command;

#[test]
fn a_tiny_bench_run_prints_every_documented_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "chat", "--connections", "20", "--active", "10", "--rate", "40"])
        .args(["--duration", "1", "--saturate", "0.5", "--storm", "1.5", "--per-agent", "4", "--json"])
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in
        ["msgs_per_sec", "relay_p99_ms", "ack_p99_ms", "rss_per_idle_socket_kib", "bare_relay_msgs_per_sec", "lost"]
    {
        assert!(report[key].is_number(), "{key} missing: {report}");
    }
    assert_eq!(report["lost"], 0, "every message reached its agent: {report}");
    assert_eq!(report["storm_reconnected"], 10, "every idle shopper came back: {report}");
    assert_eq!(report["storm_lost"], 0, "{report}");
    // Each idle shopper resumed their conversation and got the two messages they said they missed.
    assert_eq!(report["storm_resumed_messages"], 20, "{report}");
    assert!(report["sent"].as_u64() > Some(0), "something was sent: {report}");
}

#[test]
fn a_tiny_bot_run_answers_every_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "chat", "--connections", "10", "--active", "5", "--rate", "10"])
        .args(["--duration", "1", "--saturate", "0", "--per-agent", "4", "--bot", "--json"])
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["bot"], true);
    assert_eq!(report["lost"], 0, "the bot answered every message: {report}");
}

/// With `KEFU_TEST_DATABASE_URL` (CI's PostgreSQL step): the server under test keeps its data in PostgreSQL.
#[test]
fn a_tiny_bot_run_on_postgres_answers_every_message() {
    let Ok(url) = std::env::var("KEFU_TEST_DATABASE_URL") else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "chat", "--connections", "10", "--active", "5", "--rate", "10"])
        .args(["--duration", "1", "--saturate", "0", "--per-agent", "4", "--bot", "--database-url", &url, "--json"])
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!((&report["backend"], &report["bot"]), (&serde_json::json!("postgres"), &serde_json::json!(true)));
    assert_eq!(report["lost"], 0, "the bot answered every message: {report}");
}

#[test]
fn a_tiny_store_run_compares_with_the_raw_loop() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "store", "--messages", "300", "--conversations", "10", "--in-flight", "4", "--batch", "50"])
        .args(["--durability", "normal", "--json"])
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench store");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in ["ours_msgs_per_sec", "raw_msgs_per_sec", "ratio_vs_raw", "append_p99_ms"] {
        assert!(report[key].is_number(), "{key} missing: {report}");
    }
}

#[test]
fn a_tiny_knowledge_run_reports_build_and_search() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "kb", "--entries", "200", "--queries", "50", "--json"])
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench kb");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in ["build_entries_per_sec", "search_p99_ms", "search_top5_per_sec"] {
        assert!(report[key].is_number(), "{key} missing: {report}");
    }
}

#[test]
fn a_tiny_widget_run_compares_each_read_with_the_direct_way() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "widget", "--queued", "30", "--agents", "6", "--asks", "100", "--in-flight", "4", "--json"])
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench widget");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "online_asks_per_sec",
        "online_direct_asks_per_sec",
        "online_ratio_vs_direct",
        "queue_asks_per_sec",
        "queue_direct_asks_per_sec",
        "queue_p99_ms",
        "queue_ratio_vs_direct",
    ] {
        assert!(report[key].is_number(), "{key} missing: {report}");
    }
}

#[test]
fn a_tiny_outbox_run_times_claims_with_and_without_a_backlog() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "outbox", "--backlog", "200", "--shops", "3", "--claims", "20", "--json"])
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench outbox");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in ["quiet_claims_per_sec", "backlog_claims_per_sec", "backlog_ratio_vs_raw", "backlog_p99_ms"] {
        assert!(report[key].is_number(), "{key} missing: {report}");
    }
    // Three other shops with two due each; the stuck shop at its share takes none.
    assert_eq!(report["backlog_taken_per_claim"], 6.0, "{report}");
}

#[test]
fn a_tiny_history_run_times_every_read_path() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["bench", "history", "--conversations", "400", "--messages-per-conversation", "3", "--queries", "5"])
        .arg("--json")
        .env("KEFU_LOG", "error")
        .output()
        .expect("run kefu bench history");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["messages"], 1200);
    for key in ["queue_list", "history_tab", "customer_history", "transcript_page", "queue_search"] {
        assert!(report[key]["p99_ms"].is_number(), "{key} missing: {report}");
    }
}
