//! What a story expects of one turn, and the check.

use serde::Deserialize;

use crate::flow::Turn;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnSpec {
    /// What the shopper writes (may be empty).
    #[serde(default)]
    pub shopper: Option<String>,
    /// Instead of words: the order number of an order card the shopper sends.
    #[serde(default)]
    pub card: Option<String>,
    /// Instead of words: the SKU of a product card (咨询此商品).
    #[serde(default)]
    pub product: Option<String>,
    /// Instead of words: an image (any attachment id; the bot never sees the picture).
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub intent: Option<String>,
    /// The audit outcome, e.g. `refused:already_shipped`, `asked:pick_order`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Each must appear in the bot's replies.
    #[serde(default)]
    pub says: OneOrMany,
    /// None may appear in the bot's replies.
    #[serde(default)]
    pub never_says: OneOrMany,
    /// The actions, in order; each entry's words must all be in the action's
    /// description (`after_sale_requested sku=DR-1 kind=return`). None when absent.
    #[serde(default)]
    pub actions: Vec<String>,
    /// The hand-off reason (`requested`, `angry`, …); no hand-off when absent.
    #[serde(default)]
    pub handoff: Option<String>,
    #[serde(default)]
    pub priority: Option<i32>,
    /// Each must appear in the hand-off summary.
    #[serde(default)]
    pub summary_says: OneOrMany,
    /// calm, dissatisfied or angry.
    #[serde(default)]
    pub emotion: Option<String>,
}

impl TurnSpec {
    /// What the shopper sent, as a failure report shows it.
    pub fn shown(&self) -> String {
        match (&self.card, &self.product, &self.image, &self.shopper) {
            (Some(no), ..) => format!("[订单卡片 {no}]"),
            (None, Some(sku), ..) => format!("[商品卡片 {sku}]"),
            (None, None, Some(_), _) => "[图片]".into(),
            (None, None, None, said) => said.clone().unwrap_or_default(),
        }
    }
}

/// A string or a list of strings.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "OneOrManyRepr")]
pub struct OneOrMany(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrManyRepr {
    One(String),
    Many(Vec<String>),
}

impl From<OneOrManyRepr> for OneOrMany {
    fn from(r: OneOrManyRepr) -> Self {
        match r {
            OneOrManyRepr::One(s) => OneOrMany(vec![s]),
            OneOrManyRepr::Many(v) => OneOrMany(v),
        }
    }
}

impl TurnSpec {
    /// What differs from the expectation; empty when the turn is as written.
    pub fn check(&self, turn: &Turn) -> Vec<String> {
        let mut problems = Vec::new();
        let a = &turn.audit;
        if let Some(intent) = &self.intent
            && *intent != a.intent
        {
            problems.push(format!("intent {} (confidence {:.2}), expected {intent}", a.intent, a.confidence));
        }
        if let Some(outcome) = &self.outcome
            && *outcome != a.outcome
        {
            problems.push(format!("outcome {}, expected {outcome}", a.outcome));
        }
        if let Some(emotion) = &self.emotion
            && emotion != a.emotion
        {
            problems.push(format!("emotion {}, expected {emotion}", a.emotion));
        }
        let replies = turn.replies.join("\n");
        for s in &self.says.0 {
            if !replies.contains(s.as_str()) {
                problems.push(format!("the reply does not say {s:?}"));
            }
        }
        for s in &self.never_says.0 {
            if replies.contains(s.as_str()) {
                problems.push(format!("the reply says {s:?}"));
            }
        }
        let described: Vec<String> = turn.actions.iter().map(|x| x.describe()).collect();
        let matches = self.actions.len() == described.len()
            && self.actions.iter().zip(&described).all(|(want, got)| {
                let words: Vec<&str> = got.split_whitespace().collect();
                want.split_whitespace().all(|w| words.contains(&w))
            });
        if !matches {
            problems.push(format!("actions {described:?}, expected {:?}", self.actions));
        }
        match (&self.handoff, &turn.handoff) {
            (None, None) => {}
            (Some(want), Some(h)) if want == h.reason.code() => {
                if let Some(p) = self.priority
                    && p != h.priority
                {
                    problems.push(format!("hand-off priority {}, expected {p}", h.priority));
                }
                for s in &self.summary_says.0 {
                    if !h.summary.contains(s.as_str()) {
                        problems.push(format!("the hand-off summary does not say {s:?}"));
                    }
                }
            }
            (want, got) => problems.push(format!(
                "hand-off {}, expected {}",
                got.as_ref().map_or("none", |h| h.reason.code()),
                want.as_deref().unwrap_or("none")
            )),
        }
        problems
    }
}

/// The turn as a person reads it, under a failure.
pub(super) fn show(turn: &Turn) -> String {
    let a = &turn.audit;
    let mut out =
        format!("    got: intent={} ({:.2}) emotion={} outcome={}\n", a.intent, a.confidence, a.emotion, a.outcome);
    for r in &turn.replies {
        out.push_str(&format!("    bot: {}\n", r.replace('\n', "\n         ")));
    }
    for x in &turn.actions {
        out.push_str(&format!("    action: {}\n", x.describe()));
    }
    if let Some(h) = &turn.handoff {
        out.push_str(&format!("    handoff: {} priority {}: {}\n", h.reason.code(), h.priority, h.summary));
    }
    out
}
