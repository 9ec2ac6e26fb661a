//! Shops, agents, sessions, messages and the conversation lists.

use super::*;

pub(super) async fn shops_agents_and_sessions(store: &dyn Store) {
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

pub(super) async fn messages_get_consecutive_seqs_and_retries_are_stored_once(store: &dyn Store) {
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

pub(super) async fn concurrent_appends_never_share_a_seq(store: &dyn Store) {
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

/// A shopper's widget resending on a flaky network can race its own first
/// send: every copy is answered with the one stored message.
pub(super) async fn racing_resends_of_one_message_store_it_once(store: &dyn Store) {
    let s = shop(store, "eta").await;
    let c = customer(s.id, "u1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let conv = conversation_for(store, s.id, c.id).await;
    for round in 0..5 {
        let id = format!("resend-{round}");
        let sends = (0..8).map(|i| store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", Some(&id), i)));
        let results: Vec<Appended> =
            futures_join_all(sends).await.into_iter().map(|r| r.expect("every copy is answered")).collect();
        assert_eq!(results.iter().filter(|a| !a.duplicate).count(), 1, "round {round}: one copy stored");
        assert!(
            results.iter().all(|a| a.message == results[0].message),
            "round {round}: every copy gets the stored one"
        );
    }
    assert_eq!(store.messages_after(conv.id, 0, 100).await.expect("all").len(), 5);
}

/// Polls all futures concurrently on this task (no extra dependency).
pub(super) async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
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

pub(super) async fn assignment_respects_capacity_and_state(store: &dyn Store) {
    let s = shop(store, "zeta").await;
    let a = agent(store, "agent-a", &[s.id], 1).await;
    let b = agent(store, "agent-b", &[s.id], 2).await;
    let c1 = customer(s.id, "u1");
    let c2 = customer(s.id, "u2");
    store.upsert_customers(&[c1.clone(), c2.clone()]).await.expect("customers");
    let conv1 = conversation_for(store, s.id, c1.id).await;
    let conv2 = conversation_for(store, s.id, c2.id).await;

    let assigned = store.assign_conversation(conv1.id, a.id, a.max_concurrent, T0, None).await.expect("assign");
    assert_eq!(assigned.status, ConversationStatus::Assigned);
    assert_eq!(assigned.assigned_agent, Some(a.id));
    // Idempotent for the same agent, refused for another.
    assert!(store.assign_conversation(conv1.id, a.id, a.max_concurrent, T0, None).await.is_ok());
    assert!(matches!(
        store.assign_conversation(conv1.id, b.id, 2, T0, None).await,
        Err(StoreError::Conflict("already_assigned"))
    ));
    assert!(matches!(
        store.assign_conversation(conv2.id, a.id, a.max_concurrent, T0, None).await,
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
    assert!(matches!(
        store.assign_conversation(conv1.id, a.id, 1, T0, None).await,
        Err(StoreError::ConversationClosed)
    ));
    let rated = store.rate_conversation(conv1.id, 5, T0).await.expect("rate");
    assert_eq!(rated.csat, Some(5));
    assert!(matches!(store.rate_conversation(conv1.id, 1, T0).await, Err(StoreError::Conflict("already_rated"))));
    assert!(matches!(
        store.close_conversation(ConversationId::from_uuid(new_id()), T0).await,
        Err(StoreError::NotFound(_))
    ));
}

pub(super) async fn a_customer_has_one_open_conversation(store: &dyn Store) {
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

pub(super) async fn conversation_list_filters_searches_and_sorts_by_longest_wait(store: &dyn Store) {
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

pub(super) async fn closed_and_open_lists_are_separate_and_closed_is_newest_first(store: &dyn Store) {
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

pub(super) async fn server_key_is_created_once(store: &dyn Store) {
    let first = store.server_key("k1").await.expect("key");
    let second = store.server_key("k2").await.expect("key");
    assert_eq!(first, "k1");
    assert_eq!(second, "k1");
}

fn phrase(shop: ShopId, code: &str, text: &str, at: i64) -> kefu_core::phrase::QuickPhrase {
    kefu_core::phrase::QuickPhrase::parse(PhraseId::from_uuid(new_id()), shop, code, text, Timestamp(at))
        .expect("phrase")
}

pub(super) async fn quick_phrases_belong_to_one_shop_with_unique_codes(store: &dyn Store) {
    let a = shop(store, "qp-a").await;
    let b = shop(store, "qp-b").await;
    let mut fh = phrase(a.id, "fh", "亲，今天16点前下单当天发货哦\n明天送达", 1_000);
    store.put_quick_phrase(&fh).await.expect("insert");
    store.put_quick_phrase(&phrase(a.id, "bye", "感谢您的光临，祝您生活愉快", 2_000)).await.expect("insert");
    let listed = store.quick_phrases(a.id).await.expect("list");
    assert_eq!(listed.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["bye", "fh"], "by code");
    assert_eq!(listed[1], fh, "every field round-trips, line breaks included");
    assert!(store.quick_phrases(b.id).await.expect("list").is_empty());

    // A code is unique within its shop only; a taken code changes nothing.
    store.put_quick_phrase(&phrase(b.id, "fh", "b 店的发货说明", 2_500)).await.expect("same code, other shop");
    let clash = phrase(a.id, "fh", "重复的编码", 3_000);
    assert!(matches!(store.put_quick_phrase(&clash).await, Err(StoreError::Conflict("phrase_code_taken"))));
    let mut renamed = store.quick_phrases(a.id).await.expect("list")[0].clone();
    renamed.code = "fh".into();
    assert!(matches!(store.put_quick_phrase(&renamed).await, Err(StoreError::Conflict("phrase_code_taken"))));
    assert_eq!(store.quick_phrases(a.id).await.expect("list").len(), 2);

    fh.text = "亲，预售商品按页面时间发货".into();
    fh.updated_at = Timestamp(4_000);
    store.put_quick_phrase(&fh).await.expect("update");
    assert_eq!(store.quick_phrases(a.id).await.expect("list")[1], fh);

    // Another shop cannot overwrite or delete a's phrase by its id.
    let mut stolen = fh.clone();
    stolen.shop_id = b.id;
    stolen.code = "steal".into();
    assert!(matches!(store.put_quick_phrase(&stolen).await, Err(StoreError::NotFound("quick phrase"))));
    assert!(matches!(store.delete_quick_phrase(b.id, fh.id).await, Err(StoreError::NotFound("quick phrase"))));
    assert_eq!(store.quick_phrases(a.id).await.expect("list")[1], fh);

    store.delete_quick_phrase(a.id, fh.id).await.expect("delete");
    assert!(matches!(store.delete_quick_phrase(a.id, fh.id).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.quick_phrases(a.id).await.expect("list").len(), 1);
}

pub(super) async fn images_round_trip_with_their_shopper(store: &dyn Store) {
    use kefu_core::attachment::{Attachment, ImageKind};
    let s = shop(store, "img-a").await;
    let c = customer(s.id, "img-1");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let bytes = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0, 1, 2, 255]].concat();
    let a = Attachment {
        id: AttachmentId::from_uuid(new_id()),
        shop_id: s.id,
        customer_id: c.id,
        uploaded_by: Sender::Customer(c.id),
        kind: ImageKind::Png,
        bytes,
        created_at: T0,
    };
    store.put_attachment(&a, None).await.expect("put");
    assert_eq!(store.attachment(a.id).await.expect("get"), Some(a.clone()), "every byte and field round-trips");
    assert_eq!(store.attachment(AttachmentId::from_uuid(new_id())).await.expect("get"), None);
    assert_eq!(store.attachment_owner(a.id).await.expect("owner"), Some((s.id, c.id)));
    assert_eq!(store.attachment_owner(AttachmentId::from_uuid(new_id())).await.expect("owner"), None);
    assert!(store.put_attachment(&a, None).await.is_err(), "an id is stored once");

    // The upload quota reads the shopper's own uploads since a time, sizes
    // without bytes; what an agent sent them does not count.
    let more = |at: i64, by: Sender, n: usize| Attachment {
        id: AttachmentId::from_uuid(new_id()),
        created_at: T0.plus_millis(at),
        uploaded_by: by,
        bytes: vec![0x89; n],
        ..a.clone()
    };
    let agent_id = AgentId::from_uuid(new_id());
    store.put_attachment(&more(10, Sender::Customer(c.id), 100), None).await.expect("put");
    store.put_attachment(&more(20, Sender::Agent(agent_id), 1_000), None).await.expect("put");
    store.put_attachment(&more(30, Sender::Customer(c.id), 2_000), None).await.expect("put");
    let since = store.uploads_by_customer(c.id, T0.plus_millis(5)).await.expect("uploads");
    assert_eq!(since, [(T0.plus_millis(10), 100), (T0.plus_millis(30), 2_000)]);
    assert_eq!(store.uploads_by_customer(c.id, T0).await.expect("uploads").len(), 3, "from `since` on, inclusive");
    let other = customer(s.id, "img-2");
    assert!(store.uploads_by_customer(other.id, T0).await.expect("uploads").is_empty());

    // Retention: the oldest go first, a batch at a time; newer ones stay.
    assert_eq!(store.delete_attachments_before(T0.plus_millis(25), 1).await.expect("delete"), 1);
    assert_eq!(store.attachment(a.id).await.expect("get"), None, "the oldest (T0) went first");
    assert_eq!(store.delete_attachments_before(T0.plus_millis(25), 10).await.expect("delete"), 2);
    assert_eq!(store.delete_attachments_before(T0.plus_millis(25), 10).await.expect("delete"), 0);
    assert_eq!(store.uploads_by_customer(c.id, T0).await.expect("uploads"), [(T0.plus_millis(30), 2_000)]);
}

/// A shop's shoppers' uploads of a day add up to its budget at most: the
/// upload past it is refused and nothing of it is stored; the next day and
/// another shop have their own.
pub(super) async fn a_shops_daily_upload_budget_is_counted_with_each_image(store: &dyn Store) {
    use kefu_core::attachment::{Attachment, ImageKind, ShopBudget};
    let s = shop(store, "budget-a").await;
    let other = shop(store, "budget-b").await;
    let c = customer(s.id, "budget-1");
    let d = customer(other.id, "budget-2");
    store.upsert_customers(&[c.clone(), d.clone()]).await.expect("customers");
    let image = |shop: ShopId, customer: CustomerId, n: usize| Attachment {
        id: AttachmentId::from_uuid(new_id()),
        shop_id: shop,
        customer_id: customer,
        uploaded_by: Sender::Customer(customer),
        kind: ImageKind::Png,
        bytes: vec![0x89; n],
        created_at: T0,
    };
    let today = ShopBudget { day: T0.china_day(), limit: 1_000 };
    for n in [400, 500] {
        store.put_attachment(&image(s.id, c.id, n), Some(today)).await.expect("within the budget");
    }
    let over = image(s.id, c.id, 101);
    assert!(matches!(store.put_attachment(&over, Some(today)).await, Err(StoreError::Conflict("upload_budget"))));
    assert_eq!(store.attachment(over.id).await.expect("get"), None, "nothing of it stored");
    store.put_attachment(&image(s.id, c.id, 100), Some(today)).await.expect("exactly the budget");
    let too_big = image(other.id, d.id, 1_001);
    assert!(matches!(store.put_attachment(&too_big, Some(today)).await, Err(StoreError::Conflict("upload_budget"))));
    store.put_attachment(&image(other.id, d.id, 1_000), Some(today)).await.expect("another shop's own budget");
    let tomorrow = ShopBudget { day: today.day + 1, ..today };
    store.put_attachment(&image(s.id, c.id, 1_000), Some(tomorrow)).await.expect("a new day");
    // A refused one left the count as it was: the last byte of today still fits nowhere, 0 does.
    assert!(store.put_attachment(&image(s.id, c.id, 1), Some(today)).await.is_err());
    store.put_attachment(&image(s.id, c.id, 0), Some(today)).await.expect("nothing more");
    // Without a budget (an agent's image), nothing is counted or refused.
    store.put_attachment(&image(s.id, c.id, 5_000), None).await.expect("no budget");
    assert_eq!(store.uploads_by_customer(c.id, T0).await.expect("uploads").len(), 6);
}

/// Where shoppers stand in a shop's queue: longest wait first, only queued
/// conversations of that shop.
pub(super) async fn the_queue_lists_a_shops_waiting_conversations_longest_wait_first(store: &dyn Store) {
    let s = shop(store, "queue-a").await;
    let other = shop(store, "queue-b").await;
    let li = agent(store, "queue-li", &[s.id], 5).await;
    let mut convs = Vec::new();
    for (n, at) in [(0, 30), (1, 10), (2, 20), (3, 5)] {
        let c = customer(s.id, &format!("q{n}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, s.id, c.id).await;
        store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", None, at)).await.expect("append");
        convs.push(conv);
    }
    let quiet = customer(s.id, "q-quiet");
    store.upsert_customers(std::slice::from_ref(&quiet)).await.expect("customer");
    let not_waiting = conversation_for(store, s.id, quiet.id).await;
    store.assign_conversation(convs[3].id, li.id, 5, T0, None).await.expect("assign");
    let theirs = customer(other.id, "q-other");
    store.upsert_customers(std::slice::from_ref(&theirs)).await.expect("customer");
    conversation_for(store, other.id, theirs.id).await;

    let group = SkillGroup { id: SkillGroupId::from_uuid(new_id()), shop_id: s.id, name: "大家电".into() };
    store.create_skill_group(&group).await.expect("group");
    store
        .transfer_conversation(convs[2].id, TransferTarget::Group(group.id), T0.plus_millis(40))
        .await
        .expect("to group");

    let ids = |q: Vec<kefu_core::store::Queued>| q.into_iter().map(|q| q.id).collect::<Vec<_>>();
    let queue = store.queue_of_shop(s.id, 10).await.expect("queue");
    assert_eq!(ids(queue.clone()), vec![convs[1].id, convs[2].id, convs[0].id, not_waiting.id]);
    assert_eq!(queue.iter().map(|q| q.group).collect::<Vec<_>>(), vec![None, Some(group.id), None, None]);
    assert_eq!(ids(store.queue_of_shop(s.id, 2).await.expect("queue")), vec![convs[1].id, convs[2].id]);
    assert_eq!(store.queue_of_shop(other.id, 10).await.expect("queue").len(), 1);
}
