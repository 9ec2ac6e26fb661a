//! `kefu nlu train | eval | predict` end to end on a small hand-written set,
//! and a malformed training file refused with its line number.

use std::io::Write;
use std::process::{Command, Stdio};

const KEFU: &str = env!("CARGO_BIN_EXE_kefu");

const TRAIN: &[(&str, &str)] = &[
    ("我的快递到哪了", "logistics"),
    ("物流怎么不动了", "logistics"),
    ("包裹在哪里", "logistics"),
    ("查一下物流", "logistics"),
    ("快递到哪了亲", "logistics"),
    ("物流信息一直没更新", "logistics"),
    ("我要退货", "return"),
    ("怎么退货", "return"),
    ("这个能退吗", "return"),
    ("申请退货退款", "return"),
    ("不想要了退货", "return"),
    ("退货流程是什么", "return"),
    ("今天天气怎么样", "oos"),
    ("讲个笑话", "oos"),
    ("你会唱歌吗", "oos"),
    ("明天下雨吗", "oos"),
    ("推荐个电影", "oos"),
    ("你几岁了", "oos"),
];

fn jsonl(rows: &[(&str, &str)]) -> String {
    rows.iter().map(|(t, l)| format!("{}\n", serde_json::json!({"text": t, "label": l}))).collect()
}

fn kefu(args: &[&str]) -> std::process::Output {
    Command::new(KEFU).args(args).env("KEFU_LOG", "error").output().expect("run kefu")
}

#[test]
fn train_eval_predict_round_trip() {
    let dir = std::env::temp_dir().join(format!("kefu-nlu-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let train = dir.join("train.jsonl");
    std::fs::write(&train, jsonl(TRAIN)).expect("write");
    let model = dir.join("m.model");
    let (train_s, model_s) = (train.to_str().expect("utf8"), model.to_str().expect("utf8"));

    let out = kefu(&["nlu", "train", "--data", train_s, "--out", model_s, "--min-df", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = kefu(&["nlu", "eval", "--model", model_s, "--data", train_s, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["n"], 18);
    for key in ["accuracy", "macro_f1", "oos_recall"] {
        assert!(report[key].is_number(), "{key}: {report}");
    }

    let mut child = Command::new(KEFU)
        .args(["nlu", "predict", "--model", model_s])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("predict");
    child.stdin.take().expect("stdin").write_all("快递到哪了\n我想退货\n".as_bytes()).expect("write");
    let out = child.wait_with_output().expect("output");
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["label"], "logistics");
    assert_eq!(lines[1]["label"], "return");
    assert_eq!(lines[0]["top"].as_array().map(Vec::len), Some(3));
    assert!(lines[0]["confidence"].as_f64().is_some_and(|c| (0.0..=1.0).contains(&c)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_malformed_row_names_its_line_and_writes_no_model() {
    let dir = std::env::temp_dir().join(format!("kefu-nlu-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let train = dir.join("train.jsonl");
    std::fs::write(&train, format!("{}{{\"text\": \"缺标签\"}}\n", jsonl(&TRAIN[..3]))).expect("write");
    let model = dir.join("m.model");
    let out = kefu(&["nlu", "train", "--data", train.to_str().expect("utf8"), "--out", model.to_str().expect("utf8")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("train.jsonl:4"), "{stderr}");
    assert!(!model.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_threshold_for_the_emotion_levels_is_refused_not_ignored() {
    let out =
        kefu(&["nlu", "eval", "--model", "builtin:emotion", "--data", "builtin:emotion-eval", "--threshold", "0.3"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--threshold does not apply to builtin:emotion"), "{err}");
    let out = kefu(&["nlu", "eval", "--model", "builtin:emotion", "--data", "builtin:emotion-eval", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
