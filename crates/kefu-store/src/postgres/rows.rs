//! Row mapping to domain types, the column lists, and the helpers every
//! verb uses inside its transaction (including the append).

use super::*;

pub(super) fn opt_ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

pub(super) const SHOP_COLS: &str = "id, slug, name, secret, created_at";
pub(super) fn shop_from(r: &Row) -> StoreResult<Shop> {
    let slug: String = r.get(1);
    Ok(Shop {
        id: ShopId::from_uuid(r.get(0)),
        slug: ShopSlug::parse(&slug).map_err(|_| corrupt("shop slug", slug.clone()))?,
        name: r.get(2),
        secret: ShopSecret::new(r.get(3)),
        created_at: Timestamp(r.get(4)),
    })
}

pub(super) const AGENT_COLS: &str =
    "a.id, a.username, a.display_name, a.password_hash, a.role, a.max_concurrent, a.status, a.created_at, a.disabled";
/// An agent's shops and skill groups, as two array columns after
/// `AGENT_COLS`: the agent in one statement instead of three round trips
/// (every request an agent makes reads its account).
pub(super) const AGENT_LINKS: &str = "ARRAY(SELECT shop_id FROM agent_shops WHERE agent_id = a.id ORDER BY shop_id), \
     ARRAY(SELECT group_id FROM agent_skill_groups WHERE agent_id = a.id ORDER BY group_id)";

/// An agent from a row of `AGENT_COLS` and `AGENT_LINKS`.
pub(super) fn agent_linked(r: &Row) -> StoreResult<Agent> {
    agent_with(r, r.get(9), r.get(10))
}

/// An agent from its row (`AGENT_COLS` first) and the ids of its shops and skill groups.
pub(super) fn agent_with(r: &Row, shops: Vec<Uuid>, groups: Vec<Uuid>) -> StoreResult<Agent> {
    let id: Uuid = r.get(0);
    let username: String = r.get(1);
    let max: i32 = r.get(5);
    Ok(Agent {
        id: AgentId::from_uuid(id),
        username: Username::parse(&username).map_err(|_| corrupt("username", username.clone()))?,
        display_name: r.get(2),
        password_hash: r.get(3),
        role: codec::role(r.get(4))?,
        shops: shops.into_iter().map(ShopId::from_uuid).collect(),
        skill_groups: groups.into_iter().map(SkillGroupId::from_uuid).collect(),
        max_concurrent: u32::try_from(max).map_err(|_| corrupt("max_concurrent", max.to_string()))?,
        status: codec::agent_status(r.get(6))?,
        created_at: Timestamp(r.get(7)),
        disabled: r.get(8),
    })
}

pub(super) const CUSTOMER_COLS: &str =
    "id, shop_id, external_id, nickname, tier, tags, phone, lifetime_spend, complaint_count, created_at";
pub(super) const CUSTOMER_COUNT: usize = 10;
pub(super) fn customer_from(r: &Row, o: usize) -> StoreResult<Customer> {
    let phone: Option<String> = r.get(o + 6);
    let complaints: i32 = r.get(o + 8);
    Ok(Customer {
        id: CustomerId::from_uuid(r.get(o)),
        shop_id: ShopId::from_uuid(r.get(o + 1)),
        external_id: r.get(o + 2),
        nickname: r.get(o + 3),
        tier: codec::tier(r.get(o + 4))?,
        tags: r.get(o + 5),
        phone: phone.map(|p| MaskedPhone::parse(&p).map_err(|_| corrupt("phone", p))).transpose()?,
        lifetime_spend: Fen(r.get(o + 7)),
        complaint_count: u32::try_from(complaints).unwrap_or(0),
        created_at: Timestamp(r.get(o + 9)),
    })
}

pub(super) const ORDER_COLS: &str = "id, shop_id, order_no, customer_id, status, total, province, city, address, created_at, paid_at, shipped_at, delivered_at, completed_at, cancelled_at, updated_at";
pub(super) const ORDER_COUNT: usize = 16;
pub(super) async fn order_from(c: &impl GenericClient, r: &Row) -> StoreResult<Order> {
    let id: Uuid = r.get(0);
    let items = c
        .query("SELECT sku, name, quantity, unit_price FROM order_items WHERE order_id = $1 ORDER BY line", &[&id])
        .await
        .map_err(be)?
        .iter()
        .map(|i| item_from(i, 0))
        .collect();
    order_with_items(r, items)
}

/// An `order_items` row's columns from `o` on: sku, name, quantity, unit_price.
pub(super) fn item_from(i: &Row, o: usize) -> OrderItem {
    OrderItem {
        sku: i.get(o),
        name: i.get(o + 1),
        quantity: u32::try_from(i.get::<_, i32>(o + 2)).unwrap_or(0),
        unit_price: Fen(i.get(o + 3)),
    }
}

/// An `ORDER_COLS` row with its items, read by the caller.
pub(super) fn order_with_items(r: &Row, items: Vec<OrderItem>) -> StoreResult<Order> {
    let id: Uuid = r.get(0);
    let order_no: String = r.get(2);
    Ok(Order {
        id: OrderId::from_uuid(id),
        shop_id: ShopId::from_uuid(r.get(1)),
        order_no: OrderNo::parse(&order_no).map_err(|_| corrupt("order_no", order_no.clone()))?,
        customer_id: CustomerId::from_uuid(r.get(3)),
        status: codec::order_status(r.get(4))?,
        items,
        total: Fen(r.get(5)),
        province: r.get(6),
        city: r.get(7),
        address: r.get(8),
        created_at: Timestamp(r.get(9)),
        paid_at: opt_ts(r.get(10)),
        shipped_at: opt_ts(r.get(11)),
        delivered_at: opt_ts(r.get(12)),
        completed_at: opt_ts(r.get(13)),
        cancelled_at: opt_ts(r.get(14)),
        updated_at: Timestamp(r.get(15)),
    })
}

pub(super) const CONVERSATION_COLS: &str = "id, shop_id, customer_id, channel, status, assigned_agent, skill_group, priority, tags, csat, last_seq, waiting_since, created_at, updated_at, closed_at, assigned_at, answered_at, last_answer_at, offered_until";
pub(super) const CONVERSATION_COUNT: usize = 19;
pub(super) fn conversation_from(r: &Row, o: usize) -> StoreResult<Conversation> {
    let agent: Option<Uuid> = r.get(o + 5);
    let group: Option<Uuid> = r.get(o + 6);
    let csat: Option<i16> = r.get(o + 9);
    Ok(Conversation {
        id: ConversationId::from_uuid(r.get(o)),
        shop_id: ShopId::from_uuid(r.get(o + 1)),
        customer_id: CustomerId::from_uuid(r.get(o + 2)),
        channel: codec::channel(r.get(o + 3))?,
        status: codec::conversation_status(r.get(o + 4))?,
        assigned_agent: agent.map(AgentId::from_uuid),
        skill_group: group.map(SkillGroupId::from_uuid),
        priority: r.get(o + 7),
        tags: r.get(o + 8),
        csat: csat.map(|c| c.clamp(0, 5) as u8),
        last_seq: r.get(o + 10),
        waiting_since: opt_ts(r.get(o + 11)),
        created_at: Timestamp(r.get(o + 12)),
        updated_at: Timestamp(r.get(o + 13)),
        closed_at: opt_ts(r.get(o + 14)),
        assigned_at: opt_ts(r.get(o + 15)),
        answered_at: opt_ts(r.get(o + 16)),
        last_answer_at: opt_ts(r.get(o + 17)),
        offered_until: opt_ts(r.get(o + 18)),
    })
}

pub(super) const MESSAGE_COLS: &str =
    "id, conversation_id, shop_id, seq, sender_kind, sender_id, kind, text, client_msg_id, created_at";
pub(super) const MESSAGE_COUNT: usize = 10;
pub(super) fn message_from(r: &Row, o: usize) -> StoreResult<Message> {
    let client: Option<String> = r.get(o + 8);
    Ok(Message {
        id: MessageId::from_uuid(r.get(o)),
        conversation_id: ConversationId::from_uuid(r.get(o + 1)),
        shop_id: ShopId::from_uuid(r.get(o + 2)),
        seq: r.get(o + 3),
        sender: codec::sender(r.get(o + 4), r.get(o + 5))?,
        kind: codec::message_kind(r.get(o + 6))?,
        text: r.get(o + 7),
        client_msg_id: client.map(|c| ClientMsgId::parse(&c).map_err(|_| corrupt("client_msg_id", c))).transpose()?,
        created_at: Timestamp(r.get(o + 9)),
    })
}

/// Appends in a transaction of its own: two round trips, or one for a
/// retry already stored.
pub(super) async fn append_alone(conn: deadpool_postgres::Object, m: NewMessage) -> StoreResult<Appended> {
    let tx = Pipelined::on(conn);
    match begin_append(&tx, m, false).await? {
        // Dropping `tx` rolls back: nothing was written.
        Begun::Duplicate(stored) => Ok(stored),
        Begun::New { said, answer, .. } => match commit_message(&tx, &said, answer).await {
            Ok(()) => Ok(said),
            Err(e) if lost_client_id_race(&e) => stored_duplicate(&tx, &said.message).await,
            Err(e) => Err(e),
        },
    }
}

/// Two sends of one client id that wait on the same conversation's lock
/// both look for the id in the snapshot their lock statement started from,
/// so the second finds nothing and its insert breaks the unique index: the
/// first one's message is the answer.
pub(super) fn lost_client_id_race(e: &StoreError) -> bool {
    let StoreError::Backend(source) = e else { return false };
    source.downcast_ref::<tokio_postgres::Error>().and_then(|e| e.as_db_error()).is_some_and(|db| {
        db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some("messages_by_client_id")
    })
}

/// The message stored under `lost`'s client id by the send that won the
/// race, read in a fresh statement (which sees its commit).
pub(super) async fn stored_duplicate(tx: &Pipelined, lost: &Message) -> StoreResult<Appended> {
    let locked = lock_for_append(tx, lost.conversation_id, lost.client_msg_id.as_ref(), false).await?;
    let message = locked.existing.ok_or(StoreError::Conflict("duplicate"))?;
    Ok(Appended { message, conversation: locked.conversation, duplicate: true })
}

/// An append under the conversation's lock, before anything is written.
pub(super) enum Begun {
    /// A retry of a message already stored under its client id: nothing to write.
    Duplicate(Appended),
    /// The message as it will be stored, the wait it answers (an agent's
    /// answer), and the bot memory's version when asked for.
    New { said: Appended, answer: Option<Answer>, bot_version: Option<i64> },
}

/// Begins `tx` by locking the conversation (the lock serialises seq
/// assignment, the duplicate check and bot turns), finds a message already
/// stored under the client id, refuses a closed conversation, and works out
/// the new message: one statement, sent with the BEGIN. `with_bot_version`
/// also reads the bot memory's version, which only a bot turn needs.
pub(super) async fn begin_append(tx: &Pipelined, m: NewMessage, with_bot_version: bool) -> StoreResult<Begun> {
    let locked = lock_for_append(tx, m.conversation_id, m.client_msg_id.as_ref(), with_bot_version).await?;
    if let Some(message) = locked.existing {
        return Ok(Begun::Duplicate(Appended { message, conversation: locked.conversation, duplicate: true }));
    }
    if locked.conversation.status == ConversationStatus::Closed {
        return Err(StoreError::ConversationClosed);
    }
    let (said, answer) = next_message(locked.conversation, m);
    Ok(Begun::New { said, answer, bot_version: locked.bot_version })
}

/// A conversation locked for writing, with what the writers check.
pub(super) struct Locked {
    pub conversation: Conversation,
    /// The message already stored under the client id asked about.
    pub existing: Option<Message>,
    /// The bot memory's version (`BotMemory::version`), when asked for.
    pub bot_version: Option<i64>,
}

/// Begins `tx` with the conversation locked, the message stored under
/// `client_msg_id` if any, and the bot memory's version if asked for: one
/// statement.
pub(super) async fn lock_for_append(
    tx: &Pipelined,
    conversation: ConversationId,
    client_msg_id: Option<&ClientMsgId>,
    with_bot_version: bool,
) -> StoreResult<Locked> {
    // Built once: the statement cache is keyed by the text, and this runs
    // for every message.
    static PLAIN: LazyLock<String> = LazyLock::new(|| lock_sql(""));
    static WITH_VERSION: LazyLock<String> =
        LazyLock::new(|| lock_sql(", COALESCE((SELECT version FROM bot_states b WHERE b.conversation_id = c.id), 0)"));
    let sql: &str = if with_bot_version { &WITH_VERSION } else { &PLAIN };
    let row = tx
        .begin_with(sql, &[&conversation.as_uuid(), &client_msg_id.map(|c| c.as_str())])
        .await?
        .ok_or(StoreError::NotFound("conversation"))?;
    let existing = match row.get::<_, Option<Uuid>>(CONVERSATION_COUNT) {
        Some(_) => Some(message_from(&row, CONVERSATION_COUNT)?),
        None => None,
    };
    let bot_version = with_bot_version.then(|| row.get(CONVERSATION_COUNT + MESSAGE_COUNT));
    Ok(Locked { conversation: conversation_from(&row, 0)?, existing, bot_version })
}

fn lock_sql(version: &str) -> String {
    format!(
        "SELECT {}, {}{version} FROM conversations c \
         LEFT JOIN messages m ON m.conversation_id = c.id AND m.client_msg_id = $2 \
         WHERE c.id = $1 FOR UPDATE OF c",
        prefixed("c", CONVERSATION_COLS),
        prefixed("m", MESSAGE_COLS)
    )
}

/// The message as it will be stored after `conv`'s last one, and the
/// conversation after it: worked out in memory under the caller's lock.
pub(super) fn next_message(conv: Conversation, m: NewMessage) -> (Appended, Option<Answer>) {
    let message = Message {
        id: m.id,
        conversation_id: m.conversation_id,
        shop_id: conv.shop_id,
        seq: conv.last_seq + 1,
        sender: m.sender,
        kind: m.kind,
        text: m.text.into_string(),
        client_msg_id: m.client_msg_id,
        created_at: m.at,
    };
    let answer = kefu_core::kpi::answer(&conv, &message);
    let conversation = conv.after(&message);
    (Appended { message, conversation, duplicate: false }, answer)
}

/// Writes one message worked out by [`next_message`] (with the wait it
/// answers, for the agent's figures) and commits `tx`.
pub(super) async fn commit_message(tx: &Pipelined, a: &Appended, answer: Option<Answer>) -> StoreResult<()> {
    let message = &a.message;
    let (sender_kind, sender_id) = codec::sender_columns(message.sender);
    // The row and the conversation's counters in one statement: one round
    // trip and one execution in the server instead of two, for every
    // message. An agent's answer also adds to their day in it ($16 on);
    // other messages (most of them: shoppers') go without that part.
    static PLAIN: LazyLock<String> = LazyLock::new(|| message_sql(""));
    static ANSWER: LazyLock<String> = LazyLock::new(|| {
        message_sql(&format!(
            ", counted AS (INSERT INTO agent_days ({}) VALUES ($16, $3, $6, $17, 1, $13, $18, $19, $20, $21) {})",
            codec::DAY_COLUMNS,
            codec::ADD_TO_DAY
        ))
    });
    let d = answer.map(|a| a.counts()).unwrap_or_default();
    let params: [&(dyn ToSql + Sync); 21] = [
        &message.id.as_uuid(),
        &message.conversation_id.as_uuid(),
        &message.shop_id.as_uuid(),
        &message.seq,
        &sender_kind,
        &sender_id,
        &message.kind.as_str(),
        &message.text,
        &message.client_msg_id.as_ref().map(|c| c.as_str()),
        &message.created_at.millis(),
        &a.conversation.waiting_since.map(Timestamp::millis),
        &a.conversation.answered_at.map(Timestamp::millis),
        &answer.map(|x| x.waited_ms),
        &answer.map(|x| x.first),
        &a.conversation.last_answer_at.map(Timestamp::millis),
        &message.created_at.china_day(),
        &d.chats,
        &d.first_answers,
        &d.first_within_30s,
        &d.within_3m,
        &d.within_5m,
    ];
    match answer {
        Some(_) => tx.commit_with(&ANSWER, &params).await?,
        None => tx.commit_with(&PLAIN, &params[..15]).await?,
    };
    Ok(())
}

/// The append's one statement, with `counting` (a further data-modifying
/// CTE, or nothing) between the message's insert and the conversation's update.
fn message_sql(counting: &str) -> String {
    format!(
        "WITH inserted AS (INSERT INTO messages ({MESSAGE_COLS}, waited_ms, first_answer) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $13, $14)){counting} \
         UPDATE conversations SET last_seq = $4, waiting_since = $11, updated_at = $10, answered_at = $12, \
           last_answer_at = $15 WHERE id = $2"
    )
}

/// `Store::response_counts`: both reads in one snapshot.
pub(super) async fn response_counts(
    store: &PostgresStore,
    scope: Scope,
    period: Period,
    window: ReplyWindow,
) -> StoreResult<Vec<(AgentId, ResponseCounts)>> {
    static AGENT: LazyLock<[String; 2]> = LazyLock::new(|| {
        codec::response_counts_sql(Scope::Agent(AgentId::from_uuid(Uuid::nil())), |n| format!("${n}"))
    });
    static SHOP: LazyLock<[String; 2]> =
        LazyLock::new(|| codec::response_counts_sql(Scope::Shop(ShopId::from_uuid(Uuid::nil())), |n| format!("${n}")));
    let ([days_sql, late_sql], key) = match scope {
        Scope::Agent(a) => (&*AGENT, a.as_uuid()),
        Scope::Shop(s) => (&*SHOP, s.as_uuid()),
    };
    let mut conn = store.client().await?;
    let tx = conn
        .build_transaction()
        .read_only(true)
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await
        .map_err(be)?;
    let days = query_prepared(&tx, days_sql, &[&period.day(), &key])
        .await?
        .iter()
        .map(|r| {
            let day = DayCounts {
                chats: r.get(1),
                answers: r.get(2),
                waited_ms: r.get(3),
                first_answers: r.get(4),
                first_within_30s: r.get(5),
                within_3m: r.get(6),
                within_5m: r.get(7),
                missed_offers: r.get(8),
            };
            (AgentId::from_uuid(r.get(0)), day)
        })
        .collect();
    let late = match period.late_at() {
        Some(now) => query_prepared(&tx, late_sql, &[&key, &window.millis(), &now.millis()])
            .await?
            .iter()
            .map(|r| (AgentId::from_uuid(r.get(0)), u32::try_from(r.get::<_, i64>(1)).unwrap_or(u32::MAX)))
            .collect(),
        None => Vec::new(),
    };
    tx.commit().await.map_err(be)?;
    Ok(codec::merge_response_counts(days, late, window))
}

pub(super) async fn load_conversation(
    c: &impl GenericClient,
    id: ConversationId,
    lock: bool,
) -> StoreResult<Conversation> {
    let sql =
        format!("SELECT {CONVERSATION_COLS} FROM conversations WHERE id = $1{}", if lock { " FOR UPDATE" } else { "" });
    let row = query_opt_prepared(c, &sql, &[&id.as_uuid()]).await?.ok_or(StoreError::NotFound("conversation"))?;
    conversation_from(&row, 0)
}

pub(super) async fn open_load(c: &impl GenericClient, agent: AgentId) -> StoreResult<u32> {
    let n: i64 = c
        .query_one(
            "SELECT COUNT(*) FROM conversations WHERE assigned_agent = $1 AND status = 'assigned'",
            &[&agent.as_uuid()],
        )
        .await
        .map_err(be)?
        .get(0);
    Ok(n as u32)
}

pub(super) async fn lock_agent(c: &impl GenericClient, agent: AgentId) -> StoreResult<()> {
    c.query_opt("SELECT id FROM agents WHERE id = $1 FOR UPDATE", &[&agent.as_uuid()])
        .await
        .map_err(be)?
        .ok_or(StoreError::NotFound("agent"))?;
    Ok(())
}

pub(super) async fn save_agent_links(c: &impl GenericClient, agent: &Agent) -> StoreResult<()> {
    let id = agent.id.as_uuid();
    c.execute("DELETE FROM agent_shops WHERE agent_id = $1", &[&id]).await.map_err(be)?;
    c.execute("DELETE FROM agent_skill_groups WHERE agent_id = $1", &[&id]).await.map_err(be)?;
    for shop in &agent.shops {
        c.execute("INSERT INTO agent_shops (agent_id, shop_id) VALUES ($1, $2)", &[&id, &shop.as_uuid()])
            .await
            .map_err(be)?;
    }
    for group in &agent.skill_groups {
        c.execute("INSERT INTO agent_skill_groups (agent_id, group_id) VALUES ($1, $2)", &[&id, &group.as_uuid()])
            .await
            .map_err(be)?;
    }
    Ok(())
}

pub(super) fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}
