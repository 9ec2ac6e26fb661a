//! Dialogue stories: YAML files of shopper turns and what the bot must do
//! on each (intent, outcome, words in the reply, actions, hand-off), run
//! against [`flow::respond_to`] by `kefu bot test DIR` and in CI.
//!
//! A file holds one `world` (the shopper, their orders, the shop's rules,
//! the knowledge base) and the `stories` played in it; a story may replace
//! the shopper, the orders or the rules. Actions change the world between
//! turns as the store would (a cancelled order is cancelled), so a story can
//! go on after one. What a turn does not expect is checked too: no actions
//! and no hand-off unless the turn says so. The format is in `docs/stories.md`.

mod expect;
mod world;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::flow::{self, BotState};
pub use expect::TurnSpec;
pub use world::{CustomerSpec, OrderSpec, WorldSpec};

#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoryFile {
    pub world: WorldSpec,
    pub stories: Vec<StorySpec>,
    /// Where the file came from; rules files are found relative to it.
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorySpec {
    pub name: String,
    /// Replaces the world's shopper.
    #[serde(default)]
    pub customer: Option<CustomerSpec>,
    /// Replaces the world's orders.
    #[serde(default)]
    pub orders: Option<Vec<OrderSpec>>,
    /// Replaces the world's rules: the text of a rules file.
    #[serde(default)]
    pub rules: Option<String>,
    /// Replaces the world's `people_online`.
    #[serde(default)]
    pub people_online: Option<bool>,
    pub turns: Vec<TurnSpec>,
}

/// What happened to one story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryResult {
    pub file: String,
    pub story: String,
    pub turns: usize,
    /// Empty when it passed.
    pub failures: Vec<String>,
}

impl StoryResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl StoryFile {
    pub fn parse(text: &str, path: &Path) -> Result<StoryFile, StoryError> {
        let invalid = |message: String| StoryError::Invalid { file: path.display().to_string(), message };
        let mut file: StoryFile = serde_yaml_ng::from_str(text).map_err(|e| invalid(e.to_string()))?;
        file.path = path.to_owned();
        if file.stories.is_empty() {
            return Err(invalid("no stories".into()));
        }
        // Build every world once now so a mistake is reported before anything runs.
        for story in &file.stories {
            if story.turns.is_empty() {
                return Err(invalid(format!("story {:?}: no turns", story.name)));
            }
            let given = |t: &TurnSpec| {
                [t.shopper.is_some(), t.card.is_some(), t.product.is_some(), t.image.is_some()]
                    .iter()
                    .filter(|g| **g)
                    .count()
            };
            if let Some(i) = story.turns.iter().position(|t| given(t) != 1) {
                return Err(invalid(format!(
                    "story {:?}, turn {}: give one of `shopper`, `card`, `product` and `image`",
                    story.name,
                    i + 1
                )));
            }
            world::World::build(&file, story).map_err(|m| invalid(format!("story {:?}: {m}", story.name)))?;
        }
        Ok(file)
    }

    pub fn load(path: &Path) -> Result<StoryFile, StoryError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| StoryError::Io { file: path.display().to_string(), source })?;
        StoryFile::parse(&text, path)
    }

    /// Plays every story whose name contains `filter`.
    pub fn run(&self, filter: Option<&str>) -> Vec<StoryResult> {
        self.stories
            .iter()
            .filter(|s| filter.is_none_or(|f| s.name.contains(f)))
            .map(|story| self.play(story))
            .collect()
    }

    fn play(&self, story: &StorySpec) -> StoryResult {
        let mut result = StoryResult {
            file: self.path.display().to_string(),
            story: story.name.clone(),
            turns: story.turns.len(),
            failures: Vec::new(),
        };
        let mut world = match world::World::build(self, story) {
            Ok(w) => w,
            Err(message) => {
                result.failures.push(message);
                return result;
            }
        };
        let mut state = BotState::default();
        for (i, spec) in story.turns.iter().enumerate() {
            let input = match (&spec.card, &spec.product, &spec.image, &spec.shopper) {
                (Some(no), ..) => flow::Input::OrderCard(no),
                (None, Some(sku), ..) => flow::Input::ProductCard(sku),
                (None, None, Some(id), _) => flow::Input::Image(id),
                (None, None, None, said) => flow::Input::Text(said.as_deref().unwrap_or_default()),
            };
            let turn = flow::respond_to(&world.facts(), &mut state, input);
            let problems = spec.check(&turn);
            if !problems.is_empty() {
                result.failures.push(format!(
                    "turn {} «{}»: {}\n{}",
                    i + 1,
                    spec.shown(),
                    problems.join("; "),
                    expect::show(&turn)
                ));
                // Later turns depend on this one; their failures would only be noise.
                break;
            }
            world.apply(&turn.actions);
        }
        result
    }
}

/// Every `*.yaml` / `*.yml` file under `dir` (recursively), in name order.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, StoryError> {
    let io = |source| StoryError::Io { file: dir.display().to_string(), source };
    let mut found = Vec::new();
    if dir.is_file() {
        return Ok(vec![dir.to_owned()]);
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            found.extend(files_in(&path)?);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}
