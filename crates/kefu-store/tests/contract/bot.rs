//! The bot's verbs, the knowledge base and a shop's rules.

use super::*;

pub(super) fn bot_turn(
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
        base_version: 0,
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
        while_queued: false,
    }
}

/// The bot memory's version now, as a turn would have read it.
pub(super) async fn memory_version(store: &dyn Store, conversation: ConversationId) -> i64 {
    store.bot_context(conversation, CustomerId::from_uuid(new_id()), 0).await.expect("memory").0.version
}

/// `Store::apply_bot_turn` of a turn decided on the memory as it is now.
pub(super) async fn apply(store: &dyn Store, mut turn: BotTurnWrite) -> StoreResult<BotTurnWritten> {
    turn.base_version = memory_version(store, turn.conversation).await;
    store.apply_bot_turn(turn).await
}

/// `Store::append_with_bot_turn` of a turn decided on the memory as it is now.
pub(super) async fn append_with(
    store: &dyn Store,
    message: NewMessage,
    mut turn: BotTurnWrite,
) -> StoreResult<SaidAndAnswered> {
    turn.base_version = memory_version(store, turn.conversation).await;
    store.append_with_bot_turn(message, turn).await
}

/// Closes `queued` and opens the shopper's next conversation with the bot.
pub(super) async fn bot_conversation_after(store: &dyn Store, queued: &Conversation) -> Conversation {
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

pub(super) async fn a_shoppers_message_and_the_bots_answer_share_one_commit(store: &dyn Store) {
    let s = shop(store, "said-shop").await;
    let c = customer(s.id, "s1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let shipped = order_in(s.id, c.id, "91000001", OrderStatus::Shipped);
    store.upsert_orders(std::slice::from_ref(&shipped)).await.expect("orders");
    let queued = conversation_for(store, s.id, c.id).await;
    let conv = bot_conversation_after(store, &queued).await;
    let shopper = Sender::Customer(c.id);

    // The message, then the turn's replies after it, all in one go.
    let both = append_with(
        store,
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
    assert_eq!((state.state.as_deref(), state.version, orders.len()), (Some("state@10"), 1, 1));

    // A retry of the same message is stored once and answered once.
    let retry = append_with(
        store,
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
    let refused = append_with(
        store,
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

    // A hand-off in the same commit: queued, priority raised, counters whole.
    let handed = append_with(
        store,
        text(conv.id, shopper, "转人工", Some("c-5"), 30),
        bot_turn(&conv, &["正在转接"], vec![], Some(1), 30),
    )
    .await
    .expect("handoff");
    let handed = handed.turn.expect("turn written");
    assert_eq!(
        (handed.conversation.status, handed.conversation.priority),
        (ConversationStatus::Queued, conv.priority + 1)
    );
    assert_eq!(handed.conversation.last_seq, 6);
    assert_eq!(store.conversation(conv.id).await.expect("conv"), Some(handed.conversation.clone()));

    // Handed to people: the message is written, the bot's turn is not.
    let late =
        append_with(store, text(conv.id, shopper, "人呢", Some("c-3"), 40), bot_turn(&conv, &["x"], vec![], None, 40))
            .await
            .expect("message kept");
    assert!(matches!(late.turn, Err(StoreError::Conflict("not_bot"))), "{:?}", late.turn);
    assert_eq!(late.said.conversation.status, ConversationStatus::Queued);
    assert_eq!(store.conversation(conv.id).await.expect("conv").map(|c| c.last_seq), Some(late.said.message.seq));

    // A closed conversation refuses both, as a plain append does.
    store.close_conversation(conv.id, T0.plus_millis(50)).await.expect("close");
    let closed =
        append_with(store, text(conv.id, shopper, "喂", Some("c-4"), 60), bot_turn(&conv, &["x"], vec![], None, 60))
            .await;
    assert!(matches!(closed, Err(StoreError::ConversationClosed)), "{closed:?}");
}

pub(super) async fn a_bot_turn_is_written_whole_or_not_at_all(store: &dyn Store) {
    let s = shop(store, "bot-shop").await;
    let c = customer(s.id, "b1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let paid = order_in(s.id, c.id, "90000001", OrderStatus::Paid);
    let shipped = order_in(s.id, c.id, "90000002", OrderStatus::Shipped);
    store.upsert_orders(&[paid.clone(), shipped.clone()]).await.expect("orders");
    let queued = conversation_for(store, s.id, c.id).await;
    // Only a conversation the bot holds takes bot turns.
    let refused = apply(store, bot_turn(&queued, &["hi"], vec![], None, 1)).await;
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
    let written = apply(store, turn).await.expect("turn");
    assert_eq!(written.appended.iter().map(|a| a.message.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(written.conversation.last_seq, 2);
    assert_eq!(store.bot_state(conv.id).await.expect("state").as_deref(), Some("state@10"));
    assert_eq!(store.order(paid.id).await.expect("order").map(|o| o.status), Some(OrderStatus::Cancelled));

    // Cancelling a shipped order fails the whole turn: no message, no memory, no audit.
    let failed =
        apply(store, bot_turn(&conv, &["不会出现"], vec![OrderChange::Cancel { order: shipped.id }], None, 20)).await;
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
    assert!(apply(store, bot_turn(&conv, &["x"], vec![moved], None, 25)).await.is_err());

    // A hand-off moves it to the queue with a higher priority; the bot is then done.
    let handed = apply(store, bot_turn(&conv, &["转人工"], vec![], Some(2), 30)).await.expect("handoff");
    assert_eq!(handed.conversation.status, ConversationStatus::Queued);
    assert_eq!(handed.conversation.priority, conv.priority + 2);
    let after = apply(store, bot_turn(&conv, &["还在吗"], vec![], None, 40)).await;
    assert!(matches!(after, Err(StoreError::Conflict("not_bot"))), "{after:?}");
    let audit = store.bot_audit(s.id, T0, 100).await.expect("audit");
    assert_eq!(audit.iter().map(|a| a.audit.outcome.as_str()).collect::<Vec<_>>(), ["outcome@10", "outcome@30"]);
    assert!(audit.iter().all(|a| a.customer == conv.customer_id), "each row names its conversation's shopper");

    // Waiting for people, the bot may still answer (where is my parcel), and
    // only answer: the conversation stays queued, the shopper still waiting.
    let mut answer = bot_turn(&conv, &["您的包裹已到杭州"], vec![], None, 35);
    answer.while_queued = true;
    let answered = apply(store, answer).await.expect("an answer while queued");
    assert_eq!(answered.conversation.status, ConversationStatus::Queued);
    assert_eq!(answered.conversation.waiting_since, handed.conversation.waiting_since, "a bot's answer is no agent's");
    assert_eq!(answered.conversation.priority, handed.conversation.priority);
    let mut more = bot_turn(&conv, &["转人工"], vec![], Some(1), 36);
    more.while_queued = true;
    assert!(matches!(apply(store, more).await, Err(StoreError::Conflict("not_bot"))), "no hand-off from the queue");
    let mut acting = bot_turn(&conv, &["已改地址"], vec![], None, 37);
    acting.while_queued = true;
    acting.order_changes.push(OrderChange::Address {
        order: shipped.id,
        province: "上海".into(),
        city: "上海".into(),
        address: "x".into(),
    });
    assert!(matches!(apply(store, acting).await, Err(StoreError::Conflict("not_bot"))), "no order change either");
    let taker = agent(store, "bot-taker", &[s.id], 5).await;
    store.assign_conversation(conv.id, taker.id, 5, T0.plus_millis(38), None).await.expect("taken");
    let mut late = bot_turn(&conv, &["您的包裹已到杭州"], vec![], None, 39);
    late.while_queued = true;
    assert!(matches!(apply(store, late).await, Err(StoreError::Conflict("not_bot"))), "people have it now");
    let outcomes = store.bot_audit(s.id, T0, 100).await.expect("audit").len();
    assert_eq!(outcomes, 3, "the answer while queued is audited; the refused turns are not");

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
    assert_eq!(store.conversation(conv.id).await.expect("taken").map(|c| c.status), Some(ConversationStatus::Assigned));
}

pub(super) fn knowledge(shop: ShopId, question: &str, at: i64) -> KnowledgeEntry {
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

pub(super) async fn knowledge_entries_belong_to_one_shop(store: &dyn Store) {
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

pub(super) async fn a_shops_rules_are_stored_replaced_and_removed(store: &dyn Store) {
    let a = shop(store, "rules-a").await;
    let b = shop(store, "rules-b").await;
    let state = |stored: Option<StoredRules>, version: i64| ShopRulesState { stored, version };
    assert_eq!(store.shop_rules(a.id).await.expect("read"), state(None, 0));
    let save =
        |text: &str, at: i64, by: &str| RulesChange { text: Some(text.into()), at: Timestamp(at), by: by.into() };
    let first = save("[handoff]\nmisunderstandings = 1\n", 1_000, "supervisor");
    let v1 = store.put_shop_rules(a.id, &first, Some(0)).await.expect("put");
    assert!(v1 > 0);
    let stored = |text: &str, at: i64, by: &str| StoredRules {
        text: text.into(),
        updated_at: Timestamp(at),
        updated_by: by.into(),
    };
    assert_eq!(
        store.shop_rules(a.id).await.expect("read"),
        state(Some(stored("[handoff]\nmisunderstandings = 1\n", 1_000, "supervisor")), v1)
    );
    let second = save("# 全部默认\n", 2_000, "admin");
    let v2 = store.put_shop_rules(a.id, &second, None).await.expect("replace without a base");
    assert!(v2 > v1);
    assert_eq!(store.shop_rules(a.id).await.expect("read"), state(Some(stored("# 全部默认\n", 2_000, "admin")), v2));
    assert_eq!(store.shop_rules(b.id).await.expect("read"), state(None, 0), "another shop's rules are its own");

    // Someone who edited from the first version has not seen the second:
    // their save and their removal are refused and change nothing.
    let stale = save("[handoff]\nmisunderstandings = 3\n", 2_500, "supervisor");
    assert!(matches!(store.put_shop_rules(a.id, &stale, Some(v1)).await, Err(StoreError::Conflict("rules_changed"))));
    let stale_removal = RulesChange { text: None, at: Timestamp(2_600), by: "supervisor".into() };
    assert!(matches!(
        store.put_shop_rules(a.id, &stale_removal, Some(v1)).await,
        Err(StoreError::Conflict("rules_changed"))
    ));
    assert_eq!(store.shop_rules(a.id).await.expect("read"), state(Some(stored("# 全部默认\n", 2_000, "admin")), v2));
    // Another shop's versions are not this shop's.
    assert!(matches!(store.put_shop_rules(b.id, &stale, Some(v2)).await, Err(StoreError::Conflict("rules_changed"))));

    // Editors save from the same version at once: one wins, the others are told.
    let editors: Vec<RulesChange> = (0..8).map(|i| save(&format!("# editor {i}\n"), 2_700, &format!("e{i}"))).collect();
    let results = futures_util::future::join_all(editors.iter().map(|e| store.put_shop_rules(a.id, e, Some(v2)))).await;
    let won: Vec<(usize, i64)> =
        results.iter().enumerate().filter_map(|(i, r)| r.as_ref().ok().map(|v| (i, *v))).collect();
    let [(winner, won)] = won[..] else { panic!("exactly one of the saves from one version wins: {results:?}") };
    let winner = &editors[winner];
    assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(StoreError::Conflict("rules_changed")))), "{results:?}");
    assert!(won > v2);

    let removal = RulesChange { text: None, at: Timestamp(3_000), by: "admin".into() };
    assert!(matches!(store.put_shop_rules(a.id, &removal, Some(v2)).await, Err(StoreError::Conflict("rules_changed"))));
    let v3 = store.put_shop_rules(a.id, &removal, Some(won)).await.expect("remove");
    assert_eq!(store.shop_rules(a.id).await.expect("read"), state(None, v3));
    let again = RulesChange { text: None, at: Timestamp(4_000), by: "admin".into() };
    assert_eq!(store.put_shop_rules(a.id, &again, Some(v3)).await.expect("removing nothing is fine"), v3);

    // Every change is in the history, newest first; removing nothing and refused changes are not changes.
    let history = store.shop_rules_history(a.id, 10).await.expect("history");
    let changes: Vec<&RulesChange> = history.iter().map(|v| &v.change).collect();
    assert_eq!(changes, [&removal, winner, &second, &first]);
    let versions: Vec<i64> = history.iter().map(|v| v.version).collect();
    assert_eq!(versions, [v3, won, v2, v1]);
    assert_eq!(store.shop_rules_history(a.id, 1).await.expect("history").len(), 1);
    assert!(store.shop_rules_history(b.id, 10).await.expect("history").is_empty(), "another shop's history is its own");
}

pub(super) async fn a_bot_turn_decided_on_older_memory_is_refused(store: &dyn Store) {
    let s = shop(store, "stale-shop").await;
    let c = customer(s.id, "t1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let queued = conversation_for(store, s.id, c.id).await;
    let conv = bot_conversation_after(store, &queued).await;
    let shopper = Sender::Customer(c.id);

    // Two nodes read the memory at version 0; the first to write wins.
    let first = bot_turn(&conv, &["第一"], vec![], None, 10);
    let second = bot_turn(&conv, &["第二"], vec![], None, 11);
    store.apply_bot_turn(first).await.expect("first");
    let late = store.apply_bot_turn(second.clone()).await;
    assert!(matches!(late, Err(StoreError::Conflict("stale_turn"))), "{late:?}");
    let (memory, _) = store.bot_context(conv.id, c.id, 0).await.expect("memory");
    assert_eq!((memory.state.as_deref(), memory.version), (Some("state@10"), 1));
    assert_eq!(store.conversation(conv.id).await.expect("conv").map(|c| c.last_seq), Some(1));

    // With the shopper's message: the message stays, the stale turn does not.
    let said = store
        .append_with_bot_turn(text(conv.id, shopper, "在吗", Some("t-1"), 20), second)
        .await
        .expect("message kept");
    assert!(matches!(said.turn, Err(StoreError::Conflict("stale_turn"))), "{:?}", said.turn);
    assert_eq!(said.said.message.seq, 2);
    let stored = store.messages_after(conv.id, 0, 10).await.expect("messages");
    assert_eq!(stored.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["第一", "在吗"]);
    assert_eq!(store.bot_audit(s.id, T0, 10).await.expect("audit").len(), 1);

    // Decided again on version 1, it is written and the version moves on.
    let again = append_with(
        store,
        text(conv.id, shopper, "在吗", Some("t-2"), 30),
        bot_turn(&conv, &["在的"], vec![], None, 30),
    )
    .await
    .expect("again");
    assert_eq!(again.turn.expect("written").appended[0].message.seq, 4);
    assert_eq!(memory_version(store, conv.id).await, 2);
}

/// Copies of one shopper message racing through the bot: one is answered,
/// the others are told it was a duplicate and get the stored message.
pub(super) async fn racing_resends_to_the_bot_are_answered_once(store: &dyn Store) {
    let s = shop(store, "race-shop").await;
    let c = customer(s.id, "r1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let queued = conversation_for(store, s.id, c.id).await;
    let conv = bot_conversation_after(store, &queued).await;
    let sends = (0..6).map(|i| {
        store.append_with_bot_turn(
            text(conv.id, Sender::Customer(c.id), "我的快递到哪了", Some("r-1"), 10 + i),
            bot_turn(&conv, &["您的包裹在路上"], vec![], None, 10 + i),
        )
    });
    let results: Vec<SaidAndAnswered> =
        super::desk::futures_join_all(sends).await.into_iter().map(|r| r.expect("every copy is answered")).collect();
    assert_eq!(results.iter().filter(|r| r.turn.is_ok()).count(), 1, "one copy answered");
    for r in results.iter().filter(|r| r.turn.is_err()) {
        assert!(matches!(r.turn, Err(StoreError::Conflict("duplicate"))), "{:?}", r.turn);
        assert!(r.said.duplicate);
    }
    assert!(results.iter().all(|r| r.said.message == results[0].said.message));
    let stored = store.messages_after(conv.id, 0, 10).await.expect("messages");
    assert_eq!(stored.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["我的快递到哪了", "您的包裹在路上"]);
    assert_eq!(memory_version(store, conv.id).await, 1);
}
