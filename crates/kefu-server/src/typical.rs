//! What the chat's header may promise about reply times (客服在线 · 通常
//! 30 秒内回复): what the shop's agents kept today, from their counted
//! answers (`kefu_core::kpi::typical_reply`). Every widget asks when it
//! opens, so each node reads a shop's day at most once per [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kefu_core::desk::Ctx;
use kefu_core::id::ShopId;
use kefu_core::kpi::{Period, ReplyWindow, ResponseCounts, Scope, TypicalReply, typical_reply};
use kefu_core::store::StoreResult;

/// How stale a shop's promise may be (`ServerConfig::typical_ttl`).
pub const TTL: Duration = Duration::from_secs(60);

pub struct TypicalReplies {
    ttl: Duration,
    read: Mutex<HashMap<ShopId, (Instant, Option<TypicalReply>)>>,
}

impl TypicalReplies {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, read: Mutex::default() }
    }

    pub async fn of(&self, ctx: &Ctx, shop: ShopId) -> StoreResult<Option<TypicalReply>> {
        if let Some((at, promise)) = self.read.lock().unwrap_or_else(|e| e.into_inner()).get(&shop)
            && at.elapsed() < self.ttl
        {
            return Ok(*promise);
        }
        let now = ctx.clock.now();
        let team = |window| async move {
            let days = ctx.store.response_counts(Scope::Shop(shop), Period::Today(now), window).await?;
            StoreResult::Ok(days.into_iter().fold(ResponseCounts::default(), |sum, (_, day)| sum.plus(day)))
        };
        let promise = typical_reply(&team(ReplyWindow::ThreeMinutes).await?, &team(ReplyWindow::FiveMinutes).await?);
        self.read.lock().unwrap_or_else(|e| e.into_inner()).insert(shop, (Instant::now(), promise));
        Ok(promise)
    }
}

/// How the widget names a promise.
pub fn name(promise: TypicalReply) -> &'static str {
    match promise {
        TypicalReply::Within30s => "30s",
        TypicalReply::Within3m => "3m",
        TypicalReply::Within5m => "5m",
    }
}
