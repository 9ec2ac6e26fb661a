//! What no story can list: any message, in any state the bot can be in,
//! gets a reply or a hand-off. The dialogue stories themselves are YAML
//! files under `stories/` (tests/stories.rs, `kefu bot test`).

use std::collections::HashMap;

use kefu_bot::flow::{BotState, Facts, Input, OrderFacts, Turn, respond_to};
use kefu_bot::knowledge::Knowledge;
use kefu_bot::rules::ShopRules;
use kefu_core::catalog::CategoryPath;
use kefu_core::clock::Timestamp;
use kefu_core::customer::{Customer, Tier};
use kefu_core::id::{CustomerId, KnowledgeId, OrderId, ShipmentId, ShopId};
use kefu_core::knowledge::KnowledgeEntry;
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus, Shipment, ShipmentEvent};
use kefu_nlu::entities::{CatalogueEntry, Extractor};
use uuid::Uuid;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-11-22 12:00 in Beijing.
const NOW: Timestamp = Timestamp(1_795_320_000_000);

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn customer(tier: Tier, complaints: u32) -> Customer {
    Customer {
        id: CustomerId::from_uuid(id(1)),
        shop_id: ShopId::from_uuid(id(2)),
        external_id: Some("c1".into()),
        nickname: "小王".into(),
        tier,
        tags: vec![],
        phone: None,
        lifetime_spend: Fen(0),
        complaint_count: complaints,
        created_at: Timestamp(0),
    }
}

fn order(n: u128, no: &str, status: OrderStatus, sku: &str, name: &str, price: i64, paid_ago: i64) -> Order {
    let paid = Timestamp(NOW.0 - paid_ago);
    Order {
        id: OrderId::from_uuid(id(100 + n)),
        shop_id: ShopId::from_uuid(id(2)),
        order_no: OrderNo::parse(no).expect("order no"),
        customer_id: CustomerId::from_uuid(id(1)),
        status,
        items: vec![OrderItem { sku: sku.into(), name: name.into(), quantity: 1, unit_price: Fen(price) }],
        total: Fen(price),
        province: "北京".into(),
        city: "北京".into(),
        address: "朝阳区某路1号".into(),
        created_at: paid,
        paid_at: Some(paid),
        shipped_at: status.has_shipped().then_some(paid.plus_millis(20 * HOUR)),
        delivered_at: matches!(status, OrderStatus::Delivered).then_some(Timestamp(NOW.0 - 3 * DAY)),
        completed_at: None,
        cancelled_at: None,
        updated_at: paid,
    }
}

struct World {
    customer: Customer,
    orders: Vec<OrderFacts>,
    categories: HashMap<String, CategoryPath>,
    rules: ShopRules,
    extractor: Extractor,
    knowledge: Knowledge,
}

const FRIDGE: &str = "JD2026112000001";
const PHONE: &str = "JD2026111800002";
const DRESS: &str = "JD2026111500003";
const CHERRY: &str = "JD2026111500004";

fn world(tier: Tier, complaints: u32) -> World {
    let shipped = order(2, PHONE, OrderStatus::Shipped, "PH-1", "小米15 Pro", 499_900, 3 * DAY);
    let shipment = Shipment {
        id: ShipmentId::from_uuid(id(300)),
        shop_id: ShopId::from_uuid(id(2)),
        order_id: shipped.id,
        carrier: "顺丰".into(),
        tracking_no: "SF1234567890123".into(),
        events: vec![
            ShipmentEvent {
                at: Timestamp(NOW.0 - 2 * DAY), location: "深圳".into(), description: "已揽收".into()
            },
            ShipmentEvent {
                at: Timestamp(NOW.0 - DAY),
                location: "北京".into(),
                description: "到达北京转运中心".into(),
            },
        ],
        updated_at: NOW,
    };
    let orders = vec![
        OrderFacts {
            order: order(1, FRIDGE, OrderStatus::Paid, "FR-1", "海尔冰箱", 399_900, 10 * HOUR),
            shipments: vec![],
            open_requests: vec![],
        },
        OrderFacts { order: shipped, shipments: vec![shipment], open_requests: vec![] },
        OrderFacts {
            order: order(3, DRESS, OrderStatus::Delivered, "DR-1", "碎花连衣裙", 19_900, 7 * DAY),
            shipments: vec![],
            open_requests: vec![],
        },
        OrderFacts {
            order: order(4, CHERRY, OrderStatus::Delivered, "CH-1", "智利车厘子", 29_900, 7 * DAY),
            shipments: vec![],
            open_requests: vec![],
        },
    ];
    let categories =
        [("FR-1", "家用电器/冰箱"), ("PH-1", "手机数码/手机"), ("DR-1", "服饰/女装/连衣裙"), ("CH-1", "生鲜/水果")]
            .into_iter()
            .map(|(sku, path)| (sku.to_owned(), CategoryPath::parse(path).expect("path")))
            .collect();
    let catalogue: Vec<CatalogueEntry> = Vec::new();
    World {
        customer: customer(tier, complaints),
        orders,
        categories,
        rules: ShopRules::default(),
        extractor: Extractor::new(kefu_nlu::entities::DEFAULT_ORDER_PATTERN, &catalogue).expect("extractor"),
        knowledge: Knowledge::new([KnowledgeEntry {
            id: KnowledgeId::from_uuid(id(500)),
            shop_id: ShopId::from_uuid(id(2)),
            question: "你们发什么快递".into(),
            alternates: vec!["默认走哪家快递".into()],
            answer: "默认顺丰。".into(),
            category: None,
            enabled: true,
            updated_at: NOW,
        }]),
    }
}

impl World {
    fn say(&self, state: &mut BotState, text: &str) -> Turn {
        self.say_with(kefu_nlu::builtin::intent_model(), state, text)
    }

    fn say_with(&self, intents: &kefu_nlu::Classifier, state: &mut BotState, text: &str) -> Turn {
        self.send(intents, state, Input::Text(text))
    }

    fn send(&self, intents: &kefu_nlu::Classifier, state: &mut BotState, input: Input<'_>) -> Turn {
        let facts = Facts {
            customer: &self.customer,
            orders: &self.orders,
            categories: &self.categories,
            rules: &self.rules,
            extractor: &self.extractor,
            knowledge: &self.knowledge,
            intents,
            now: NOW,
            people: kefu_core::service::PeopleNow::Answering,
        };
        respond_to(&facts, state, input)
    }
}

#[test]
fn a_shop_model_reads_the_shops_own_words() {
    // This shop's shoppers call their parcel 小蜜蜂; the shop trained a model on that.
    let phrases = [
        ("我的小蜜蜂飞到哪了", "logistics"),
        ("小蜜蜂飞到哪儿了", "logistics"),
        ("小蜜蜂啥时候飞到", "logistics"),
        ("小蜜蜂到哪了呀", "logistics"),
        ("你好", "greeting"),
        ("在吗", "greeting"),
        ("亲在吗", "greeting"),
        ("你好呀", "greeting"),
        ("今天天气怎么样", "oos"),
        ("讲个笑话", "oos"),
        ("天气如何", "oos"),
        ("笑话来一个", "oos"),
    ];
    let examples: Vec<kefu_nlu::Example> = phrases
        .iter()
        .map(|(text, label)| kefu_nlu::Example { text: (*text).into(), label: (*label).into(), group: None })
        .collect();
    let config = kefu_nlu::TrainConfig { min_df: 1, ..kefu_nlu::TrainConfig::default() };
    let shop_model = kefu_nlu::Classifier::train(&examples, &config, &|_, _, _| {}).expect("train");
    kefu_bot::intents::check(&shop_model).expect("only names the flows know");

    let w = world(Tier::Normal, 0);
    let t = w.say_with(&shop_model, &mut BotState::default(), "我的小蜜蜂飞到哪里了");
    assert_eq!(t.audit.intent, "logistics", "{t:?}");
    // Two orders could be meant: the logistics flow asks which, as it does for 我的快递到哪了.
    assert!(t.replies.iter().any(|r| r.contains(PHONE)), "{t:?}");
}

#[test]
fn odd_messages_get_a_sensible_reply() {
    let w = world(Tier::Normal, 0);
    let long = "我的快递到哪了".repeat(500); // ~10 KB
    let cases = [
        String::new(),
        long,
        "\u{0}\u{7}\u{1b}[31m\r\n".to_owned(),
        "😡😡😡👍🏻❤️".to_owned(),
        "hi 我的 order JD2026112000001 где посылка 🚚".to_owned(),
        "\u{202e}\u{200d}\u{feff}".to_owned(),
    ];
    for text in cases {
        let t = w.say(&mut BotState::default(), &text);
        assert!(!t.replies.is_empty(), "{text:?}: {t:?}");
        assert!(t.replies.iter().all(|r| !r.trim().is_empty()), "{text:?}: {t:?}");
    }
}

mod properties {
    use super::*;
    use kefu_bot::flow::Pending;
    use proptest::prelude::*;

    fn pending() -> impl Strategy<Value = Option<Pending>> {
        prop_oneof![
            Just(None),
            Just(Some(Pending::PickOrder {
                intent: "logistics".into(),
                candidates: vec![FRIDGE.into(), PHONE.into()]
            })),
            Just(Some(Pending::ConfirmCancel { order_no: FRIDGE.into() })),
            Just(Some(Pending::NewAddress { order_no: FRIDGE.into() })),
            Just(Some(Pending::ReturnReason { order_no: DRESS.into(), exchange: true })),
            Just(Some(Pending::InvoiceTitle { order_no: DRESS.into() })),
            Just(Some(Pending::InvoiceCreditCode { order_no: DRESS.into(), company: "某公司".into() })),
            Just(Some(Pending::InvoiceEmail { order_no: DRESS.into(), company: None })),
            // A state naming an order the shopper does not have (e.g. deleted since).
            Just(Some(Pending::ConfirmCancel { order_no: "JD0000000000".into() })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn any_message_in_any_state_gets_a_reply_or_a_handoff(
            text in prop_oneof![any::<String>(), "[0-9第一二个确认是好退货发票转人工@.a-z ]{0,30}"],
            pending in pending(),
            misunderstood in 0u32..3,
        ) {
            let w = world(Tier::Normal, 0);
            let mut state = BotState { pending, misunderstood, ..BotState::default() };
            let t = w.say(&mut state, &text);
            prop_assert!(!t.replies.is_empty() || t.handoff.is_some(), "{t:?}");
            prop_assert!(!t.audit.outcome.is_empty());
        }

        /// A card may name an order the bot did not read (older than the
        /// orders it looks through, or gone since the card was checked).
        #[test]
        fn any_order_card_in_any_state_gets_a_reply_or_a_handoff(
            no in prop_oneof![
                Just(FRIDGE.to_owned()), Just(PHONE.to_owned()), Just(DRESS.to_owned()), Just(CHERRY.to_owned()),
                "[A-Z0-9-]{4,40}",
            ],
            pending in pending(),
            misunderstood in 0u32..3,
        ) {
            let w = world(Tier::Normal, 0);
            let mut state = BotState { pending, misunderstood, ..BotState::default() };
            let t = w.send(kefu_nlu::builtin::intent_model(), &mut state, Input::OrderCard(&no));
            prop_assert!(!t.replies.is_empty() || t.handoff.is_some(), "{t:?}");
            prop_assert!(!t.audit.outcome.is_empty());
        }

        /// An image in any state goes to people, with a word to the shopper.
        #[test]
        fn any_image_in_any_state_is_handed_to_people(pending in pending(), misunderstood in 0u32..3) {
            let w = world(Tier::Normal, 0);
            let mut state = BotState { pending, misunderstood, ..BotState::default() };
            let t = w.send(kefu_nlu::builtin::intent_model(), &mut state, Input::Image("0190d5f0-0000-7000-8000-000000000001"));
            prop_assert!(t.handoff.is_some() && !t.replies.is_empty(), "{t:?}");
        }

        /// A product card may name a SKU the bot has no category for.
        #[test]
        fn any_product_card_in_any_state_gets_a_reply_or_a_handoff(
            sku in prop_oneof![Just("FR-1".to_owned()), "[A-Za-z0-9_.-]{1,64}"],
            pending in pending(),
        ) {
            let w = world(Tier::Normal, 0);
            let mut state = BotState { pending, ..BotState::default() };
            let t = w.send(kefu_nlu::builtin::intent_model(), &mut state, Input::ProductCard(&sku));
            prop_assert!(!t.replies.is_empty() || t.handoff.is_some(), "{t:?}");
            prop_assert_eq!(state.product.as_deref(), Some(sku.as_str()));
            prop_assert!(state.pending.is_none(), "a product card ends the question the bot asked");
        }
    }
}
