//! The sender of outbound notifications (see `kefu_core::outbound`): takes
//! due deliveries from the store's outbox, POSTs each to its shop's endpoint
//! signed with the shop's secret, and writes what came of it. Runs on every
//! node; the store's claims keep two nodes from sending one delivery at once.
//!
//! The request a notification names is read when it is sent, so the body
//! shows the request as it stands (a `filed` notification shows it as
//! filed: open, not yet closed).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use hyper::header::{HeaderName, USER_AGENT};
use kefu_core::id::{ConversationId, ShopId};
use kefu_core::outbound::{Attempt, AttemptDone, Backoff, ClaimRoom, Delivery, DeliveryState, NotifyEvent};
use kefu_core::request::RequestStatus;
use kefu_core::shop::Shop;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::dto::ConversationDto;
use crate::http_out::{self, HttpUrl};
use crate::{SharedState, auth};

/// How the sender behaves; `ServerConfig::notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyConfig {
    pub backoff: Backoff,
    /// One attempt, from connecting to the end of the answer.
    pub timeout: Duration,
    /// Deliveries in flight at once (one slow endpoint holds one each).
    pub concurrent: usize,
    /// Of those, the most for one shop: a shop whose endpoint hangs holds
    /// this many slots, and the other shops' notifications keep going.
    pub per_shop: usize,
    /// How often an idle sender looks for due deliveries.
    pub poll: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            backoff: Backoff::default(),
            timeout: Duration::from_secs(10),
            concurrent: 16,
            per_shop: 4,
            poll: Duration::from_secs(1),
        }
    }
}

/// The most of an endpoint's answer read (for the error shown on /admin).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub const EVENT_HEADER: &str = "x-kefu-event";
pub const DELIVERY_HEADER: &str = "x-kefu-delivery";
pub const SIGNATURE_HEADER: &str = "x-kefu-signature";

/// Sends due deliveries until the server shuts down.
pub async fn run(state: SharedState) {
    let config = state.config.notify;
    let permits = Arc::new(Semaphore::new(config.concurrent.max(1)));
    let in_flight = Arc::new(InFlight::default());
    let mut shutdown = state.shutting_down();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let free = permits.available_permits();
        let now = state.ctx.clock.now();
        // A claim outlives the attempt it covers, so nobody else sends it meanwhile.
        let until = now.plus_millis(millis(config.timeout) + 30_000);
        let room = ClaimRoom {
            total: u32::try_from(free).unwrap_or(u32::MAX),
            per_shop: u32::try_from(config.per_shop.max(1)).unwrap_or(u32::MAX),
            busy: in_flight.busy(),
        };
        let due = if free == 0 {
            Vec::new()
        } else {
            match state.ctx.store.claim_deliveries(now, until, room).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming notifications failed");
                    Vec::new()
                }
            }
        };
        for delivery in due {
            let Ok(permit) = permits.clone().acquire_owned().await else { return };
            let state = state.clone();
            let slot = in_flight.take(delivery.shop);
            tokio::spawn(async move {
                let done = attempt(&state, &delivery).await;
                if let Err(e) = state.ctx.store.finish_delivery(&done).await {
                    tracing::warn!(error = %e, delivery = %delivery.id, "recording a notification attempt failed");
                }
                // The permit first: the slot's drop wakes the loop to claim again.
                drop(permit);
                drop(slot);
            });
        }
        // More may be due when an attempt ends (for all the slots, or for a
        // shop that was at its share), so look again then, or after the poll.
        tokio::select! {
            _ = in_flight.freed.notified() => {}
            _ = tokio::time::sleep(config.poll) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Deliveries being attempted, per shop.
#[derive(Default)]
struct InFlight {
    shops: std::sync::Mutex<HashMap<ShopId, u32>>,
    /// Woken when an attempt ends.
    freed: Notify,
}

impl InFlight {
    fn busy(&self) -> Vec<(ShopId, u32)> {
        self.shops.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(s, n)| (*s, *n)).collect()
    }

    fn take(self: &Arc<Self>, shop: ShopId) -> Slot {
        *self.shops.lock().unwrap_or_else(|e| e.into_inner()).entry(shop).or_default() += 1;
        Slot { of: self.clone(), shop }
    }
}

/// One attempt's place in [`InFlight`], given back when dropped.
struct Slot {
    of: Arc<InFlight>,
    shop: ShopId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut shops = self.of.shops.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = shops.get_mut(&self.shop) {
            *n -= 1;
            if *n == 0 {
                shops.remove(&self.shop);
            }
        }
        drop(shops);
        self.of.freed.notify_one();
    }
}

/// Deliveries done with (delivered or given up) are kept this long for
/// /admin, then deleted.
pub const KEEP_DAYS: i64 = 30;

/// Every ten minutes, deletes deliveries done with and older than
/// [`KEEP_DAYS`], in batches, so the outbox does not grow with every
/// request ever filed.
pub async fn prune(state: SharedState) {
    const BATCH: u32 = 1000;
    const BATCHES: usize = 20;
    let mut shutdown = state.shutting_down();
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.changed() => return,
        }
        let before = state.ctx.clock.now().plus_days(-KEEP_DAYS);
        for _ in 0..BATCHES {
            match state.ctx.store.prune_deliveries(before, BATCH).await {
                Ok(n) if n < BATCH => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "deleting old notifications failed");
                    break;
                }
            }
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One attempt at `delivery`, and what the store should write of it.
pub async fn attempt(state: &SharedState, delivery: &Delivery) -> AttemptDone {
    let config = state.config.notify;
    let prepared = prepare(state, delivery).await;
    let at = state.ctx.clock.now();
    let (url, shop, body) = match prepared {
        Ok(p) => p,
        Err(Prepare::GiveUp(why)) => {
            tracing::info!(delivery = %delivery.id, why, "notification given up");
            state.metrics.notify_gave_up_total.fetch_add(1, Relaxed);
            return config.backoff.give_up(delivery, why, at);
        }
        Err(Prepare::Later(why)) => {
            return config.backoff.after(delivery, &Attempt::Failed { status: None, error: why }, at);
        }
    };
    let now_ms = state.ctx.clock.now().millis();
    let outcome = send(&state.config.http, &url, &shop, delivery, body, config.timeout, now_ms).await;
    let at = state.ctx.clock.now();
    let done = config.backoff.after(delivery, &outcome, at);
    match (&outcome, done.state) {
        (Attempt::Delivered { .. }, _) => {
            state.metrics.notify_delivered_total.fetch_add(1, Relaxed);
        }
        (Attempt::Failed { status, error }, next) => {
            state.metrics.notify_failed_attempts_total.fetch_add(1, Relaxed);
            if next == DeliveryState::Failed {
                state.metrics.notify_gave_up_total.fetch_add(1, Relaxed);
            }
            tracing::info!(delivery = %delivery.id, shop = %shop.slug, ?status, error, attempts = done.attempts,
                given_up = next == DeliveryState::Failed, "notification attempt failed");
        }
    }
    done
}

enum Prepare {
    /// Nothing to send it to, or about: no later attempt would do better.
    GiveUp(&'static str),
    /// The store failed: try again later.
    Later(String),
}

async fn prepare(state: &SharedState, delivery: &Delivery) -> Result<(HttpUrl, Shop, Vec<u8>), Prepare> {
    let store = &state.ctx.store;
    let later = |e: kefu_core::store::StoreError| Prepare::Later(e.to_string());
    let endpoint = store.notify_endpoint(delivery.shop).await.map_err(later)?;
    let endpoint = match endpoint {
        Some(e) if e.enabled => e,
        Some(_) => return Err(Prepare::GiveUp("the endpoint is paused")),
        None => return Err(Prepare::GiveUp("the shop has no endpoint")),
    };
    // Checked when it was saved; a URL stored by an older version may not pass.
    let url = HttpUrl::parse(&endpoint.url).map_err(|_| Prepare::GiveUp("the endpoint's URL is not usable"))?;
    let shop = store.shop(delivery.shop).await.map_err(later)?.ok_or(Prepare::GiveUp("the shop is gone"))?;
    let body = body(state, &shop, delivery).await?;
    Ok((url, shop, body))
}

/// The JSON body: what happened, when, in which shop, and what it names.
async fn body(state: &SharedState, shop: &Shop, delivery: &Delivery) -> Result<Vec<u8>, Prepare> {
    let mut body = json!({
        "id": delivery.id.to_string(),
        "event": delivery.event.as_str(),
        "occurred_at": delivery.created_at.millis(),
        "shop": { "id": shop.id.to_string(), "slug": shop.slug.as_str() },
    });
    match delivery.event {
        NotifyEvent::Ping => {}
        NotifyEvent::RequestFiled | NotifyEvent::RequestClosed => {
            let id = delivery.subject.ok_or(Prepare::GiveUp("the delivery names no request"))?;
            let row = state
                .ctx
                .store
                .order_request(shop.id, id)
                .await
                .map_err(|e| Prepare::Later(e.to_string()))?
                .ok_or(Prepare::GiveUp("the request is gone"))?;
            let mut row = row;
            if delivery.event == NotifyEvent::RequestFiled {
                // As it was filed; its closing has a notification of its own.
                row.status = RequestStatus::Open;
                row.resolved = None;
            }
            let dto = crate::api::requests::dto(state, row)
                .await
                .map_err(|_| Prepare::Later("reading the names on the request failed".into()))?;
            body["order_request"] = serde_json::to_value(dto).unwrap_or(Value::Null);
        }
        NotifyEvent::ConversationClosed | NotifyEvent::ConversationRated => {
            let id = delivery.subject.ok_or(Prepare::GiveUp("the delivery names no conversation"))?;
            body["conversation"] = conversation_json(state, shop, ConversationId::from_uuid(id)).await?;
        }
    }
    Ok(body.to_string().into_bytes())
}

/// The conversation as it stands, with its shopper as the merchant knows
/// them (their own customer id) and the agent who had it.
async fn conversation_json(state: &SharedState, shop: &Shop, id: ConversationId) -> Result<Value, Prepare> {
    let store = &state.ctx.store;
    let later = |e: kefu_core::store::StoreError| Prepare::Later(e.to_string());
    let conv = store
        .conversation(id)
        .await
        .map_err(later)?
        .filter(|c| c.shop_id == shop.id)
        .ok_or(Prepare::GiveUp("the conversation is gone"))?;
    let customer = store.customer(conv.customer_id).await.map_err(later)?;
    let agent = match conv.assigned_agent {
        Some(a) => store.agent(a).await.map_err(later)?,
        None => None,
    };
    let mut v = serde_json::to_value(ConversationDto::from(&conv)).unwrap_or(Value::Null);
    v["customer"] = match customer {
        Some(c) => json!({ "id": c.id.to_string(), "external_id": c.external_id, "nickname": c.nickname }),
        None => Value::Null,
    };
    v["agent"] = agent.map_or(Value::Null, |a| json!({ "id": a.id.to_string(), "name": a.display_name }));
    Ok(v)
}

async fn send(
    http: &http_out::Client,
    url: &HttpUrl,
    shop: &Shop,
    delivery: &Delivery,
    body: Vec<u8>,
    timeout: Duration,
    now_ms: i64,
) -> Attempt {
    let signature = auth::webhook_signature(shop.secret.expose(), now_ms.div_euclid(1000), &body);
    let headers = [
        (USER_AGENT, concat!("kefu/", env!("CARGO_PKG_VERSION")).to_owned()),
        (HeaderName::from_static(EVENT_HEADER), delivery.event.as_str().to_owned()),
        (HeaderName::from_static(DELIVERY_HEADER), delivery.id.to_string()),
        (HeaderName::from_static(SIGNATURE_HEADER), signature),
    ];
    match tokio::time::timeout(timeout, http.post_json(url, &headers, body, MAX_ANSWER_BYTES)).await {
        Err(_) => Attempt::Failed { status: None, error: format!("no answer within {} ms", timeout.as_millis()) },
        Ok(Err(e)) => Attempt::Failed { status: None, error: e.to_string() },
        Ok(Ok((status, _))) if (200..300).contains(&status) => Attempt::Delivered { status },
        Ok(Ok((status, answer))) => {
            let text = String::from_utf8_lossy(&answer);
            let text = text.trim();
            let error = if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") };
            Attempt::Failed { status: Some(status), error }
        }
    }
}
