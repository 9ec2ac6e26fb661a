//! kefu-nlu: what kefu understands of text. Pure: no IO, no async, no
//! knowledge of the store or the wire.
//!
//! The pipeline is [`normalize`] → [`Tokenizer::tokens`] → [`features`] →
//! [`Classifier`]. Every component that reads shopper text (intents,
//! emotion, QA rules, search) goes through the same normalisation and the
//! same tokeniser, so a word means the same thing everywhere.

pub mod builtin;
pub mod classifier;
pub mod cues;
pub mod entities;
pub mod faq;
pub mod features;
pub mod metrics;
mod normalize;
pub mod pinyin;
pub mod tokenize;

pub use classifier::{Classifier, Example, Learner, Prediction, Prepared, TrainConfig};
pub use normalize::normalize;
pub use tokenize::{Token, TokenKind, Tokenizer};

/// The label that marks out-of-scope examples in training and test data.
pub const OUT_OF_SCOPE: &str = "oos";
