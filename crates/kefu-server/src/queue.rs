//! Where each waiting shopper stands in their shop's queue (排队中，前面还有
//! N 位). Widgets of queued shoppers ask every few seconds; on 双11 night
//! thousands wait at once, so a shop's queue is read from the store at most
//! once per [`TTL`] on each node (one query, whoever asks), and every
//! widget's answer is a lookup in that reading.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_core::id::{ConversationId, ShopId};
use kefu_core::store::{Store, StoreResult};

/// How stale a shop's queue may be when a widget asks.
pub const TTL: Duration = Duration::from_secs(2);
/// The most of a shop's queue read: a shopper further back is told at least this many are ahead.
const READ_LIMIT: u32 = 5000;

#[derive(Default)]
struct Reading {
    at: Option<Instant>,
    ahead: HashMap<ConversationId, u32>,
    len: u32,
}

#[derive(Default)]
pub struct QueueBoard {
    /// One lock per shop: a reading in progress makes the others asking
    /// about that shop wait for it instead of reading too.
    shops: Mutex<HashMap<ShopId, Arc<tokio::sync::Mutex<Reading>>>>,
}

impl QueueBoard {
    /// How many of the shop's queued conversations come before this one. A
    /// conversation queued since the last reading is counted as last.
    pub async fn ahead(&self, store: &dyn Store, shop: ShopId, conversation: ConversationId) -> StoreResult<u32> {
        let slot = {
            let mut shops = self.shops.lock().unwrap_or_else(|e| e.into_inner());
            shops.entry(shop).or_default().clone()
        };
        let mut reading = slot.lock().await;
        if reading.at.is_none_or(|at| at.elapsed() >= TTL) {
            let queue = store.queue_of_shop(shop, READ_LIMIT).await?;
            reading.len = u32::try_from(queue.len()).unwrap_or(u32::MAX);
            reading.ahead = queue.into_iter().zip(0..).collect();
            reading.at = Some(Instant::now());
        }
        Ok(reading.ahead.get(&conversation).copied().unwrap_or(reading.len))
    }
}
