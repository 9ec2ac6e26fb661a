//! Outbound notifications: queued with the change they announce, only for a
//! shop with an enabled endpoint; claimed once; finished; sent again.

use kefu_core::outbound::{Attempt, Backoff, ClaimRoom, DeliveryState, Endpoint, EventSet, NotifyEvent};
use kefu_core::request::{FiledRequest, RequestStatus, Resolution};

use super::requests::filed;

use super::*;

fn endpoint(shop: ShopId, enabled: bool) -> Endpoint {
    Endpoint { shop, url: "http://127.0.0.1:9/hook".into(), enabled, events: EventSet::EVERY, updated_at: T0 }
}

/// The merchant's system closing a request as done ("已发货") at T0 + `at` ms.
fn done(shop: ShopId, id: uuid::Uuid, at: i64) -> Resolution {
    Resolution { shop, id, status: RequestStatus::Done, by: None, note: "已发货".into(), at: T0.plus_millis(at) }
}

/// Room for `total` deliveries, with no shop limited.
fn room(total: u32) -> ClaimRoom {
    ClaimRoom { total, per_shop: u32::MAX, busy: Vec::new() }
}

fn urge(shop: ShopId, by: &Agent, order: &Order, at: i64) -> FiledRequest {
    filed(shop, by, order, RequestKind::Urge, None, at)
}

pub(super) async fn requests_are_announced_in_their_own_transaction(store: &dyn Store) {
    let s = shop(store, "hook-a").await;
    let quiet = shop(store, "hook-b").await;
    let li = agent(store, "hook-li", &[s.id, quiet.id], 5).await;
    let c = customer(s.id, "h1");
    let q = customer(quiet.id, "h2");
    store.upsert_customers(&[c.clone(), q.clone()]).await.expect("customers");
    let paid = order_in(s.id, c.id, "94000001", OrderStatus::Paid);
    let shipped = order_in(s.id, c.id, "94000002", OrderStatus::Shipped);
    let theirs = order_in(quiet.id, q.id, "94000003", OrderStatus::Paid);
    store.upsert_orders(&[paid.clone(), shipped.clone(), theirs.clone()]).await.expect("orders");

    // No endpoint: nothing is queued.
    store.file_order_request(&urge(s.id, &li, &paid, 1)).await.expect("urge");
    assert!(store.deliveries(s.id, None, 10).await.expect("list").is_empty());

    assert_eq!(store.notify_endpoint(s.id).await.expect("read"), None);
    store.set_notify_endpoint(s.id, Some(&endpoint(s.id, true))).await.expect("set");
    assert_eq!(store.notify_endpoint(s.id).await.expect("read"), Some(endpoint(s.id, true)));
    store.set_notify_endpoint(quiet.id, Some(&endpoint(quiet.id, false))).await.expect("paused");

    // An agent's request, the bot's and a closing are each announced once.
    let row = store.file_order_request(&urge(s.id, &li, &paid, 10)).await.expect("urge");
    let queued = conversation_for(store, s.id, c.id).await;
    let conv = bot_conversation_after(store, &queued).await;
    let mut turn = bot_turn(&conv, &["已为您催促仓库"], vec![], None, 20);
    let bots = OrderRequest {
        id: new_id(),
        order: shipped.id,
        kind: RequestKind::Urge,
        detail: "催".into(),
        needs_review: false,
    };
    turn.requests.push(bots.clone());
    apply(store, turn).await.expect("bot turn");
    let close = done(s.id, row.request.id, 30);
    store.resolve_order_request(&close).await.expect("close");
    // A refused write announces nothing: closing twice, a cancel the order's status refuses.
    assert!(store.resolve_order_request(&close).await.is_err());
    let mut cancel = urge(s.id, &li, &shipped, 40);
    cancel.request.kind = RequestKind::Cancel;
    cancel.change = Some(OrderChange::Cancel { order: shipped.id });
    assert!(matches!(store.file_order_request(&cancel).await, Err(StoreError::Conflict("order_state"))));
    // A paused endpoint gets nothing new.
    store.file_order_request(&urge(quiet.id, &li, &theirs, 50)).await.expect("urge");
    assert!(store.deliveries(quiet.id, None, 10).await.expect("list").is_empty());

    let listed = store.deliveries(s.id, None, 10).await.expect("list");
    let seen: Vec<(NotifyEvent, Option<uuid::Uuid>, i64)> =
        listed.iter().map(|d| (d.event, d.subject, d.created_at.0 - T0.0)).collect();
    assert_eq!(
        seen,
        [
            (NotifyEvent::RequestClosed, Some(row.request.id), 30),
            (NotifyEvent::RequestFiled, Some(bots.id), 20),
            (NotifyEvent::RequestFiled, Some(row.request.id), 10),
            // The queued conversation closed for the bot's (see the conversation test).
            (NotifyEvent::ConversationClosed, Some(queued.id.as_uuid()), 0),
        ],
        "newest first"
    );
    assert!(listed.iter().all(|d| d.state == DeliveryState::Pending && d.attempts == 0 && d.next_at == d.created_at));
}

pub(super) async fn deliveries_are_claimed_once_finished_and_sent_again(store: &dyn Store) {
    let s = shop(store, "hook-c").await;
    let other = shop(store, "hook-d").await;
    let mut queued = Vec::new();
    for at in 0..5 {
        queued.push(store.queue_delivery(s.id, NotifyEvent::Ping, None, T0.plus_millis(at)).await.expect("queue"));
    }
    // Claims made at once take different deliveries; a claim holds them until it runs out.
    let now = T0.plus_millis(100);
    let until = now.plus_millis(60_000);
    let claims = futures_join_all((0..4).map(|_| store.claim_deliveries(now, until, room(2)))).await;
    let mut taken: Vec<uuid::Uuid> = claims.into_iter().flat_map(|c| c.expect("claim")).map(|d| d.id).collect();
    // Claims that raced for the same rows may leave some for the next one
    // (PostgreSQL: the loser finds them taken), but never take one twice.
    let later = store.claim_deliveries(now, until, room(10)).await.expect("claim");
    taken.extend(later.iter().map(|d| d.id));
    taken.sort();
    let mut all: Vec<uuid::Uuid> = queued.iter().map(|d| d.id).collect();
    all.sort();
    assert_eq!(taken, all, "each once");
    assert!(store.claim_deliveries(now.plus_millis(59_999), until, room(10)).await.expect("claim").is_empty());
    let again = store.claim_deliveries(until, until.plus_millis(60_000), room(10)).await.expect("claim");
    assert_eq!(again.len(), 5, "a claim that ran out (the node died) falls due again");
    assert_eq!(
        again.iter().map(|d| d.id).collect::<Vec<_>>(),
        queued.iter().map(|d| d.id).collect::<Vec<_>>(),
        "oldest first"
    );

    let backoff = Backoff::default();
    let at = until.plus_millis(1);
    let ok = backoff.after(&again[0], &Attempt::Delivered { status: 200 }, at);
    store.finish_delivery(&ok).await.expect("finish");
    let failed =
        backoff.after(&again[1], &Attempt::Failed { status: Some(503), error: "Service Unavailable".into() }, at);
    store.finish_delivery(&failed).await.expect("finish");
    let list = store.deliveries(s.id, None, 10).await.expect("list");
    let find = |id| list.iter().find(|d| d.id == id).expect("delivery").clone();
    let d0 = find(again[0].id);
    assert_eq!(
        (d0.state, d0.attempts, d0.last_status, d0.delivered_at),
        (DeliveryState::Delivered, 1, Some(200), Some(at))
    );
    let d1 = find(again[1].id);
    assert_eq!((d1.state, d1.attempts, d1.last_status), (DeliveryState::Pending, 1, Some(503)));
    assert_eq!((d1.next_at, d1.last_error.as_deref()), (at.plus_millis(10_000), Some("Service Unavailable")));
    assert_eq!(store.deliveries(s.id, Some(DeliveryState::Delivered), 10).await.expect("list").len(), 1);

    // An attempt's end does not undo what happened since (an admin's retry).
    store.finish_delivery(&ok).await.expect("finish again");
    let resent = store.retry_delivery(s.id, again[0].id, at.plus_millis(5)).await.expect("retry");
    assert_eq!(
        (resent.state, resent.attempts, resent.next_at, resent.delivered_at),
        (DeliveryState::Pending, 0, at.plus_millis(5), None)
    );
    let gave_up = Backoff { attempts: 1, ..backoff };
    let last = gave_up.after(&again[2], &Attempt::Failed { status: None, error: "refused".into() }, at);
    store.finish_delivery(&last).await.expect("finish");
    assert_eq!(store.deliveries(s.id, Some(DeliveryState::Failed), 10).await.expect("list").len(), 1);

    // Another shop's delivery is not found, and its list is its own.
    assert!(matches!(store.retry_delivery(other.id, again[0].id, at).await, Err(StoreError::NotFound("delivery"))));
    assert!(store.deliveries(other.id, None, 10).await.expect("list").is_empty());
    // Pruning deletes what is done with and old enough, never what is pending.
    let states: Vec<DeliveryState> =
        store.deliveries(s.id, None, 10).await.expect("list").iter().map(|d| d.state).collect();
    let done = states.iter().filter(|s| **s != DeliveryState::Pending).count();
    assert_eq!(done, 1, "{states:?}");
    assert_eq!(store.prune_deliveries(T0.plus_millis(2), 100).await.expect("prune"), 0, "the done one is younger");
    assert_eq!(store.prune_deliveries(at, 100).await.expect("prune"), 1);
    assert!(store.deliveries(s.id, None, 10).await.expect("list").iter().all(|d| d.state == DeliveryState::Pending));
    // Removing the endpoint leaves what is queued.
    store.set_notify_endpoint(s.id, Some(&endpoint(s.id, true))).await.expect("set");
    store.set_notify_endpoint(s.id, None).await.expect("remove");
    assert_eq!(store.notify_endpoint(s.id).await.expect("read"), None);
    assert_eq!(store.deliveries(s.id, None, 10).await.expect("list").len(), 4);
}

/// Conversations ending (closed by an agent, or the bot's gone quiet) and
/// their rating are announced with the change, once.
pub(super) async fn conversations_ending_and_their_ratings_are_announced(store: &dyn Store) {
    let s = shop(store, "hook-conv").await;
    let quiet = shop(store, "hook-conv-quiet").await;
    store.set_notify_endpoint(s.id, Some(&endpoint(s.id, true))).await.expect("set");
    let c = customer(s.id, "hc1");
    let b = customer(s.id, "hc2");
    let q = customer(quiet.id, "hc3");
    store.upsert_customers(&[c.clone(), b.clone(), q.clone()]).await.expect("customers");

    let conv = conversation_for(store, s.id, c.id).await;
    store.close_conversation(conv.id, T0.plus_millis(10)).await.expect("close");
    store.close_conversation(conv.id, T0.plus_millis(11)).await.expect("closed already: nothing new");
    store.rate_conversation(conv.id, 4, T0.plus_millis(20)).await.expect("rate");
    assert!(store.rate_conversation(conv.id, 5, T0.plus_millis(21)).await.is_err());
    let queued = conversation_for(store, s.id, b.id).await;
    let bots = bot_conversation_after(store, &queued).await;
    let closed = store.close_idle_bot_conversations(T0.plus_millis(100), T0.plus_millis(30), 10).await.expect("idle");
    assert_eq!(closed.iter().map(|c| c.id).collect::<Vec<_>>(), [bots.id]);
    let theirs = conversation_for(store, quiet.id, q.id).await;
    store.close_conversation(theirs.id, T0.plus_millis(40)).await.expect("close");

    let seen: Vec<(NotifyEvent, Option<uuid::Uuid>, i64)> = store
        .deliveries(s.id, None, 10)
        .await
        .expect("list")
        .iter()
        .map(|d| (d.event, d.subject, d.created_at.0 - T0.0))
        .collect();
    assert_eq!(
        seen,
        [
            (NotifyEvent::ConversationClosed, Some(bots.id.as_uuid()), 30),
            (NotifyEvent::ConversationRated, Some(conv.id.as_uuid()), 20),
            (NotifyEvent::ConversationClosed, Some(conv.id.as_uuid()), 10),
            // Closed by the helper that hands the shopper to the bot.
            (NotifyEvent::ConversationClosed, Some(queued.id.as_uuid()), 0),
        ],
    );
    assert!(store.deliveries(quiet.id, None, 10).await.expect("list").is_empty());
}

/// A claim takes no more of a shop's deliveries than its room (its share
/// less what it has in flight), so a shop with a backlog behind a slow
/// endpoint leaves room for the others.
pub(super) async fn a_claim_leaves_each_shop_its_share(store: &dyn Store) {
    let slow = shop(store, "hook-slow").await;
    let quick = shop(store, "hook-quick").await;
    let idle = shop(store, "hook-idle").await;
    let mut slows = Vec::new();
    for at in 0..6 {
        slows.push(store.queue_delivery(slow.id, NotifyEvent::Ping, None, T0.plus_millis(at)).await.expect("queue"));
    }
    let mut quicks = Vec::new();
    for at in 10..12 {
        quicks.push(store.queue_delivery(quick.id, NotifyEvent::Ping, None, T0.plus_millis(at)).await.expect("queue"));
    }
    let now = T0.plus_millis(100);
    let until = now.plus_millis(60_000);
    let ids = |v: &[kefu_core::outbound::Delivery]| v.iter().map(|d| d.id).collect::<Vec<_>>();

    // The slow shop has one in flight and a share of three: two more, its oldest.
    let busy = vec![(slow.id, 1), (idle.id, 3)];
    let first = store.claim_deliveries(now, until, ClaimRoom { total: 10, per_shop: 3, busy }).await.expect("claim");
    let mut want = ids(&slows[..2]);
    want.extend(ids(&quicks));
    assert_eq!(ids(&first), want, "the slow shop's two oldest and all the quick shop's");

    // A shop at its share is skipped; the total still holds.
    let full = ClaimRoom { total: 10, per_shop: 3, busy: vec![(slow.id, 3)] };
    assert!(store.claim_deliveries(now, until, full).await.expect("claim").is_empty());
    let one = store.claim_deliveries(now, until, ClaimRoom { total: 1, per_shop: 3, busy: vec![] }).await;
    assert_eq!(ids(&one.expect("claim")), ids(&slows[2..3]));
    let rest = store.claim_deliveries(now, until, room(10)).await.expect("claim");
    assert_eq!(ids(&rest), ids(&slows[3..]));
}

/// An endpoint that chose some events is sent those (and pings), nothing
/// else; one that takes every event keeps doing so.
pub(super) async fn an_endpoint_is_sent_the_events_it_chose(store: &dyn Store) {
    let s = shop(store, "hook-some").await;
    let li = agent(store, "hook-some-li", &[s.id], 5).await;
    let c = customer(s.id, "hs1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customers");
    let paid = order_in(s.id, c.id, "94000101", OrderStatus::Paid);
    store.upsert_orders(std::slice::from_ref(&paid)).await.expect("orders");
    let closings: EventSet = [NotifyEvent::RequestClosed, NotifyEvent::ConversationRated].into_iter().collect();
    let chosen = Endpoint { events: closings, ..endpoint(s.id, true) };
    store.set_notify_endpoint(s.id, Some(&chosen)).await.expect("set");
    assert_eq!(store.notify_endpoint(s.id).await.expect("read"), Some(chosen.clone()));

    let row = store.file_order_request(&urge(s.id, &li, &paid, 10)).await.expect("urge");
    let conv = conversation_for(store, s.id, c.id).await;
    store.close_conversation(conv.id, T0.plus_millis(15)).await.expect("close");
    let close = done(s.id, row.request.id, 20);
    store.resolve_order_request(&close).await.expect("close");
    store.rate_conversation(conv.id, 5, T0.plus_millis(25)).await.expect("rate");
    store.queue_delivery(s.id, NotifyEvent::Ping, None, T0.plus_millis(30)).await.expect("ping");
    let seen: Vec<NotifyEvent> =
        store.deliveries(s.id, None, 10).await.expect("list").iter().map(|d| d.event).collect();
    assert_eq!(seen, [NotifyEvent::Ping, NotifyEvent::ConversationRated, NotifyEvent::RequestClosed]);

    // Back to every event: the filing is announced again.
    store.set_notify_endpoint(s.id, Some(&endpoint(s.id, true))).await.expect("set");
    store.file_order_request(&urge(s.id, &li, &paid, 40)).await.expect("urge");
    let newest = store.deliveries(s.id, None, 1).await.expect("list");
    assert_eq!(newest.iter().map(|d| d.event).collect::<Vec<_>>(), [NotifyEvent::RequestFiled]);
}
