//! The merchant's data: customers, products, orders and shipments.

use super::*;

pub(super) async fn merchant_data_upserts_are_idempotent_and_ignore_stale_updates(store: &dyn Store) {
    let s = shop(store, "gamma").await;
    let mut c = customer(s.id, "u1");
    c.tier = Tier::Plus;
    c.tags = vec!["老客".into(), "爱砍价".into()];
    c.phone = Some(MaskedPhone::parse("13812345678").expect("phone"));
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customers");
    // Upserting again with a new id keeps the first id and takes the new fields.
    let again = Customer { id: CustomerId::from_uuid(new_id()), nickname: "改名了".into(), ..c.clone() };
    store.upsert_customers(&[again]).await.expect("customers again");
    let got = store.customer(c.id).await.expect("customer").expect("exists");
    assert_eq!(got.nickname, "改名了");
    assert_eq!(got.tags, c.tags);
    assert_eq!(got.phone.as_ref().map(|p| p.as_str()), Some("138****5678"));
    let ids = store.customer_ids_by_external(s.id, &["u1".into(), "nobody".into()]).await.expect("ids");
    assert_eq!(ids.len(), 1);
    assert_eq!(ids["u1"], c.id);

    let product = Product {
        id: ProductId::from_uuid(new_id()),
        shop_id: s.id,
        sku: "FR-500".into(),
        name: "对开门冰箱 500L".into(),
        model: Some("BCD-500W".into()),
        category: CategoryPath::parse("家用电器/冰箱/对开门").expect("path"),
        price: Fen(399_900),
    };
    store.upsert_products(std::slice::from_ref(&product)).await.expect("products");
    store
        .upsert_products(&[Product { price: Fen(359_900), id: ProductId::from_uuid(new_id()), ..product.clone() }])
        .await
        .expect("again");
    let products = store.products(s.id, 10).await.expect("list");
    assert_eq!(products.len(), 1);
    assert_eq!(products[0].price, Fen(359_900));
    assert_eq!(products[0].id, product.id);
    assert_eq!(store.product_by_sku(s.id, "FR-500").await.expect("by sku"), Some(products[0].clone()));
    assert_eq!(store.product_by_sku(s.id, "FR-501").await.expect("by sku"), None);

    let order = Order {
        id: OrderId::from_uuid(new_id()),
        shop_id: s.id,
        order_no: OrderNo::parse("88120001").expect("no"),
        customer_id: c.id,
        status: OrderStatus::Shipped,
        items: vec![OrderItem {
            sku: "FR-500".into(),
            name: "对开门冰箱".into(),
            quantity: 1,
            unit_price: Fen(359_900),
        }],
        total: Fen(359_900),
        province: "广东省".into(),
        city: "深圳市".into(),
        address: "南山区科技园".into(),
        created_at: T0,
        paid_at: Some(T0.plus_millis(1000)),
        shipped_at: Some(T0.plus_days(1)),
        delivered_at: None,
        completed_at: None,
        cancelled_at: None,
        updated_at: T0.plus_days(1),
    };
    store.upsert_orders(std::slice::from_ref(&order)).await.expect("orders");
    // A newer update wins …
    let delivered = Order {
        status: OrderStatus::Delivered,
        delivered_at: Some(T0.plus_days(3)),
        updated_at: T0.plus_days(3),
        id: OrderId::from_uuid(new_id()),
        ..order.clone()
    };
    store.upsert_orders(&[delivered]).await.expect("newer");
    // … and a late, older one is ignored.
    let stale = Order { status: OrderStatus::Paid, updated_at: T0.plus_days(2), items: vec![], ..order.clone() };
    store.upsert_orders(&[stale]).await.expect("stale");
    let got = store.order_by_no(s.id, &order.order_no).await.expect("order").expect("exists");
    assert_eq!(got.id, order.id);
    assert_eq!(got.status, OrderStatus::Delivered);
    assert_eq!(got.items, order.items);
    assert_eq!(store.orders_of_customer(c.id, 10).await.expect("of customer").len(), 1);
    assert_eq!(store.order(order.id).await.expect("by id").map(|o| o.order_no), Some(order.order_no.clone()));
    let ids = store.order_ids_by_no(s.id, std::slice::from_ref(&order.order_no)).await.expect("ids");
    assert_eq!(ids.get(&order.order_no), Some(&order.id));

    let shipment = Shipment {
        id: ShipmentId::from_uuid(new_id()),
        shop_id: s.id,
        order_id: order.id,
        carrier: "顺丰速运".into(),
        tracking_no: "SF1234567890".into(),
        events: vec![
            ShipmentEvent { at: T0.plus_days(1), location: "深圳".into(), description: "已揽收".into() },
            ShipmentEvent { at: T0.plus_days(2), location: "广州".into(), description: "运输中".into() },
        ],
        updated_at: T0.plus_days(2),
    };
    store.upsert_shipments(std::slice::from_ref(&shipment)).await.expect("shipments");
    let mut more = shipment.clone();
    more.id = ShipmentId::from_uuid(new_id());
    more.events
        .push(ShipmentEvent { at: T0.plus_days(3), location: "深圳南山".into(), description: "已签收".into() });
    store.upsert_shipments(std::slice::from_ref(&more)).await.expect("again");
    let got = store.shipments_of_order(order.id).await.expect("of order");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, shipment.id);
    assert_eq!(got[0].events, more.events);
}

pub(super) fn order_in(shop: ShopId, customer: CustomerId, no: &str, status: OrderStatus) -> Order {
    Order {
        id: OrderId::from_uuid(new_id()),
        shop_id: shop,
        order_no: OrderNo::parse(no).expect("no"),
        customer_id: customer,
        status,
        items: vec![OrderItem { sku: "S1".into(), name: "商品".into(), quantity: 1, unit_price: Fen(9_900) }],
        total: Fen(9_900),
        province: "北京".into(),
        city: "北京".into(),
        address: "朝阳区".into(),
        created_at: T0,
        paid_at: Some(T0),
        shipped_at: None,
        delivered_at: None,
        completed_at: None,
        cancelled_at: None,
        updated_at: T0,
    }
}

pub(super) async fn orders_come_with_their_shipments(store: &dyn Store) {
    let s = shop(store, "orders-shipments").await;
    let c = customer(s.id, "u-os");
    let other = customer(s.id, "u-other");
    store.upsert_customers(&[c.clone(), other.clone()]).await.expect("customers");
    let mut orders = Vec::new();
    for (i, status) in [OrderStatus::Paid, OrderStatus::Shipped, OrderStatus::Delivered].into_iter().enumerate() {
        let mut o = order_in(s.id, c.id, &format!("7700{i}"), status);
        o.created_at = T0.plus_days(i as i64);
        o.items.push(OrderItem { sku: format!("S{i}"), name: "另一件".into(), quantity: 2, unit_price: Fen(100) });
        orders.push(o);
    }
    let theirs = order_in(s.id, other.id, "77009", OrderStatus::Shipped);
    store.upsert_orders(&[orders.clone(), vec![theirs.clone()]].concat()).await.expect("orders");
    let shipment = |order: &Order, no: &str, at: i64, events: usize| Shipment {
        id: ShipmentId::from_uuid(new_id()),
        shop_id: s.id,
        order_id: order.id,
        carrier: "中通快递".into(),
        tracking_no: no.into(),
        events: (0..events)
            .map(|e| ShipmentEvent {
                at: T0.plus_days(at + e as i64),
                location: format!("站点{e}"),
                // Quotes, a backslash, an emoji and a line break read back as written.
                description: format!("第{e}站 \"已签收\" \\ 🚚\n"),
            })
            .collect(),
        updated_at: T0.plus_days(at),
    };
    // The delivered order came in two parcels; the paid one has none yet.
    let parcels = vec![
        shipment(&orders[1], "ZT1001", 1, 2),
        shipment(&orders[2], "ZT2002", 3, 1),
        shipment(&orders[2], "ZT2001", 2, 3),
        shipment(&theirs, "ZT9009", 1, 1),
    ];
    store.upsert_shipments(&parcels).await.expect("shipments");

    let got = store.orders_with_shipments(c.id, 10).await.expect("read");
    let newest_first: Vec<&str> = got.iter().map(|o| o.order.order_no.as_str()).collect();
    assert_eq!(newest_first, ["77002", "77001", "77000"]);
    for read in &got {
        // The same as reading order by order.
        let one_by_one = store.shipments_of_order(read.order.id).await.expect("of order");
        assert_eq!(read.shipments, one_by_one);
        let stored = orders.iter().find(|o| o.id == read.order.id).expect("ours");
        assert_eq!(&read.order, stored);
    }
    assert_eq!(got[0].shipments.iter().map(|p| p.tracking_no.as_str()).collect::<Vec<_>>(), ["ZT2001", "ZT2002"]);
    assert_eq!(got[0].shipments[0].events.len(), 3);
    assert_eq!(got[1].shipments.len(), 1);
    assert!(got[2].shipments.is_empty());
    assert_eq!(store.orders_with_shipments(c.id, 1).await.expect("limited").len(), 1);
    let nobody = CustomerId::from_uuid(new_id());
    assert!(store.orders_with_shipments(nobody, 10).await.expect("none").is_empty());

    // What a bot turn reads in one go is what the two reads give.
    let conv = ConversationId::from_uuid(new_id());
    assert_eq!(store.bot_context(conv, c.id, 10).await.expect("context"), (BotMemory::default(), got.clone()));
    assert_eq!(store.bot_context(conv, c.id, 2).await.expect("limited").1, got[..2]);
}
