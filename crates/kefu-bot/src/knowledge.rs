//! The shop's knowledge base as the bot reads it: enabled entries and an
//! index of their questions. The bot answers from it only when the best
//! match clears the shop's `min_similarity` and no other entry is about as close.

use kefu_core::catalog::CategoryPath;
use kefu_core::id::KnowledgeId;
use kefu_core::knowledge::KnowledgeEntry;
use kefu_nlu::faq::FaqIndex;

/// Two entries closer than this are a tie: the bot does not guess between them.
const TIE: f32 = 0.03;
/// Added to an entry about a category the shopper has bought from (冰箱
/// installation for a fridge buyer), so it wins over the same question for
/// another category.
const CATEGORY_BONUS: f32 = 0.05;
/// Entries compared for the answer: the best few, re-ranked by category.
const CANDIDATES: usize = 8;

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

    /// The entry to answer from, if one is clearly asked; `bought` are the
    /// categories of the shopper's orders.
    pub fn answer(&self, text: &str, min_similarity: f32, bought: &[&CategoryPath]) -> Option<Found<'_>> {
        // Ranked with the category bonus; the threshold applies to the similarity alone.
        let mut ranked: Vec<(f32, Found<'_>)> = self
            .search(text, CANDIDATES)
            .into_iter()
            .map(|f| {
                let about = f.entry.category.as_ref();
                let ours = about.is_some_and(|c| bought.iter().any(|b| b.levels().starts_with(c.levels())));
                (f.score + if ours { CATEGORY_BONUS } else { 0.0 }, f)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (rank, best) = *ranked.first()?;
        let tied = ranked.get(1).is_some_and(|(second, _)| rank - second < TIE);
        (best.score >= min_similarity && !tied).then_some(best)
    }
}
