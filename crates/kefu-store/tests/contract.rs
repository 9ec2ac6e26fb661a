//! The store contract: one set of stories, run on SQLite always and on
//! PostgreSQL when `KEFU_TEST_DATABASE_URL` is set (each test in its own schema).

use std::sync::Arc;

use kefu_core::agent::{Agent, AgentSession, AgentStatus, Role, Username};
use kefu_core::botturn::*;
use kefu_core::catalog::{CategoryPath, Product};
use kefu_core::clock::Timestamp;
use kefu_core::conversation::*;
use kefu_core::customer::{Customer, MaskedPhone, Tier};
use kefu_core::id::*;
use kefu_core::knowledge::KnowledgeEntry;
use kefu_core::money::Fen;
use kefu_core::order::*;
use kefu_core::shop::{Shop, ShopSecret, ShopSlug, SkillGroup};
use kefu_core::store::*;
use kefu_store::{Backend, Durability};

fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

struct TestDb {
    store: Arc<dyn Store>,
    _cleanup: Option<TempDir>,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sqlite() -> TestDb {
    let dir = std::env::temp_dir().join(format!("kefu-contract-{}", new_id().simple()));
    let store = kefu_store::open(&Backend::Sqlite { path: dir.join("kefu.db"), durability: Durability::Normal })
        .await
        .expect("open sqlite");
    TestDb { store, _cleanup: Some(TempDir(dir)) }
}

async fn postgres() -> Option<TestDb> {
    let url = std::env::var("KEFU_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
    let schema = format!("t_{}", new_id().simple());
    let store =
        kefu_store::open(&Backend::Postgres { url, schema: Some(schema), pool_size: 8 }).await.expect("open postgres");
    Some(TestDb { store, _cleanup: None })
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { let db = super::sqlite().await; super::$name(&*db.store).await; })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                match super::postgres().await {
                    Some(db) => super::$name(&*db.store).await,
                    None => eprintln!("KEFU_TEST_DATABASE_URL not set: PostgreSQL contract skipped"),
                }
            })*
        }
    };
}

contract!(
    shops_agents_and_sessions,
    merchant_data_upserts_are_idempotent_and_ignore_stale_updates,
    messages_get_consecutive_seqs_and_retries_are_stored_once,
    concurrent_appends_never_share_a_seq,
    assignment_respects_capacity_and_state,
    a_customer_has_one_open_conversation,
    conversation_list_filters_searches_and_sorts_by_longest_wait,
    closed_and_open_lists_are_separate_and_closed_is_newest_first,
    server_key_is_created_once,
    a_bot_turn_is_written_whole_or_not_at_all,
    a_shoppers_message_and_the_bots_answer_share_one_commit,
    knowledge_entries_belong_to_one_shop,
    a_shops_rules_are_stored_replaced_and_removed,
    orders_come_with_their_shipments,
);

const T0: Timestamp = Timestamp(1_763_800_000_000);

async fn shop(store: &dyn Store, slug: &str) -> Shop {
    let shop = Shop {
        id: ShopId::from_uuid(new_id()),
        slug: ShopSlug::parse(slug).expect("slug"),
        name: format!("{slug} 旗舰店"),
        secret: ShopSecret::new(format!("secret-{slug}")),
        created_at: T0,
    };
    store.create_shop(&shop).await.expect("create shop");
    shop
}

async fn agent(store: &dyn Store, name: &str, shops: &[ShopId], max: u32) -> Agent {
    let agent = Agent {
        id: AgentId::from_uuid(new_id()),
        username: Username::parse(name).expect("username"),
        display_name: name.to_uppercase(),
        password_hash: "$argon2id$placeholder".into(),
        role: Role::Agent,
        shops: shops.to_vec(),
        skill_groups: vec![],
        max_concurrent: max,
        status: AgentStatus::Online,
        created_at: T0,
    };
    store.create_agent(&agent).await.expect("create agent");
    agent
}

fn customer(shop: ShopId, ext: &str) -> Customer {
    Customer {
        id: CustomerId::from_uuid(new_id()),
        shop_id: shop,
        external_id: Some(ext.into()),
        nickname: format!("买家{ext}"),
        tier: Tier::Normal,
        tags: vec![],
        phone: None,
        lifetime_spend: Fen(0),
        complaint_count: 0,
        created_at: T0,
    }
}

async fn conversation_for(store: &dyn Store, shop: ShopId, customer: CustomerId) -> Conversation {
    store
        .open_conversation(&Conversation {
            id: ConversationId::from_uuid(new_id()),
            shop_id: shop,
            customer_id: customer,
            channel: Channel::Web,
            status: ConversationStatus::Queued,
            assigned_agent: None,
            skill_group: None,
            priority: 0,
            tags: vec![],
            csat: None,
            last_seq: 0,
            waiting_since: None,
            created_at: T0,
            updated_at: T0,
            closed_at: None,
        })
        .await
        .expect("open conversation")
}

fn text(conv: ConversationId, sender: Sender, body: &str, client: Option<&str>, at: i64) -> NewMessage {
    NewMessage {
        id: MessageId::from_uuid(new_id()),
        conversation_id: conv,
        sender,
        kind: MessageKind::Text,
        text: MessageText::parse(body).expect("text"),
        client_msg_id: client.map(|c| ClientMsgId::parse(c).expect("client id")),
        at: T0.plus_millis(at),
    }
}

async fn shops_agents_and_sessions(store: &dyn Store) {
    let a = shop(store, "alpha").await;
    let b = shop(store, "beta").await;
    let dup = Shop { id: ShopId::from_uuid(new_id()), ..a.clone() };
    assert!(matches!(store.create_shop(&dup).await, Err(StoreError::Conflict("shop_slug_taken"))));
    assert_eq!(store.shops().await.expect("shops").len(), 2);
    assert_eq!(store.shop_by_slug(&a.slug).await.expect("by slug"), Some(a.clone()));
    store.set_shop_secret(b.id, &ShopSecret::new("rotated".into())).await.expect("rotate");
    assert_eq!(store.shop(b.id).await.expect("shop").map(|s| s.secret.expose().to_owned()), Some("rotated".into()));

    let group = SkillGroup { id: SkillGroupId::from_uuid(new_id()), shop_id: a.id, name: "大家电".into() };
    store.create_skill_group(&group).await.expect("group");
    assert!(matches!(
        store.create_skill_group(&SkillGroup { id: SkillGroupId::from_uuid(new_id()), ..group.clone() }).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.skill_groups(a.id).await.expect("groups"), vec![group.clone()]);

    let mut zhang = agent(store, "zhangsan", &[a.id], 5).await;
    assert!(matches!(
        store.create_agent(&Agent { id: AgentId::from_uuid(new_id()), ..zhang.clone() }).await,
        Err(StoreError::Conflict("username_taken"))
    ));
    zhang.skill_groups = vec![group.id];
    zhang.shops = vec![a.id, b.id];
    zhang.max_concurrent = 8;
    store.update_agent(&zhang).await.expect("update");
    let mut expected = zhang.clone();
    expected.shops.sort();
    let got = store.agent_by_username("ZhangSan").await.expect("by name").expect("exists");
    assert_eq!(got.skill_groups, expected.skill_groups);
    assert_eq!(got.max_concurrent, 8);
    assert_eq!(got.shops.len(), 2);
    store.set_agent_status(zhang.id, AgentStatus::Away).await.expect("status");
    assert_eq!(store.agent(zhang.id).await.expect("agent").map(|a| a.status), Some(AgentStatus::Away));
    let loads = store.agents_of_shop(b.id).await.expect("loads");
    assert_eq!(loads.len(), 1);
    assert_eq!(loads[0].open_conversations, 0);

    let session = AgentSession {
        token_hash: [7; 32],
        agent_id: zhang.id,
        csrf_token: "csrf".into(),
        created_at: T0,
        expires_at: T0.plus_days(1),
    };
    store.create_session(&session).await.expect("session");
    assert_eq!(store.session(&[7; 32], T0).await.expect("lookup"), Some(session.clone()));
    assert_eq!(store.session(&[7; 32], T0.plus_days(2)).await.expect("expired"), None);
    assert_eq!(store.session(&[8; 32], T0).await.expect("unknown"), None);
    store.delete_session(&[7; 32]).await.expect("logout");
    assert_eq!(store.session(&[7; 32], T0).await.expect("gone"), None);
}

async fn merchant_data_upserts_are_idempotent_and_ignore_stale_updates(store: &dyn Store) {
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

async fn messages_get_consecutive_seqs_and_retries_are_stored_once(store: &dyn Store) {
    let s = shop(store, "delta").await;
    let c = customer(s.id, "u1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let zhang = agent(store, "zhang", &[s.id], 5).await;
    let conv = conversation_for(store, s.id, c.id).await;
    let me = Sender::Customer(c.id);

    let first = store.append_message(text(conv.id, me, "在吗", Some("c1"), 10)).await.expect("append");
    assert_eq!(first.message.seq, 1);
    assert!(!first.duplicate);
    assert_eq!(first.conversation.waiting_since, Some(T0.plus_millis(10)));
    let retry = store.append_message(text(conv.id, me, "在吗", Some("c1"), 20)).await.expect("retry");
    assert!(retry.duplicate);
    assert_eq!(retry.message.id, first.message.id);
    let second = store.append_message(text(conv.id, me, "我的快递到哪了", Some("c2"), 30)).await.expect("append");
    assert_eq!(second.message.seq, 2);
    assert_eq!(second.conversation.waiting_since, Some(T0.plus_millis(10)), "the oldest unanswered message counts");
    let note =
        NewMessage { kind: MessageKind::Note, ..text(conv.id, Sender::Agent(zhang.id), "VIP, 小心", None, 40) };
    let note = store.append_message(note).await.expect("note");
    assert_eq!(note.conversation.waiting_since, Some(T0.plus_millis(10)), "a note is no answer");
    let reply =
        store.append_message(text(conv.id, Sender::Agent(zhang.id), "亲，在的", None, 50)).await.expect("reply");
    assert_eq!(reply.message.seq, 4);
    assert_eq!(reply.conversation.waiting_since, None);

    let stored = store.conversation(conv.id).await.expect("conv").expect("exists");
    assert_eq!(stored.last_seq, 4);
    assert_eq!(stored.waiting_since, None);
    let after = store.messages_after(conv.id, 1, 100).await.expect("after");
    assert_eq!(after.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(after[1].kind, MessageKind::Note);
    assert_eq!(after[0].client_msg_id.as_ref().map(|c| c.as_str()), Some("c2"));
    let before = store.messages_before(conv.id, 4, 2).await.expect("before");
    assert_eq!(before.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2, 3]);

    store.close_conversation(conv.id, T0.plus_millis(60)).await.expect("close");
    assert!(matches!(
        store.append_message(text(conv.id, me, "还在吗", Some("c3"), 70)).await,
        Err(StoreError::ConversationClosed)
    ));
    // A retry of an already stored message still answers after closing.
    assert!(store.append_message(text(conv.id, me, "在吗", Some("c1"), 80)).await.expect("retry").duplicate);
    assert!(matches!(
        store.append_message(text(ConversationId::from_uuid(new_id()), me, "x", None, 0)).await,
        Err(StoreError::NotFound("conversation"))
    ));
    assert_eq!(store.messages_after(conv.id, 0, 100).await.expect("all").len(), 4, "nothing half-written");
}

async fn concurrent_appends_never_share_a_seq(store: &dyn Store) {
    let s = shop(store, "epsilon").await;
    let c = customer(s.id, "u1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let conv = conversation_for(store, s.id, c.id).await;
    let store_ptr: &dyn Store = store;
    let sends = (0..100).map(|i| {
        let msg = text(conv.id, Sender::Customer(c.id), &format!("消息 {i}"), Some(&format!("m{}", i % 80)), i);
        store_ptr.append_message(msg)
    });
    let results = futures_join_all(sends).await;
    let fresh: Vec<i64> =
        results.iter().filter_map(|r| r.as_ref().ok()).filter(|a| !a.duplicate).map(|a| a.message.seq).collect();
    assert!(results.iter().all(Result::is_ok));
    let mut seqs = fresh.clone();
    seqs.sort();
    assert_eq!(seqs, (1..=80).collect::<Vec<_>>(), "80 distinct client ids, 80 messages, seqs 1..=80");
    assert_eq!(store.messages_after(conv.id, 0, 1000).await.expect("all").len(), 80);
}

/// Polls all futures concurrently on this task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(|o| o.expect("invariant: every future completed")).collect()
}

async fn assignment_respects_capacity_and_state(store: &dyn Store) {
    let s = shop(store, "zeta").await;
    let a = agent(store, "agent-a", &[s.id], 1).await;
    let b = agent(store, "agent-b", &[s.id], 2).await;
    let c1 = customer(s.id, "u1");
    let c2 = customer(s.id, "u2");
    store.upsert_customers(&[c1.clone(), c2.clone()]).await.expect("customers");
    let conv1 = conversation_for(store, s.id, c1.id).await;
    let conv2 = conversation_for(store, s.id, c2.id).await;

    let assigned = store.assign_conversation(conv1.id, a.id, a.max_concurrent, T0).await.expect("assign");
    assert_eq!(assigned.status, ConversationStatus::Assigned);
    assert_eq!(assigned.assigned_agent, Some(a.id));
    // Idempotent for the same agent, refused for another.
    assert!(store.assign_conversation(conv1.id, a.id, a.max_concurrent, T0).await.is_ok());
    assert!(matches!(
        store.assign_conversation(conv1.id, b.id, 2, T0).await,
        Err(StoreError::Conflict("already_assigned"))
    ));
    assert!(matches!(
        store.assign_conversation(conv2.id, a.id, a.max_concurrent, T0).await,
        Err(StoreError::CapacityReached)
    ));
    assert!(matches!(
        store.transfer_conversation(conv2.id, TransferTarget::Agent { agent: a.id, max_concurrent: 1 }, T0).await,
        Err(StoreError::CapacityReached)
    ));
    let loads = store.agents_of_shop(s.id).await.expect("loads");
    assert_eq!(loads.iter().find(|l| l.agent.id == a.id).map(|l| l.open_conversations), Some(1));

    let moved = store
        .transfer_conversation(conv1.id, TransferTarget::Agent { agent: b.id, max_concurrent: 2 }, T0)
        .await
        .expect("transfer");
    assert_eq!(moved.assigned_agent, Some(b.id));
    let group = SkillGroup { id: SkillGroupId::from_uuid(new_id()), shop_id: s.id, name: "售后".into() };
    store.create_skill_group(&group).await.expect("group");
    let queued = store.transfer_conversation(conv1.id, TransferTarget::Group(group.id), T0).await.expect("to group");
    assert_eq!(queued.status, ConversationStatus::Queued);
    assert_eq!(queued.assigned_agent, None);
    assert_eq!(queued.skill_group, Some(group.id));

    let closed = store.close_conversation(conv1.id, T0.plus_millis(5)).await.expect("close");
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert_eq!(closed.closed_at, Some(T0.plus_millis(5)));
    assert!(matches!(store.assign_conversation(conv1.id, a.id, 1, T0).await, Err(StoreError::ConversationClosed)));
    let rated = store.rate_conversation(conv1.id, 5).await.expect("rate");
    assert_eq!(rated.csat, Some(5));
    assert!(matches!(store.rate_conversation(conv1.id, 1).await, Err(StoreError::Conflict("already_rated"))));
    assert!(matches!(
        store.close_conversation(ConversationId::from_uuid(new_id()), T0).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn a_customer_has_one_open_conversation(store: &dyn Store) {
    let s = shop(store, "eta").await;
    let c = customer(s.id, "u1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let first = conversation_for(store, s.id, c.id).await;
    let second = conversation_for(store, s.id, c.id).await;
    assert_eq!(first.id, second.id);
    assert_eq!(store.open_conversation_of_customer(c.id).await.expect("open").map(|c| c.id), Some(first.id));
    store.close_conversation(first.id, T0).await.expect("close");
    assert_eq!(store.open_conversation_of_customer(c.id).await.expect("none open"), None);
    let third = conversation_for(store, s.id, c.id).await;
    assert_ne!(third.id, first.id);
}

async fn conversation_list_filters_searches_and_sorts_by_longest_wait(store: &dyn Store) {
    let s = shop(store, "theta").await;
    let other = shop(store, "iota").await;
    let mut li = customer(s.id, "li");
    li.nickname = "李四".into();
    li.phone = Some(MaskedPhone::parse("13900001234").expect("phone"));
    let mut wang = customer(s.id, "wang");
    wang.nickname = "王五".into();
    let stranger = customer(other.id, "x");
    store.upsert_customers(&[li.clone(), wang.clone(), stranger.clone()]).await.expect("customers");
    let order = Order {
        id: OrderId::from_uuid(new_id()),
        shop_id: s.id,
        order_no: OrderNo::parse("8812").expect("no"),
        customer_id: wang.id,
        status: OrderStatus::Paid,
        items: vec![],
        total: Fen(100),
        province: String::new(),
        city: String::new(),
        address: String::new(),
        created_at: T0,
        paid_at: None,
        shipped_at: None,
        delivered_at: None,
        completed_at: None,
        cancelled_at: None,
        updated_at: T0,
    };
    store.upsert_orders(&[order]).await.expect("order");
    let c_li = conversation_for(store, s.id, li.id).await;
    let c_wang = conversation_for(store, s.id, wang.id).await;
    let c_other = conversation_for(store, other.id, stranger.id).await;
    // 王五 has waited longer than 李四.
    store.append_message(text(c_wang.id, Sender::Customer(wang.id), "发货了吗", None, 100)).await.expect("m");
    store.append_message(text(c_li.id, Sender::Customer(li.id), "在吗", None, 200)).await.expect("m");
    store.append_message(text(c_other.id, Sender::Customer(stranger.id), "hello", None, 50)).await.expect("m");

    let all = |search: Option<&str>| ConversationFilter {
        shops: vec![s.id],
        statuses: vec![ConversationStatus::Queued],
        search: search.map(str::to_owned),
        limit: 50,
        ..Default::default()
    };
    let list = store.conversations(&all(None)).await.expect("list");
    assert_eq!(list.iter().map(|o| o.customer.nickname.as_str()).collect::<Vec<_>>(), vec!["王五", "李四"]);
    assert_eq!(list[0].last_message.as_ref().map(|m| m.text.as_str()), Some("发货了吗"));
    assert_eq!(store.conversations(&all(Some("李"))).await.expect("by name").len(), 1);
    assert_eq!(store.conversations(&all(Some("1234"))).await.expect("by phone")[0].customer.id, li.id);
    assert_eq!(store.conversations(&all(Some("8812"))).await.expect("by order")[0].customer.id, wang.id);
    assert_eq!(store.conversations(&all(Some("%"))).await.expect("wildcard is literal").len(), 2);
    let none = ConversationFilter { shops: vec![], limit: 10, ..Default::default() };
    assert!(store.conversations(&none).await.expect("no shops").is_empty());
    let mine = ConversationFilter { shops: vec![s.id], customer: Some(li.id), limit: 10, ..Default::default() };
    assert_eq!(store.conversations(&mine).await.expect("by customer").len(), 1);
}

async fn closed_and_open_lists_are_separate_and_closed_is_newest_first(store: &dyn Store) {
    let s = shop(store, "kappa").await;
    let people: Vec<Customer> = ["a", "b", "c"].iter().map(|n| customer(s.id, n)).collect();
    store.upsert_customers(&people).await.expect("customers");
    let mut ids = Vec::new();
    for p in &people {
        ids.push(conversation_for(store, s.id, p.id).await.id);
    }
    // b closes first, then a; c stays open.
    store.close_conversation(ids[1], Timestamp(T0.0 + 1_000)).await.expect("close b");
    store.close_conversation(ids[0], Timestamp(T0.0 + 2_000)).await.expect("close a");
    let list = |statuses: Vec<ConversationStatus>| ConversationFilter {
        shops: vec![s.id],
        statuses,
        limit: 10,
        ..Default::default()
    };
    let closed = store.conversations(&list(vec![ConversationStatus::Closed])).await.expect("closed");
    assert_eq!(closed.iter().map(|o| o.conversation.id).collect::<Vec<_>>(), vec![ids[0], ids[1]]);
    let open = store
        .conversations(&list(vec![ConversationStatus::Bot, ConversationStatus::Queued, ConversationStatus::Assigned]))
        .await
        .expect("open");
    assert_eq!(open.iter().map(|o| o.conversation.id).collect::<Vec<_>>(), vec![ids[2]]);
    let everything = store.conversations(&list(vec![])).await.expect("all");
    assert_eq!(everything.len(), 3);
}

async fn server_key_is_created_once(store: &dyn Store) {
    let first = store.server_key("k1").await.expect("key");
    let second = store.server_key("k2").await.expect("key");
    assert_eq!(first, "k1");
    assert_eq!(second, "k1");
}

fn order_in(shop: ShopId, customer: CustomerId, no: &str, status: OrderStatus) -> Order {
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

async fn orders_come_with_their_shipments(store: &dyn Store) {
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
                description: format!("第{e}站"),
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
    assert_eq!(store.bot_context(conv, c.id, 10).await.expect("context"), (None, got.clone()));
    assert_eq!(store.bot_context(conv, c.id, 2).await.expect("limited").1, got[..2]);
}

fn bot_turn(
    conv: &Conversation,
    replies: &[&str],
    changes: Vec<OrderChange>,
    handoff: Option<i32>,
    at: i64,
) -> BotTurnWrite {
    BotTurnWrite {
        conversation: conv.id,
        shop: conv.shop_id,
        state: format!("state@{at}"),
        messages: replies.iter().map(|r| text(conv.id, Sender::Bot, r, None, at)).collect(),
        audit: BotAudit {
            intent: "cancel_order".into(),
            confidence: 0.9,
            emotion: "calm".into(),
            order_no: None,
            outcome: format!("outcome@{at}"),
        },
        requests: vec![],
        order_changes: changes,
        handoff_priority: handoff,
        at: T0.plus_millis(at),
    }
}

/// Closes `queued` and opens the shopper's next conversation with the bot.
async fn bot_conversation_after(store: &dyn Store, queued: &Conversation) -> Conversation {
    store.close_conversation(queued.id, T0).await.expect("close");
    store
        .open_conversation(&Conversation {
            id: ConversationId::from_uuid(new_id()),
            status: ConversationStatus::Bot,
            ..queued.clone()
        })
        .await
        .expect("bot conversation")
}

async fn a_shoppers_message_and_the_bots_answer_share_one_commit(store: &dyn Store) {
    let s = shop(store, "said-shop").await;
    let c = customer(s.id, "s1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let shipped = order_in(s.id, c.id, "91000001", OrderStatus::Shipped);
    store.upsert_orders(std::slice::from_ref(&shipped)).await.expect("orders");
    let queued = conversation_for(store, s.id, c.id).await;
    let conv = bot_conversation_after(store, &queued).await;
    let shopper = Sender::Customer(c.id);

    // The message, then the turn's replies after it, all in one go.
    let both = store
        .append_with_bot_turn(
            text(conv.id, shopper, "在吗", Some("c-1"), 10),
            bot_turn(&conv, &["在的", "请说"], vec![], None, 10),
        )
        .await
        .expect("both");
    assert!(!both.said.duplicate);
    assert_eq!(both.said.message.seq, 1);
    let turn = both.turn.expect("turn written");
    assert_eq!(turn.appended.iter().map(|a| a.message.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(turn.conversation.last_seq, 3);
    assert_eq!(store.bot_state(conv.id).await.expect("state").as_deref(), Some("state@10"));
    let (state, orders) = store.bot_context(conv.id, c.id, 5).await.expect("context");
    assert_eq!((state.as_deref(), orders.len()), (Some("state@10"), 1));

    // A retry of the same message is stored once and answered once.
    let retry = store
        .append_with_bot_turn(
            text(conv.id, shopper, "在吗", Some("c-1"), 11),
            bot_turn(&conv, &["又答"], vec![], None, 11),
        )
        .await
        .expect("retry");
    assert!(retry.said.duplicate);
    assert_eq!(retry.said.message.seq, 1);
    assert!(matches!(retry.turn, Err(StoreError::Conflict("duplicate"))), "{:?}", retry.turn);
    assert_eq!(store.bot_state(conv.id).await.expect("state").as_deref(), Some("state@10"));

    // A refused turn is rolled back alone: the shopper's message stays.
    let cancel = vec![OrderChange::Cancel { order: shipped.id }];
    let refused = store
        .append_with_bot_turn(
            text(conv.id, shopper, "取消", Some("c-2"), 20),
            bot_turn(&conv, &["不会出现"], cancel, None, 20),
        )
        .await
        .expect("message kept");
    assert_eq!(refused.said.message.seq, 4);
    assert!(matches!(refused.turn, Err(StoreError::Conflict("order_state"))), "{:?}", refused.turn);
    let stored = store.messages_after(conv.id, 0, 100).await.expect("messages");
    assert_eq!(stored.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["在吗", "在的", "请说", "取消"]);
    assert_eq!(store.bot_state(conv.id).await.expect("state").as_deref(), Some("state@10"));
    assert_eq!(store.order(shipped.id).await.expect("order").map(|o| o.status), Some(OrderStatus::Shipped));
    assert_eq!(store.bot_audit(s.id, T0, 100).await.expect("audit").len(), 1);

    // Handed to people: the message is written, the bot's turn is not.
    store.apply_bot_turn(bot_turn(&conv, &["转人工"], vec![], Some(1), 30)).await.expect("handoff");
    let late = store
        .append_with_bot_turn(
            text(conv.id, shopper, "人呢", Some("c-3"), 40),
            bot_turn(&conv, &["x"], vec![], None, 40),
        )
        .await
        .expect("message kept");
    assert!(matches!(late.turn, Err(StoreError::Conflict("not_bot"))), "{:?}", late.turn);
    assert_eq!(late.said.conversation.status, ConversationStatus::Queued);
    assert_eq!(store.conversation(conv.id).await.expect("conv").map(|c| c.last_seq), Some(late.said.message.seq));

    // A closed conversation refuses both, as a plain append does.
    store.close_conversation(conv.id, T0.plus_millis(50)).await.expect("close");
    let closed = store
        .append_with_bot_turn(text(conv.id, shopper, "喂", Some("c-4"), 60), bot_turn(&conv, &["x"], vec![], None, 60))
        .await;
    assert!(matches!(closed, Err(StoreError::ConversationClosed)), "{closed:?}");
}

async fn a_bot_turn_is_written_whole_or_not_at_all(store: &dyn Store) {
    let s = shop(store, "bot-shop").await;
    let c = customer(s.id, "b1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let paid = order_in(s.id, c.id, "90000001", OrderStatus::Paid);
    let shipped = order_in(s.id, c.id, "90000002", OrderStatus::Shipped);
    store.upsert_orders(&[paid.clone(), shipped.clone()]).await.expect("orders");
    let queued = conversation_for(store, s.id, c.id).await;
    // Only a conversation the bot holds takes bot turns.
    let refused = store.apply_bot_turn(bot_turn(&queued, &["hi"], vec![], None, 1)).await;
    assert!(matches!(refused, Err(StoreError::Conflict("not_bot"))), "{refused:?}");
    let conv = bot_conversation_after(store, &queued).await;
    assert_eq!(conv.status, ConversationStatus::Bot);

    // A turn: two replies, a cancellation, a request, memory and an audit line.
    let mut turn = bot_turn(&conv, &["好的", "已取消"], vec![OrderChange::Cancel { order: paid.id }], None, 10);
    turn.requests.push(OrderRequest {
        id: new_id(),
        order: paid.id,
        kind: RequestKind::Cancel,
        detail: "客户取消".into(),
        needs_review: false,
    });
    let written = store.apply_bot_turn(turn).await.expect("turn");
    assert_eq!(written.appended.iter().map(|a| a.message.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(written.conversation.last_seq, 2);
    assert_eq!(store.bot_state(conv.id).await.expect("state").as_deref(), Some("state@10"));
    assert_eq!(store.order(paid.id).await.expect("order").map(|o| o.status), Some(OrderStatus::Cancelled));

    // Cancelling a shipped order fails the whole turn: no message, no memory, no audit.
    let failed = store
        .apply_bot_turn(bot_turn(&conv, &["不会出现"], vec![OrderChange::Cancel { order: shipped.id }], None, 20))
        .await;
    assert!(matches!(failed, Err(StoreError::Conflict("order_state"))), "{failed:?}");
    assert_eq!(store.conversation(conv.id).await.expect("conv").map(|c| c.last_seq), Some(2));
    assert_eq!(store.bot_state(conv.id).await.expect("state").as_deref(), Some("state@10"));
    assert_eq!(store.bot_audit(s.id, T0, 100).await.expect("audit").len(), 1);
    assert_eq!(store.order(shipped.id).await.expect("order").map(|o| o.status), Some(OrderStatus::Shipped));
    // An address change is refused after shipment too.
    let moved =
        OrderChange::Address {
            order: shipped.id, province: "上海".into(), city: "上海".into(), address: "x".into()
        };
    assert!(store.apply_bot_turn(bot_turn(&conv, &["x"], vec![moved], None, 25)).await.is_err());

    // A hand-off moves it to the queue with a higher priority; the bot is then done.
    let handed = store.apply_bot_turn(bot_turn(&conv, &["转人工"], vec![], Some(2), 30)).await.expect("handoff");
    assert_eq!(handed.conversation.status, ConversationStatus::Queued);
    assert_eq!(handed.conversation.priority, conv.priority + 2);
    let after = store.apply_bot_turn(bot_turn(&conv, &["还在吗"], vec![], None, 40)).await;
    assert!(matches!(after, Err(StoreError::Conflict("not_bot"))), "{after:?}");
    let audit = store.bot_audit(s.id, T0, 100).await.expect("audit");
    assert_eq!(audit.iter().map(|a| a.audit.outcome.as_str()).collect::<Vec<_>>(), ["outcome@10", "outcome@30"]);
    assert!(audit.iter().all(|a| a.customer == conv.customer_id), "each row names its conversation's shopper");

    // Quiet bot conversations are closed; busy ones and people's queues are not.
    let c2 = customer(s.id, "b2");
    let c3 = customer(s.id, "b3");
    store.upsert_customers(&[c2.clone(), c3.clone()]).await.expect("customers");
    let quiet = store
        .open_conversation(&Conversation {
            id: ConversationId::from_uuid(new_id()),
            customer_id: c2.id,
            ..conv.clone()
        })
        .await
        .expect("quiet");
    let busy = store
        .open_conversation(&Conversation {
            id: ConversationId::from_uuid(new_id()),
            customer_id: c3.id,
            updated_at: T0.plus_days(1),
            ..conv.clone()
        })
        .await
        .expect("busy");
    let closed = store.close_idle_bot_conversations(T0.plus_millis(1000), T0.plus_days(2), 100).await.expect("sweep");
    assert_eq!(closed.iter().map(|c| c.id).collect::<Vec<_>>(), [quiet.id]);
    assert_eq!(closed[0].status, ConversationStatus::Closed);
    assert_eq!(store.conversation(busy.id).await.expect("busy").map(|c| c.status), Some(ConversationStatus::Bot));
    assert_eq!(store.conversation(conv.id).await.expect("queued").map(|c| c.status), Some(ConversationStatus::Queued));
}

fn knowledge(shop: ShopId, question: &str, at: i64) -> KnowledgeEntry {
    KnowledgeEntry {
        id: KnowledgeId::from_uuid(new_id()),
        shop_id: shop,
        question: question.into(),
        alternates: vec!["默认发什么快递".into(), "走哪家快递".into()],
        answer: "默认顺丰，偏远地区为邮政。\n可备注指定。".into(),
        category: Some(CategoryPath::parse("家用电器/冰箱").expect("path")),
        enabled: true,
        updated_at: Timestamp(at),
    }
}

async fn knowledge_entries_belong_to_one_shop(store: &dyn Store) {
    let a = shop(store, "kb-a").await;
    let b = shop(store, "kb-b").await;
    let mut first = knowledge(a.id, "发什么快递", 1_000);
    store.put_knowledge(&first).await.expect("insert");
    store.put_knowledge(&knowledge(a.id, "支持七天无理由吗", 2_000)).await.expect("insert");
    let listed = store.knowledge(a.id, 100).await.expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], first, "every field round-trips, line breaks in the answer included");
    assert!(store.knowledge(b.id, 100).await.expect("list").is_empty());

    first.answer = "默认京东物流".into();
    first.alternates.clear();
    first.category = None;
    first.enabled = false;
    first.updated_at = Timestamp(3_000);
    store.put_knowledge(&first).await.expect("update");
    let listed = store.knowledge(a.id, 100).await.expect("list");
    assert_eq!(listed.last(), Some(&first));

    // Another shop cannot overwrite or delete a's entry by its id.
    let mut stolen = first.clone();
    stolen.shop_id = b.id;
    stolen.answer = "hijacked".into();
    assert!(matches!(store.put_knowledge(&stolen).await, Err(StoreError::NotFound("knowledge entry"))));
    assert!(matches!(store.delete_knowledge(b.id, first.id).await, Err(StoreError::NotFound("knowledge entry"))));
    assert_eq!(store.knowledge(a.id, 100).await.expect("list").last().map(|e| e.answer.as_str()), Some("默认京东物流"));

    // Many at once: all or none (the second names shop a's entry from shop b).
    let fresh = knowledge(b.id, "可以开专票吗", 4_000);
    assert!(store.put_knowledge_many(&[fresh.clone(), stolen.clone()]).await.is_err());
    assert!(store.knowledge(b.id, 100).await.expect("list").is_empty(), "nothing of a refused batch is written");
    store.put_knowledge_many(std::slice::from_ref(&fresh)).await.expect("batch");
    assert_eq!(store.knowledge(b.id, 100).await.expect("list"), [fresh]);

    store.delete_knowledge(a.id, first.id).await.expect("delete");
    assert!(matches!(store.delete_knowledge(a.id, first.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.knowledge(a.id, 100).await.expect("list").len(), 1);
}

async fn a_shops_rules_are_stored_replaced_and_removed(store: &dyn Store) {
    let a = shop(store, "rules-a").await;
    let b = shop(store, "rules-b").await;
    assert_eq!(store.shop_rules(a.id).await.expect("read"), None);
    let save =
        |text: &str, at: i64, by: &str| RulesChange { text: Some(text.into()), at: Timestamp(at), by: by.into() };
    let first = save("[handoff]\nmisunderstandings = 1\n", 1_000, "supervisor");
    store.put_shop_rules(a.id, &first).await.expect("put");
    let stored = |text: &str, at: i64, by: &str| StoredRules {
        text: text.into(),
        updated_at: Timestamp(at),
        updated_by: by.into(),
    };
    assert_eq!(
        store.shop_rules(a.id).await.expect("read"),
        Some(stored("[handoff]\nmisunderstandings = 1\n", 1_000, "supervisor"))
    );
    let second = save("# 全部默认\n", 2_000, "admin");
    store.put_shop_rules(a.id, &second).await.expect("replace");
    assert_eq!(store.shop_rules(a.id).await.expect("read"), Some(stored("# 全部默认\n", 2_000, "admin")));
    assert_eq!(store.shop_rules(b.id).await.expect("read"), None, "another shop's rules are its own");
    let removal = RulesChange { text: None, at: Timestamp(3_000), by: "admin".into() };
    store.put_shop_rules(a.id, &removal).await.expect("remove");
    assert_eq!(store.shop_rules(a.id).await.expect("read"), None);
    let again = RulesChange { text: None, at: Timestamp(4_000), by: "admin".into() };
    store.put_shop_rules(a.id, &again).await.expect("removing nothing is fine");

    // Every change is in the history, newest first; removing nothing is not a change.
    let history = store.shop_rules_history(a.id, 10).await.expect("history");
    let changes: Vec<&RulesChange> = history.iter().map(|v| &v.change).collect();
    assert_eq!(changes, [&removal, &second, &first]);
    assert!(history.windows(2).all(|w| w[0].version > w[1].version), "{history:?}");
    assert_eq!(store.shop_rules_history(a.id, 1).await.expect("history").len(), 1);
    assert!(store.shop_rules_history(b.id, 10).await.expect("history").is_empty(), "another shop's history is its own");
}
