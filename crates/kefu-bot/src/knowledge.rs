//! The shop's knowledge base as the bot reads it: enabled entries and an
//! index of their questions. The bot answers from it only when the best
//! match clears the shop's `min_similarity` and no other entry is about as close.

use kefu_core::id::KnowledgeId;
use kefu_core::knowledge::KnowledgeEntry;
use kefu_nlu::faq::FaqIndex;

/// Two entries closer than this are a tie: the bot does not guess between them.
const TIE: f32 = 0.03;

#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    entries: Vec<KnowledgeEntry>,
    index: FaqIndex,
}

/// One entry and how closely the message matched one of its questions (0–1).
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    pub entry: &'a KnowledgeEntry,
    pub score: f32,
}

impl Knowledge {
    pub fn new(entries: impl IntoIterator<Item = KnowledgeEntry>) -> Knowledge {
        let entries: Vec<KnowledgeEntry> = entries.into_iter().filter(|e| e.enabled).collect();
        let index = FaqIndex::build(entries.iter().enumerate().flat_map(|(i, e)| e.questions().map(move |q| (i, q))));
        Knowledge { entries, index }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, id: KnowledgeId) -> Option<&KnowledgeEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The closest entries, best first.
    pub fn search(&self, text: &str, k: usize) -> Vec<Found<'_>> {
        self.index.top(text, k).into_iter().map(|m| Found { entry: &self.entries[m.entry], score: m.score }).collect()
    }

    /// The entry to answer from, if one is clearly asked.
    pub fn answer(&self, text: &str, min_similarity: f32) -> Option<Found<'_>> {
        let top = self.search(text, 2);
        let best = *top.first()?;
        let tied = top.get(1).is_some_and(|second| best.score - second.score < TIE);
        (best.score >= min_similarity && !tied).then_some(best)
    }
}
