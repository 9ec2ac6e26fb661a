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

mod bot;
mod desk;
mod merchant;
mod notify;
mod requests;
mod team;
use bot::*;
use desk::*;
use merchant::*;
use notify::*;
use requests::*;
use team::*;

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
    racing_resends_of_one_message_store_it_once,
    assignment_respects_capacity_and_state,
    a_customer_has_one_open_conversation,
    conversation_list_filters_searches_and_sorts_by_longest_wait,
    closed_and_open_lists_are_separate_and_closed_is_newest_first,
    server_key_is_created_once,
    a_bot_turn_is_written_whole_or_not_at_all,
    a_shoppers_message_and_the_bots_answer_share_one_commit,
    a_bot_turn_decided_on_older_memory_is_refused,
    racing_resends_to_the_bot_are_answered_once,
    knowledge_entries_belong_to_one_shop,
    quick_phrases_belong_to_one_shop_with_unique_codes,
    images_round_trip_with_their_shopper,
    a_shops_daily_upload_budget_is_counted_with_each_image,
    a_shops_rules_are_stored_replaced_and_removed,
    orders_come_with_their_shipments,
    order_requests_are_filed_listed_and_closed_once,
    racing_after_sales_requests_file_one,
    the_bot_sees_open_requests_and_does_not_file_twice,
    requests_are_announced_in_their_own_transaction,
    deliveries_are_claimed_once_finished_and_sent_again,
    a_disabled_agent_is_signed_out_and_their_conversations_queued,
    the_queue_lists_a_shops_waiting_conversations_longest_wait_first,
    conversations_ending_and_their_ratings_are_announced,
    a_claim_leaves_each_shop_its_share,
    an_endpoint_is_sent_the_events_it_chose,
    someone_online_means_an_enabled_handler_of_the_shop,
    a_sweep_sets_absent_agents_offline_and_queues_their_waiting_shoppers,
    a_supervisor_takes_back_the_conversations_of_someone_not_online,
    offers_not_accepted_in_time_go_back_and_their_agent_away,
    a_freed_place_takes_the_next_shopper_its_agent_may_serve,
    answers_are_counted_for_the_agent_from_when_they_got_the_shopper,
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
        disabled: false,
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
            assigned_at: None,
            offered_until: None,
            answered_at: None,
            last_answer_at: None,
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
