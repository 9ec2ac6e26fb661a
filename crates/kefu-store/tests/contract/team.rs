//! The team: an account disabled, presence swept, a colleague's shoppers
//! taken back, each agent's day counted, and who answers in a shop.

use super::*;

fn session_of(agent: &Agent, token: u8) -> AgentSession {
    AgentSession {
        token_hash: [token; 32],
        agent_id: agent.id,
        csrf_token: format!("csrf-{token}"),
        created_at: T0,
        expires_at: T0.plus_days(1),
    }
}

/// A person who left: disabled in one go — offline, signed out everywhere,
/// their conversations back in the queue — and enabled again later.
pub(super) async fn a_disabled_agent_is_signed_out_and_their_conversations_queued(store: &dyn Store) {
    let s = shop(store, "leaver").await;
    let li = agent(store, "li-leaves", &[s.id], 5).await;
    let wang = agent(store, "wang-stays", &[s.id], 5).await;
    for (who, token) in [(&li, 1), (&li, 2), (&li, 3), (&wang, 4)] {
        store.create_session(&session_of(who, token)).await.expect("session");
    }
    let mut held = Vec::new();
    for n in 0..2 {
        let c = customer(s.id, &format!("lv{n}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, s.id, c.id).await;
        held.push(store.assign_conversation(conv.id, li.id, 5, T0, None).await.expect("assign"));
    }
    let c = customer(s.id, "lv-w");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let theirs = conversation_for(store, s.id, c.id).await;
    store.assign_conversation(theirs.id, wang.id, 5, T0, None).await.expect("assign");

    // A password change ends the others' sessions, not the one making it.
    assert_eq!(store.revoke_sessions(li.id, Some([1; 32])).await.expect("revoke"), 2);
    assert!(store.session(&[1; 32], T0).await.expect("read").is_some());
    assert!(store.session(&[2; 32], T0).await.expect("read").is_none());

    let released = store.disable_agent(li.id, T0.plus_millis(5)).await.expect("disable");
    let mut ids: Vec<_> = released.iter().map(|c| c.id).collect();
    ids.sort();
    let mut want: Vec<_> = held.iter().map(|c| c.id).collect();
    want.sort();
    assert_eq!(ids, want);
    assert!(released.iter().all(|c| c.status == ConversationStatus::Queued && c.assigned_agent.is_none()));
    assert!(released.iter().all(|c| c.updated_at == T0.plus_millis(5)));
    let now = store.agent(li.id).await.expect("read").expect("agent");
    assert!(now.disabled);
    assert_eq!(now.status, AgentStatus::Offline);
    for token in [1, 3] {
        assert!(store.session(&[token; 32], T0).await.expect("read").is_none(), "signed out everywhere");
    }
    assert!(store.session(&[4; 32], T0).await.expect("read").is_some(), "others stay signed in");
    let kept = store.conversation(theirs.id).await.expect("read").expect("conversation");
    assert_eq!(kept.assigned_agent, Some(wang.id));
    // update_agent leaves `disabled` alone; enabling gives the account back.
    store.update_agent(&Agent { disabled: false, ..now.clone() }).await.expect("update");
    assert!(store.agent(li.id).await.expect("read").expect("agent").disabled);
    store.enable_agent(li.id).await.expect("enable");
    assert!(!store.agent_by_username("li-leaves").await.expect("read").expect("agent").disabled);
    let missing = AgentId::from_uuid(new_id());
    assert!(matches!(store.disable_agent(missing, T0).await, Err(StoreError::NotFound("agent"))));
    assert!(matches!(store.enable_agent(missing).await, Err(StoreError::NotFound("agent"))));
}

/// Agents whose workspace has not been seen since a time are set offline,
/// once, and answered with their shops; those seen since, or offline
/// already, are left as they are. Conversations of offline agents whose
/// shopper has waited since before that time go back to the queue; the
/// others stay with their agent.
pub(super) async fn a_sweep_sets_absent_agents_offline_and_queues_their_waiting_shoppers(store: &dyn Store) {
    let s = shop(store, "seen-a").await;
    let t = shop(store, "seen-b").await;
    let here = agent(store, "seen-here", &[s.id], 5).await;
    let left = agent(store, "seen-left", &[s.id, t.id], 5).await;
    let never = agent(store, "seen-never", &[t.id], 5).await;
    let off = agent(store, "seen-off", &[s.id], 5).await;
    for a in [&here, &left, &never] {
        store.set_agent_status(a.id, AgentStatus::Online).await.expect("online");
    }
    store.set_agent_status(off.id, AgentStatus::Offline).await.expect("offline");
    store.agent_seen(left.id, T0.plus_millis(10)).await.expect("seen");
    store.agent_seen(here.id, T0.plus_millis(10)).await.expect("seen");
    store.agent_seen(here.id, T0.plus_millis(500)).await.expect("seen again");

    // Who holds what: (agent, the shopper's unanswered message at, or answered).
    let mut held = Vec::new();
    for (i, (a, waiting)) in [(&here, Some(20)), (&left, Some(30)), (&left, None), (&off, Some(50)), (&off, Some(200))]
        .into_iter()
        .enumerate()
    {
        let c = customer(s.id, &format!("seen-c{i}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, s.id, c.id).await;
        store.assign_conversation(conv.id, a.id, 5, T0, None).await.expect("assign");
        let at = waiting.unwrap_or(60);
        store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", None, at)).await.expect("asks");
        if waiting.is_none() {
            store.append_message(text(conv.id, Sender::Agent(a.id), "在的", None, at + 1)).await.expect("answered");
        }
        held.push(conv.id);
    }

    let absence = store.sweep_absent(T0.plus_millis(100), T0.plus_millis(1_000)).await.expect("sweep");
    let mut gone = absence.offline.clone();
    gone.sort_by_key(|(id, _)| *id);
    for (_, shops) in &mut gone {
        shops.sort();
    }
    let mut want = vec![(left.id, vec![s.id, t.id]), (never.id, vec![t.id])];
    want.sort_by_key(|(id, _)| *id);
    for (_, shops) in &mut want {
        shops.sort();
    }
    assert_eq!(gone, want);
    for (a, status) in [(&here, AgentStatus::Online), (&left, AgentStatus::Offline), (&never, AgentStatus::Offline)] {
        assert_eq!(store.agent(a.id).await.expect("read").expect("agent").status, status, "{}", a.username.as_str());
    }
    let mut queued: Vec<ConversationId> = absence.requeued.iter().map(|c| c.id).collect();
    queued.sort();
    let mut want = vec![held[1], held[3]];
    want.sort();
    assert_eq!(queued, want, "the waiting shoppers of agents now offline");
    assert!(absence.requeued.iter().all(|c| c.status == ConversationStatus::Queued && c.assigned_agent.is_none()));
    assert_eq!(absence.requeued[0].updated_at, T0.plus_millis(1_000));
    for (i, agent) in [(0, Some(here.id)), (2, Some(left.id)), (4, Some(off.id))] {
        let c = store.conversation(held[i]).await.expect("read").expect("conversation");
        assert_eq!(c.assigned_agent, agent, "conversation {i} stays with its agent");
    }
    let again = store.sweep_absent(T0.plus_millis(100), T0.plus_millis(2_000)).await.expect("again");
    assert_eq!(again, kefu_core::store::Absence::default(), "once");
}

/// Conversations go back to the queue only from someone not 接待中, only in
/// the shops named, and each keeps its shopper's wait.
pub(super) async fn a_supervisor_takes_back_the_conversations_of_someone_not_online(store: &dyn Store) {
    let s = shop(store, "back-a").await;
    let t = shop(store, "back-b").await;
    let li = agent(store, "back-li", &[s.id, t.id], 5).await;
    let wang = agent(store, "back-wang", &[s.id], 5).await;
    let mut held = Vec::new();
    for (i, (shop, a)) in [(s.id, &li), (s.id, &li), (t.id, &li), (s.id, &wang)].into_iter().enumerate() {
        let c = customer(shop, &format!("back-c{i}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, shop, c.id).await;
        store.assign_conversation(conv.id, a.id, 5, T0, None).await.expect("assign");
        store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", None, 40 + i as i64)).await.expect("asks");
        held.push(conv.id);
    }
    // Answered and closed: not theirs to give back.
    let c = customer(s.id, "back-done");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let done = conversation_for(store, s.id, c.id).await;
    store.assign_conversation(done.id, li.id, 5, T0, None).await.expect("assign");
    store.close_conversation(done.id, T0.plus_millis(50)).await.expect("close");

    let refused = store.release_conversations(li.id, None, T0.plus_millis(100)).await;
    assert!(matches!(refused, Err(StoreError::Conflict("agent_online"))), "{refused:?}");
    assert_eq!(store.conversation(held[0]).await.expect("read").expect("c").assigned_agent, Some(li.id));

    store.set_agent_status(li.id, AgentStatus::Away).await.expect("away");
    let back = store.release_conversations(li.id, Some(vec![s.id]), T0.plus_millis(100)).await.expect("release");
    let mut ids: Vec<ConversationId> = back.iter().map(|c| c.id).collect();
    ids.sort();
    let mut want = vec![held[0], held[1]];
    want.sort();
    assert_eq!(ids, want, "only shop s, only li's");
    for c in &back {
        assert_eq!((c.status, c.assigned_agent), (ConversationStatus::Queued, None));
        assert_eq!(c.updated_at, T0.plus_millis(100));
        assert!(c.waiting_since.is_some_and(|w| w < T0.plus_millis(100)), "the shopper's wait goes on");
    }
    let queue = store.queue_of_shop(s.id, 10).await.expect("queue");
    assert_eq!(queue.iter().map(|q| q.id).collect::<Vec<_>>(), [held[0], held[1]], "longest wait first");
    assert_eq!(store.conversation(held[2]).await.expect("read").expect("c").assigned_agent, Some(li.id));
    assert_eq!(store.conversation(held[3]).await.expect("read").expect("c").assigned_agent, Some(wang.id));
    assert_eq!(store.conversation(done.id).await.expect("read").expect("c").status, ConversationStatus::Closed);

    store.set_agent_status(li.id, AgentStatus::Offline).await.expect("offline");
    let rest = store.release_conversations(li.id, None, T0.plus_millis(200)).await.expect("every shop");
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), [held[2]]);
    assert!(store.release_conversations(li.id, None, T0.plus_millis(300)).await.expect("again").is_empty());
    let missing = AgentId::from_uuid(new_id());
    assert!(matches!(store.release_conversations(missing, None, T0).await, Err(StoreError::NotFound("agent"))));
}

/// Auto-assign's offers: accepted, they stay; not accepted by their time,
/// they go back to the queue (the shopper's wait going on) and an agent who
/// was 接待中 goes 挂起; what moved on by other means is left alone.
pub(super) async fn offers_not_accepted_in_time_go_back_and_their_agent_away(store: &dyn Store) {
    let s = shop(store, "offers").await;
    let li = agent(store, "offer-li", &[s.id], 5).await;
    let wang = agent(store, "offer-wang", &[s.id], 5).await;
    let zhao = agent(store, "offer-zhao", &[s.id], 5).await;
    let until = |ms: i64| Some(T0.plus_millis(ms));
    let mut convs = Vec::new();
    for (i, (a, offer)) in
        [(&li, until(30_000)), (&li, until(60_000)), (&zhao, until(30_000)), (&wang, until(30_000)), (&wang, None)]
            .into_iter()
            .enumerate()
    {
        let c = customer(s.id, &format!("offer-c{i}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, s.id, c.id).await;
        store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", None, 10 + i as i64)).await.expect("asks");
        let offered = store.assign_conversation(conv.id, a.id, 5, T0, offer).await.expect("offer");
        assert_eq!((offered.assigned_agent, offered.offered_until), (Some(a.id), offer));
        convs.push(conv.id);
    }
    store.set_agent_status(zhao.id, AgentStatus::Away).await.expect("zhao already 挂起");
    // Offered again to its holder: unchanged. Accepted (no offer): the deadline goes.
    let again = store.assign_conversation(convs[0], li.id, 5, T0.plus_millis(5), until(90_000)).await.expect("again");
    assert_eq!(again.offered_until, until(30_000));
    let accepted = store.assign_conversation(convs[3], wang.id, 5, T0.plus_millis(5), None).await.expect("accept");
    assert_eq!((accepted.assigned_agent, accepted.offered_until), (Some(wang.id), None));

    assert_eq!(store.lapse_offers(T0.plus_millis(29_999)).await.expect("early"), Lapsed::default());
    let lapsed = store.lapse_offers(T0.plus_millis(30_000)).await.expect("lapse");
    let mut back: Vec<ConversationId> = lapsed.requeued.iter().map(|c| c.id).collect();
    back.sort();
    let mut want = vec![convs[0], convs[2]];
    want.sort();
    assert_eq!(back, want, "li's first and zhao's: the accepted, the later and the direct stay");
    for c in &lapsed.requeued {
        assert_eq!((c.status, c.assigned_agent, c.offered_until), (ConversationStatus::Queued, None, None));
        assert!(c.waiting_since.is_some_and(|w| w < T0.plus_millis(100)), "the shopper's wait goes on");
    }
    assert_eq!(lapsed.away, vec![(li.id, vec![s.id])], "zhao was 挂起 already");
    assert_eq!(store.agent(li.id).await.expect("read").expect("li").status, AgentStatus::Away);
    let held = |id: ConversationId| async move { store.conversation(id).await.expect("read").expect("c") };
    assert_eq!((held(convs[1]).await.assigned_agent, held(convs[1]).await.offered_until), (Some(li.id), until(60_000)));
    assert_eq!(held(convs[3]).await.assigned_agent, Some(wang.id));
    assert_eq!(held(convs[4]).await.assigned_agent, Some(wang.id));
    let queue = store.queue_of_shop(s.id, 10).await.expect("queue");
    assert_eq!(queue.iter().map(|q| q.id).collect::<Vec<_>>(), [convs[0], convs[2]], "longest wait first");
    assert_eq!(store.lapse_offers(T0.plus_millis(30_001)).await.expect("twice"), Lapsed::default());
    // Each lapse is on its agent's day in the shop (漏接), beside their answers.
    let day = store
        .response_counts(
            kefu_core::kpi::Scope::Shop(s.id),
            kefu_core::kpi::Period::Today(T0.plus_millis(30_001)),
            kefu_core::kpi::ReplyWindow::ThreeMinutes,
        )
        .await
        .expect("figures");
    let missed: Vec<(AgentId, u32)> = day.iter().map(|(a, c)| (*a, c.missed_offers)).filter(|(_, n)| *n > 0).collect();
    let mut want = vec![(li.id, 1), (zhao.id, 1)];
    want.sort();
    assert_eq!(missed, want);

    // An offer passed on or closed is no longer one.
    let passed = store
        .transfer_conversation(
            convs[1],
            TransferTarget::Agent { agent: wang.id, max_concurrent: 5 },
            T0.plus_millis(40),
        )
        .await
        .expect("transfer");
    assert_eq!((passed.assigned_agent, passed.offered_until), (Some(wang.id), None));
    let reoffered =
        store.assign_conversation(convs[0], wang.id, 5, T0.plus_millis(50), until(70_000)).await.expect("o");
    assert_eq!(reoffered.offered_until, until(70_000));
    let closed = store.close_conversation(convs[0], T0.plus_millis(60)).await.expect("close");
    assert_eq!(closed.offered_until, None);
    assert_eq!(store.lapse_offers(T0.plus_millis(100_000)).await.expect("none left"), Lapsed::default());
}

/// The place an agent frees takes the longest-waiting shopper they may
/// serve (of no group, or of one of theirs), in one write, never over their
/// limit; takers at once take different shoppers.
pub(super) async fn a_freed_place_takes_the_next_shopper_its_agent_may_serve(store: &dyn Store) {
    let s = shop(store, "take-next").await;
    let big = SkillGroup { id: SkillGroupId::from_uuid(new_id()), shop_id: s.id, name: "大家电".into() };
    let other = SkillGroup { id: SkillGroupId::from_uuid(new_id()), shop_id: s.id, name: "售后".into() };
    for g in [&big, &other] {
        store.create_skill_group(g).await.expect("group");
    }
    let li = Agent { skill_groups: vec![big.id], ..agent(store, "next-li", &[s.id], 3).await };
    store.update_agent(&li).await.expect("li of 大家电");
    let away = agent(store, "next-away", &[s.id], 3).await;
    store.set_agent_status(away.id, AgentStatus::Away).await.expect("away");
    let mut queued = Vec::new();
    for (i, group) in [Some(other.id), Some(big.id), None, None].into_iter().enumerate() {
        let c = customer(s.id, &format!("next-c{i}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, s.id, c.id).await;
        store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", None, 10 + i as i64)).await.expect("asks");
        if let Some(g) = group {
            store.transfer_conversation(conv.id, TransferTarget::Group(g), T0).await.expect("to group");
        }
        queued.push(conv.id);
    }
    let take = |who: AgentId, offer: Option<Timestamp>| store.take_next_queued(s.id, who, T0.plus_millis(100), offer);
    // 挂起 (and a missing agent) takes nothing.
    assert_eq!(take(away.id, None).await.expect("take"), None);
    assert_eq!(take(AgentId::from_uuid(new_id()), None).await.expect("take"), None);
    // Of 大家电: its own first in line, before the groupless behind it; never 售后's.
    let first = take(li.id, Some(T0.plus_millis(30_100))).await.expect("take").expect("one");
    assert_eq!((first.id, first.status, first.assigned_agent), (queued[1], ConversationStatus::Assigned, Some(li.id)));
    assert_eq!((first.assigned_at, first.offered_until), (Some(T0.plus_millis(100)), Some(T0.plus_millis(30_100))));
    let second = take(li.id, None).await.expect("take").expect("one");
    assert_eq!((second.id, second.offered_until), (queued[2], None));
    let third = take(li.id, None).await.expect("take").expect("one");
    assert_eq!(third.id, queued[3]);
    // Full (3): refused, nothing taken.
    assert!(matches!(take(li.id, None).await, Err(StoreError::CapacityReached)));
    // A place freed, but only 售后's is left: nothing for li, who is not of it.
    store.close_conversation(third.id, T0.plus_millis(150)).await.expect("close");
    assert_eq!(take(li.id, None).await.expect("take").map(|c| c.id), None);
    let queue = store.queue_of_shop(s.id, 10).await.expect("queue");
    assert_eq!(queue.iter().map(|q| q.id).collect::<Vec<_>>(), [queued[0]]);

    // Two agents freeing places at once take different shoppers, all of them.
    let (wang, zhao) = (agent(store, "next-wang", &[s.id], 5).await, agent(store, "next-zhao", &[s.id], 5).await);
    for i in 0..8 {
        let c = customer(s.id, &format!("next-d{i}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, s.id, c.id).await;
        store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", None, 20 + i)).await.expect("asks");
    }
    let takes = |who: AgentId| async move {
        let mut got = Vec::new();
        for _ in 0..4 {
            if let Some(c) = store.take_next_queued(s.id, who, T0.plus_millis(200), None).await.expect("t") {
                got.push(c.id);
            }
        }
        got
    };
    let (a, b) = tokio::join!(takes(wang.id), takes(zhao.id));
    let mut all: Vec<ConversationId> = a.iter().chain(&b).copied().collect();
    all.sort();
    all.dedup();
    assert_eq!((a.len(), b.len(), all.len()), (4, 4, 8), "{a:?} {b:?}");

    // As offers, two at a time: the next comes when one is accepted (taking without an offer is not held up).
    let sun = agent(store, "next-sun", &[s.id], 5).await;
    for i in 0..4 {
        let c = customer(s.id, &format!("next-e{i}"));
        store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
        let conv = conversation_for(store, s.id, c.id).await;
        store.append_message(text(conv.id, Sender::Customer(c.id), "在吗", None, 30 + i)).await.expect("asks");
    }
    let offer = Some(T0.plus_millis(60_000));
    let first = store.take_next_queued(s.id, sun.id, T0.plus_millis(300), offer).await.expect("t").expect("one");
    assert!(store.take_next_queued(s.id, sun.id, T0.plus_millis(300), offer).await.expect("t").is_some());
    assert_eq!(store.take_next_queued(s.id, sun.id, T0.plus_millis(300), offer).await.expect("t"), None, "two pending");
    let team = store.agents_of_shop(s.id).await.expect("team");
    let pending = team.iter().find(|l| l.agent.id == sun.id).map(|l| (l.open_conversations, l.pending_offers));
    assert_eq!(pending, Some((2, 2)));
    store.assign_conversation(first.id, sun.id, 5, T0.plus_millis(310), None).await.expect("accepted");
    assert!(store.take_next_queued(s.id, sun.id, T0.plus_millis(320), offer).await.expect("t").is_some());
    assert!(
        store.take_next_queued(s.id, sun.id, T0.plus_millis(320), None).await.expect("t").is_some(),
        "not an offer"
    );
}

/// Every wait an agent answers is counted in the write that stores the
/// answer: from when they got the shopper (not the queue's time), first
/// answers apart, notes not answers, late shoppers still waiting against
/// the reply window.
pub(super) async fn answers_are_counted_for_the_agent_from_when_they_got_the_shopper(store: &dyn Store) {
    use kefu_core::kpi::{Period, ReplyWindow, ResponseCounts, Scope};
    let s = shop(store, "kpi-a").await;
    let li = agent(store, "kpi-li", &[s.id], 5).await;
    let wang = agent(store, "kpi-wang", &[s.id], 5).await;
    let c = customer(s.id, "kpi-c1");
    let d = customer(s.id, "kpi-c2");
    store.upsert_customers(&[c.clone(), d.clone()]).await.expect("customers");
    let one = conversation_for(store, s.id, c.id).await;
    let two = conversation_for(store, s.id, d.id).await;
    let say = |conv: ConversationId, who: Sender, at: i64| async move {
        store.append_message(text(conv, who, "在吗", None, at)).await.expect("append");
    };
    // Waited 30 s in the queue; li answers 10 s after getting it.
    say(one.id, Sender::Customer(c.id), 10).await;
    store.assign_conversation(one.id, li.id, 5, T0.plus_millis(30_010), None).await.expect("assign");
    say(one.id, Sender::Agent(li.id), 40_010).await;
    // An answer with nothing waiting, and a note while the shopper waits: neither counts.
    say(one.id, Sender::Agent(li.id), 41_000).await;
    say(one.id, Sender::Customer(c.id), 50_000).await;
    let mut note = text(one.id, Sender::Agent(li.id), "内部备注", None, 60_000);
    note.kind = MessageKind::Note;
    store.append_message(note).await.expect("note");
    say(one.id, Sender::Agent(li.id), 100_000).await; // 50 s
    // Transferred to wang while the shopper waits: his first answer, from the transfer.
    say(one.id, Sender::Customer(c.id), 110_000).await;
    let to_wang = TransferTarget::Agent { agent: wang.id, max_concurrent: 5 };
    store.transfer_conversation(one.id, to_wang, T0.plus_millis(200_000)).await.expect("transfer");
    say(one.id, Sender::Agent(wang.id), 205_000).await;
    // li's other shopper has waited since 210 s and is not answered.
    say(two.id, Sender::Customer(d.id), 210_000).await;
    store.assign_conversation(two.id, li.id, 5, T0.plus_millis(210_000), None).await.expect("assign two");

    let now = T0.plus_millis(400_000);
    let three_minutes = ReplyWindow::ThreeMinutes;
    let day = |agent: AgentId, now: Timestamp, window: ReplyWindow| async move {
        let all = store.response_counts(Scope::Agent(agent), Period::Today(now), window).await.expect("counts");
        assert!(all.len() <= 1 && all.iter().all(|(a, _)| *a == agent), "{all:?}");
        all.first().map(|(_, c)| *c).unwrap_or_default()
    };
    let li_day = day(li.id, now, three_minutes).await;
    let want = ResponseCounts {
        chats: 1,
        answers: 2,
        waited_ms: 10_000 + 50_000,
        first_answers: 1,
        first_within_30s: 1,
        within_window: 2,
        overdue_now: 1,
        missed_offers: 0,
    };
    assert_eq!(li_day, want);
    assert_eq!(li_day.reply_rate(), Some(2.0 / 3.0));
    let wang_day = day(wang.id, now, three_minutes).await;
    assert_eq!(
        wang_day,
        ResponseCounts {
            chats: 1,
            answers: 1,
            waited_ms: 5_000,
            first_answers: 1,
            first_within_30s: 1,
            within_window: 1,
            overdue_now: 0,
            missed_offers: 0,
        }
    );
    // The next China day starts from nothing; li's shopper still waits, and is late.
    let tomorrow = day(li.id, now.next_china_midnight().plus_millis(1), ReplyWindow::FiveMinutes).await;
    assert_eq!(tomorrow, ResponseCounts { overdue_now: 1, ..ResponseCounts::default() });
    assert_eq!(day(AgentId::from_uuid(new_id()), now, three_minutes).await, ResponseCounts::default());

    // The shop's team at once: each agent's answers in this shop only, the same counts.
    let mut team = store.response_counts(Scope::Shop(s.id), Period::Today(now), three_minutes).await.expect("team");
    team.sort_by_key(|(a, _)| *a);
    let mut want = vec![(li.id, li_day), (wang.id, wang_day)];
    want.sort_by_key(|(a, _)| *a);
    assert_eq!(team, want);
    let elsewhere = shop(store, "kpi-b").await;
    let mut li = store.agent(li.id).await.expect("read").expect("li");
    li.shops.push(elsewhere.id);
    store.update_agent(&li).await.expect("two shops");
    let b = store.response_counts(Scope::Shop(elsewhere.id), Period::Today(now), three_minutes).await.expect("b");
    assert!(b.is_empty());
    assert_eq!(day(li.id, now, three_minutes).await, li_day, "one agent's day is every shop's");

    // Read back the next day, the day is as it closed: its answers, and
    // nobody still waiting on it (li's shopper is tomorrow's to count).
    let closed = Period::Day(now.china_day());
    let past = store.response_counts(Scope::Agent(li.id), closed, three_minutes).await.expect("past");
    assert_eq!(past, vec![(li.id, ResponseCounts { overdue_now: 0, ..li_day })]);
    let mut past_team = store.response_counts(Scope::Shop(s.id), closed, three_minutes).await.expect("past team");
    past_team.sort_by_key(|(a, _)| *a);
    let mut want = vec![(li.id, ResponseCounts { overdue_now: 0, ..li_day }), (wang.id, wang_day)];
    want.sort_by_key(|(a, _)| *a);
    assert_eq!(past_team, want);
    let before = Period::Day(now.china_day() - 1);
    assert!(store.response_counts(Scope::Shop(s.id), before, three_minutes).await.expect("before").is_empty());
}

/// What the widget's header asks: is a person who answers online in this shop?
pub(super) async fn someone_online_means_an_enabled_handler_of_the_shop(store: &dyn Store) {
    let s = shop(store, "online-a").await;
    let other = shop(store, "online-b").await;
    let li = agent(store, "online-li", &[s.id], 5).await;
    let mut qa = agent(store, "online-qa", &[s.id], 5).await;
    qa.role = Role::Qa;
    store.update_agent(&qa).await.expect("qa");
    let theirs = agent(store, "online-other", &[other.id], 5).await;
    for a in [&li, &qa, &theirs] {
        store.set_agent_status(a.id, AgentStatus::Offline).await.expect("offline");
    }
    assert!(!store.someone_online(s.id).await.expect("read"));
    store.set_agent_status(qa.id, AgentStatus::Online).await.expect("qa online");
    store.set_agent_status(theirs.id, AgentStatus::Online).await.expect("other shop online");
    assert!(!store.someone_online(s.id).await.expect("read"), "QA reads, it does not answer; other shops are theirs");
    store.set_agent_status(li.id, AgentStatus::Away).await.expect("away");
    assert!(!store.someone_online(s.id).await.expect("read"));
    store.set_agent_status(li.id, AgentStatus::Online).await.expect("online");
    assert!(store.someone_online(s.id).await.expect("read"));

    // The team with its loads, read in one go, is each agent as read alone.
    let groups = [
        SkillGroup { id: SkillGroupId::from_uuid(new_id()), shop_id: s.id, name: "大家电".into() },
        SkillGroup { id: SkillGroupId::from_uuid(new_id()), shop_id: s.id, name: "售后".into() },
    ];
    for g in &groups {
        store.create_skill_group(g).await.expect("group");
    }
    let mut li = store.agent(li.id).await.expect("read").expect("li");
    li.shops = vec![s.id, other.id];
    li.skill_groups = groups.iter().map(|g| g.id).collect();
    store.update_agent(&li).await.expect("links");
    let c = customer(s.id, "online-c");
    store.upsert_customers(std::slice::from_ref(&c)).await.expect("customer");
    let conv = conversation_for(store, s.id, c.id).await;
    store.assign_conversation(conv.id, li.id, 5, T0, None).await.expect("assign");
    let team = store.agents_of_shop(s.id).await.expect("team");
    assert_eq!(team.iter().map(|l| l.agent.username.as_str()).collect::<Vec<_>>(), ["online-li", "online-qa"]);
    for load in &team {
        assert_eq!(Some(&load.agent), store.agent(load.agent.id).await.expect("read").as_ref());
    }
    assert_eq!(team.iter().map(|l| l.open_conversations).collect::<Vec<_>>(), [1, 0]);
    assert_eq!(team[0].agent.shops.len(), 2);
    assert_eq!(team[0].agent.skill_groups.len(), 2);

    store.disable_agent(li.id, T0).await.expect("disable");
    store.set_agent_status(li.id, AgentStatus::Online).await.expect("a stale status write");
    assert!(!store.someone_online(s.id).await.expect("read"), "a disabled account answers nobody");
}
