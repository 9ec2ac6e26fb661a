//! The bot beside a shopper who waits for people: it answers what only
//! needs their orders or the knowledge base (到哪了 on a long 双11 queue) and
//! leaves everything else to the person who takes them.

use kefu_bot::flow::Input;
use kefu_core::conversation::Conversation;
use kefu_core::customer::Customer;
use kefu_core::desk::{self, Ctx, CustomerContent};
use kefu_core::id::ShopId;
use kefu_core::store::StoreError;

use super::{Bot, Target, Thought};

impl Bot {
    /// A shopper already waiting for people asks again: the bot answers if
    /// the turn only answers from their orders or the knowledge base (到哪了
    /// on a long 双11 queue) and the shop's rules let it
    /// (`[handoff] answer_while_queued`); the shopper stays in the queue,
    /// still waiting. Anything else is left to the person who takes them.
    /// Errors are logged, never sent: the message is stored either way.
    pub async fn answer_while_queued(
        &self,
        ctx: &Ctx,
        customer: &Customer,
        conversation: &Conversation,
        said: &CustomerContent,
    ) {
        if !conversation.waits_for_people() || !self.answers_while_queued(ctx, conversation.shop_id).await {
            return;
        }
        let _turn = self.turn_of(conversation.id).await;
        let at = Target { conversation: conversation.id, shop: conversation.shop_id, while_queued: true };
        let input = Input::of(said.kind(), said.as_str());
        let answered = match self.think(ctx, customer, at, input).await {
            Ok(thought) => self.write_while_queued(ctx, at, &thought).await,
            Err(e) => Err(e),
        };
        if let Err(e) = answered {
            tracing::warn!(error = %e, conversation = %conversation.id, "bot answer while queued failed");
        }
    }

    /// Whether the shop's rules let the bot answer shoppers who wait
    /// (`[handoff] answer_while_queued`); not when they cannot be read.
    pub(super) async fn answers_while_queued(&self, ctx: &Ctx, shop: ShopId) -> bool {
        self.rules_only(ctx, shop).await.is_ok_and(|rules| rules.answer_while_queued)
    }

    /// Writes and publishes a turn decided for a waiting shopper if it only
    /// answers (the caller checked the shop's rules).
    pub(super) async fn write_while_queued(&self, ctx: &Ctx, at: Target, thought: &Thought) -> Result<(), StoreError> {
        if !thought.turn.only_answers() {
            return Ok(());
        }
        let at = Target { while_queued: true, ..at };
        match ctx.store.apply_bot_turn(self.to_write(ctx, at, thought, &thought.turn)).await {
            Ok(written) => {
                for appended in &written.appended {
                    desk::publish_appended(ctx, appended);
                }
                Ok(())
            }
            // Someone took the shopper meanwhile, or another turn went first: the person answers.
            Err(StoreError::Conflict("not_bot" | "stale_turn" | "duplicate")) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
