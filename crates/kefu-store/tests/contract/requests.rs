//! Order requests (服务单): filed by agents with their order change, listed
//! with the bot's, closed once.

use kefu_core::request::{FiledRequest, RequestFilter, RequestStatus, Resolution};

use super::*;

pub(super) fn filed(
    shop: ShopId,
    by: &Agent,
    order: &Order,
    kind: RequestKind,
    change: Option<OrderChange>,
    at: i64,
) -> FiledRequest {
    FiledRequest {
        shop,
        conversation: None,
        by: by.id,
        request: OrderRequest {
            id: new_id(),
            order: order.id,
            kind,
            detail: format!("{} @{at}", kind.as_str()),
            needs_review: kind == RequestKind::AfterSale,
        },
        change,
        at: T0.plus_millis(at),
    }
}

pub(super) async fn order_requests_are_filed_listed_and_closed_once(store: &dyn Store) {
    let s = shop(store, "req-a").await;
    let other = shop(store, "req-b").await;
    let zhang = agent(store, "req-zhang", &[s.id], 5).await;
    let c = customer(s.id, "r1");
    let c2 = customer(s.id, "r2");
    store.upsert_customers(&[c.clone(), c2.clone()]).await.expect("customers");
    let paid = order_in(s.id, c.id, "93000001", OrderStatus::Paid);
    let shipped = order_in(s.id, c.id, "93000002", OrderStatus::Shipped);
    let theirs = order_in(s.id, c2.id, "93000003", OrderStatus::Delivered);
    store.upsert_orders(&[paid.clone(), shipped.clone(), theirs.clone()]).await.expect("orders");

    // An address change is made with its request, in one go.
    let address = OrderChange::Address {
        order: paid.id,
        province: "上海".into(),
        city: "上海".into(),
        address: "浦东新区世纪大道1号".into(),
    };
    let row = store
        .file_order_request(&filed(s.id, &zhang, &paid, RequestKind::AddressChange, Some(address), 10))
        .await
        .expect("address change");
    assert_eq!((row.order_no.as_str(), row.status, row.filed_by), ("93000001", RequestStatus::Open, Some(zhang.id)));
    assert_eq!(row.created_at, T0.plus_millis(10));
    assert!(row.resolved.is_none());
    let now = store.order(paid.id).await.expect("read").expect("order");
    assert_eq!((now.city.as_str(), now.address.as_str()), ("上海", "浦东新区世纪大道1号"));

    // A shipped order cannot be cancelled: neither the change nor its request is written.
    let cancel = OrderChange::Cancel { order: shipped.id };
    let refused = store.file_order_request(&filed(s.id, &zhang, &shipped, RequestKind::Cancel, Some(cancel), 20)).await;
    assert!(matches!(refused, Err(StoreError::Conflict("order_state"))), "{refused:?}");
    assert_eq!(store.order(shipped.id).await.expect("read").expect("order").status, OrderStatus::Shipped);

    // Another shop's order is not found, whoever files.
    let refused = store.file_order_request(&filed(other.id, &zhang, &paid, RequestKind::Urge, None, 25)).await;
    assert!(matches!(refused, Err(StoreError::NotFound("order"))), "{refused:?}");

    // One open after-sales request per order; urges may repeat.
    let after_sale = store
        .file_order_request(&filed(s.id, &zhang, &theirs, RequestKind::AfterSale, None, 30))
        .await
        .expect("after-sale");
    assert!(after_sale.request.needs_review);
    let twice = store.file_order_request(&filed(s.id, &zhang, &theirs, RequestKind::AfterSale, None, 40)).await;
    assert!(matches!(twice, Err(StoreError::Conflict("request_open"))), "{twice:?}");
    store.file_order_request(&filed(s.id, &zhang, &shipped, RequestKind::Urge, None, 50)).await.expect("urge");
    store.file_order_request(&filed(s.id, &zhang, &shipped, RequestKind::Urge, None, 60)).await.expect("urge again");

    // The bot's requests are listed with the agents', as filed by nobody.
    let queued = conversation_for(store, s.id, c.id).await;
    let conv = bot_conversation_after(store, &queued).await;
    let mut turn = bot_turn(&conv, &["已为您催促仓库"], vec![], None, 70);
    turn.requests.push(OrderRequest {
        id: new_id(),
        order: shipped.id,
        kind: RequestKind::Urge,
        detail: "客户催发货".into(),
        needs_review: false,
    });
    apply(store, turn).await.expect("bot turn");

    let all = store.order_requests(&RequestFilter::shop(s.id)).await.expect("list");
    assert_eq!(all.len(), 5, "newest first: {all:?}");
    assert_eq!(all[0].filed_by, None);
    assert_eq!(all[0].conversation, Some(conv.id));
    assert!(all.windows(2).all(|w| w[0].created_at >= w[1].created_at));
    assert!(store.order_requests(&RequestFilter::shop(other.id)).await.expect("list").is_empty());
    let mine =
        store.order_requests(&RequestFilter { customer: Some(c.id), ..RequestFilter::shop(s.id) }).await.expect("list");
    assert_eq!(mine.len(), 4, "the shopper's orders only");
    let review = store
        .order_requests(&RequestFilter { needs_review: Some(true), ..RequestFilter::shop(s.id) })
        .await
        .expect("list");
    assert_eq!(review.iter().map(|r| r.request.id).collect::<Vec<_>>(), [after_sale.request.id]);
    let limited = store.order_requests(&RequestFilter { limit: 2, ..RequestFilter::shop(s.id) }).await.expect("list");
    assert_eq!(limited.len(), 2);

    // Closed once: the first word stands; another shop cannot close it.
    let close = |shop: ShopId, status: RequestStatus, note: &str, at: i64| Resolution {
        shop,
        id: after_sale.request.id,
        status,
        by: Some(zhang.id),
        note: note.into(),
        at: T0.plus_millis(at),
    };
    let stolen = store.resolve_order_request(&close(other.id, RequestStatus::Done, "x", 80)).await;
    assert!(matches!(stolen, Err(StoreError::NotFound("order request"))), "{stolen:?}");
    let done = store.resolve_order_request(&close(s.id, RequestStatus::Done, "已退款 ¥99", 90)).await.expect("close");
    assert_eq!(done.status, RequestStatus::Done);
    let resolved = done.resolved.expect("resolved");
    assert_eq!((resolved.by, resolved.at, resolved.note.as_str()), (Some(zhang.id), T0.plus_millis(90), "已退款 ¥99"));
    let again = store.resolve_order_request(&close(s.id, RequestStatus::Rejected, "不同意", 100)).await;
    assert!(matches!(again, Err(StoreError::Conflict("request_closed"))), "{again:?}");
    let open = store
        .order_requests(&RequestFilter { statuses: vec![RequestStatus::Open], ..RequestFilter::shop(s.id) })
        .await
        .expect("list");
    assert_eq!(open.len(), 4);
    // The merchant's system closes requests too, as nobody of the desk.
    let urge = open.iter().find(|r| r.request.kind == RequestKind::Urge).expect("urge");
    let shipped_note = Resolution {
        shop: s.id,
        id: urge.request.id,
        status: RequestStatus::Done,
        by: None,
        note: "仓库已发出".into(),
        at: T0.plus_millis(105),
    };
    let by_merchant = store.resolve_order_request(&shipped_note).await.expect("merchant closes");
    assert_eq!(by_merchant.resolved.map(|r| (r.by, r.note)), Some((None, "仓库已发出".to_owned())));
    // Once closed, the order may take a new after-sales request.
    store.file_order_request(&filed(s.id, &zhang, &theirs, RequestKind::AfterSale, None, 110)).await.expect("again");
}

/// Two agents (or one double click) filing at once: the order takes one.
pub(super) async fn racing_after_sales_requests_file_one(store: &dyn Store) {
    let s = shop(store, "req-race").await;
    let zhang = agent(store, "race-zhang", &[s.id], 5).await;
    let c = customer(s.id, "rr1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let delivered = order_in(s.id, c.id, "93100001", OrderStatus::Delivered);
    store.upsert_orders(std::slice::from_ref(&delivered)).await.expect("order");
    for round in 0..3 {
        let tries = (0..6).map(|i| filed(s.id, &zhang, &delivered, RequestKind::AfterSale, None, round * 10 + i));
        let results =
            futures_util::future::join_all(tries.map(|f| async move { store.file_order_request(&f).await })).await;
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(StoreError::Conflict("request_open")))), "{results:?}");
        assert_eq!(won, 1, "round {round}: {results:?}");
        let open = store
            .order_requests(&RequestFilter { statuses: vec![RequestStatus::Open], ..RequestFilter::shop(s.id) })
            .await
            .expect("list");
        assert_eq!(open.len(), 1);
        let resolution = Resolution {
            shop: s.id,
            id: open[0].request.id,
            status: RequestStatus::Rejected,
            by: Some(zhang.id),
            note: String::new(),
            at: T0.plus_millis(round * 10 + 9),
        };
        store.resolve_order_request(&resolution).await.expect("close");
    }
}

/// A bot turn that files an after-sales request on `order`.
fn returning(conv: &Conversation, order: &Order, at: i64) -> BotTurnWrite {
    let mut turn = bot_turn(conv, &["已为您提交退货申请"], vec![], None, at);
    turn.requests.push(OrderRequest {
        id: new_id(),
        order: order.id,
        kind: RequestKind::AfterSale,
        detail: "退货退款".into(),
        needs_review: false,
    });
    turn
}

/// The bot reads which requests are open on each order, and the store
/// refuses its turn when it would file a second one anyway (a race with an
/// agent): the turn is written whole or not at all.
pub(super) async fn the_bot_sees_open_requests_and_does_not_file_twice(store: &dyn Store) {
    let s = shop(store, "req-bot").await;
    let zhang = agent(store, "bot-zhang", &[s.id], 5).await;
    let c = customer(s.id, "rb1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let delivered = order_in(s.id, c.id, "93200001", OrderStatus::Delivered);
    let paid = order_in(s.id, c.id, "93200002", OrderStatus::Paid);
    store.upsert_orders(&[delivered.clone(), paid.clone()]).await.expect("orders");
    store.file_order_request(&filed(s.id, &zhang, &delivered, RequestKind::AfterSale, None, 10)).await.expect("agent");
    store.file_order_request(&filed(s.id, &zhang, &paid, RequestKind::Urge, None, 20)).await.expect("urge");

    let queued = conversation_for(store, s.id, c.id).await;
    let conv = bot_conversation_after(store, &queued).await;
    let (_, orders) = store.bot_context(conv.id, c.id, 20).await.expect("context");
    let open = |no: &str| orders.iter().find(|o| o.order.order_no.as_str() == no).expect("order").open_requests.clone();
    assert_eq!(open("93200001"), [RequestKind::AfterSale]);
    assert_eq!(open("93200002"), [RequestKind::Urge]);
    assert_eq!(store.orders_with_shipments(c.id, 20).await.expect("panel"), orders, "the panel reads the same");

    let turn = returning(&conv, &delivered, 30);
    let refused = apply(store, turn).await;
    assert!(matches!(refused, Err(StoreError::Conflict("request_open"))), "{refused:?}");
    assert_eq!(store.order_requests(&RequestFilter::shop(s.id)).await.expect("list").len(), 2, "nothing written");
    assert_eq!(store.messages_after(conv.id, 0, 10).await.expect("messages").len(), 0);
    assert_eq!(memory_version(store, conv.id).await, 0);

    // Once the first is closed, the bot may file one.
    let first = store.order_requests(&RequestFilter::shop(s.id)).await.expect("list");
    let after_sale = first.iter().find(|r| r.request.kind == RequestKind::AfterSale).expect("after-sale");
    let close = Resolution {
        shop: s.id,
        id: after_sale.request.id,
        status: RequestStatus::Rejected,
        by: Some(zhang.id),
        note: "拒收".into(),
        at: T0.plus_millis(40),
    };
    store.resolve_order_request(&close).await.expect("close");
    let (_, orders) = store.bot_context(conv.id, c.id, 20).await.expect("context");
    assert!(orders.iter().all(|o| o.order.id != delivered.id || o.open_requests.is_empty()));
    let turn = returning(&conv, &delivered, 50);
    apply(store, turn).await.expect("filed");
}
