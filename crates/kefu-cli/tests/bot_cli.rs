//! `kefu bot test`: the shipped stories pass; a story the bot does not live
//! up to fails the run and says which turn and why.

use std::process::Command;

const KEFU: &str = env!("CARGO_BIN_EXE_kefu");

fn kefu(args: &[&str]) -> std::process::Output {
    Command::new(KEFU).args(args).env("KEFU_LOG", "error").output().expect("run kefu")
}

#[test]
fn the_shipped_stories_pass() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../kefu-bot/stories");
    let out = kefu(&["bot", "test", dir]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(" failed") && stdout.contains(", 0 failed"), "{stdout}");
}

#[test]
fn a_failing_story_fails_the_run_with_the_turn() {
    let dir = std::env::temp_dir().join(format!("kefu-bot-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let story = r#"
world:
  now: 2026-11-22 12:00
  orders:
    - no: JD2026111800002
      status: shipped
      items: [{ sku: PH-1, name: 手机, price: 4999 }]
stories:
  - name: 已发货的订单被错误地期望可以取消
    turns:
      - shopper: 取消订单JD2026111800002
        actions: [order_cancelled JD2026111800002]
"#;
    std::fs::write(dir.join("wrong.yaml"), story).expect("write");
    let out = kefu(&["bot", "test", dir.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("FAIL") && stdout.contains("turn 1") && stdout.contains("refused:already_shipped"),
        "{stdout}"
    );

    std::fs::write(
        dir.join("wrong.yaml"),
        "world: {now: 2026-11-22 12:00}\nstories: [{name: x, turns: [{shoper: hi}]}]\n",
    )
    .expect("write");
    let out = kefu(&["bot", "test", dir.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("wrong.yaml") && stderr.contains("shoper"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
