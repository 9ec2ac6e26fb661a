//! `kefu bot …`: play dialogue stories against the bot.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;
use kefu_bot::stories::{StoryFile, files_in};

#[derive(Subcommand)]
pub enum BotCommand {
    /// Play the YAML dialogue stories in DIR (or one file); exits non-zero if any fails.
    Test {
        dir: PathBuf,
        /// Only stories whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// One JSON object per story instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: BotCommand) -> anyhow::Result<()> {
    let BotCommand::Test { dir, filter, json } = command;
    let files = files_in(&dir)?;
    if files.is_empty() {
        bail!("no .yaml stories under {}", dir.display());
    }
    // Load everything first: a broken file fails the run before any story plays.
    let loaded = files.iter().map(|p| StoryFile::load(p)).collect::<Result<Vec<_>, _>>()?;
    let (mut played, mut failed) = (0usize, 0usize);
    for file in &loaded {
        for result in file.run(filter.as_deref()) {
            played += 1;
            if !result.passed() {
                failed += 1;
            }
            if json {
                let line = serde_json::json!({
                    "file": result.file,
                    "story": result.story,
                    "turns": result.turns,
                    "passed": result.passed(),
                    "failures": result.failures,
                });
                println!("{line}");
            } else {
                let mark = if result.passed() { "ok  " } else { "FAIL" };
                println!("{mark} {} › {} ({} turns)", short(&result.file), result.story, result.turns);
                for f in &result.failures {
                    println!("     {}", f.replace('\n', "\n     "));
                }
            }
        }
    }
    if !json {
        println!("\n{played} stories in {} files: {} passed, {failed} failed", loaded.len(), played - failed);
    }
    if played == 0 {
        bail!("no story matched");
    }
    if failed > 0 {
        bail!("{failed} of {played} stories failed");
    }
    Ok(())
}

fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
