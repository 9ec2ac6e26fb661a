//! Bot conversations over a shopper's real orders: each story is a few
//! turns, checked for the replies' content, the actions and the hand-offs.

use std::collections::HashMap;

use kefu_bot::flow::{Action, BotState, Facts, HandoffReason, OrderFacts, Turn, respond};
use kefu_bot::rules::ShopRules;
use kefu_core::catalog::CategoryPath;
use kefu_core::clock::Timestamp;
use kefu_core::customer::{Customer, Tier};
use kefu_core::id::{CustomerId, OrderId, ShipmentId, ShopId};
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
        },
        OrderFacts { order: shipped, shipments: vec![shipment] },
        OrderFacts {
            order: order(3, DRESS, OrderStatus::Delivered, "DR-1", "碎花连衣裙", 19_900, 7 * DAY),
            shipments: vec![],
        },
        OrderFacts {
            order: order(4, CHERRY, OrderStatus::Delivered, "CH-1", "智利车厘子", 29_900, 7 * DAY),
            shipments: vec![],
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
    }
}

impl World {
    fn say(&self, state: &mut BotState, text: &str) -> Turn {
        let facts = Facts {
            customer: &self.customer,
            orders: &self.orders,
            categories: &self.categories,
            rules: &self.rules,
            extractor: &self.extractor,
            now: NOW,
        };
        respond(&facts, state, text)
    }
}

fn all(turn: &Turn) -> String {
    turn.replies.join("\n")
}

#[test]
fn logistics_with_a_pick_list_then_the_timeline() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, "我的快递到哪了");
    assert_eq!(t.audit.intent, "logistics");
    assert!(all(&t).contains(FRIDGE) && all(&t).contains(PHONE), "{}", all(&t));
    let t = w.say(&mut state, "2");
    assert!(all(&t).contains("SF1234567890123") && all(&t).contains("到达北京转运中心"), "{}", all(&t));
    assert_eq!(state.order_no.as_deref(), Some(PHONE));
}

#[test]
fn an_order_number_in_the_message_skips_the_list() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, &format!("订单{PHONE}到哪了"));
    assert!(all(&t).contains("顺丰"), "{}", all(&t));
}

#[test]
fn urging_records_the_urge_and_quotes_the_promise() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, "怎么还不发货啊");
    let promised = Timestamp(NOW.0 - 10 * HOUR + 48 * HOUR);
    assert_eq!(t.actions, [Action::RecordUrge { order_no: FRIDGE.into(), promised_by: promised }]);
    assert!(all(&t).contains("2026-11-24 02:00"), "{}", all(&t));
    assert!(t.handoff.is_none());
}

#[test]
fn cancelling_asks_for_confirmation_and_refuses_shipped_orders() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, "我要取消订单");
    assert!(t.actions.is_empty());
    assert!(all(&t).contains("确认"), "{}", all(&t));
    let t = w.say(&mut state, "确认");
    assert_eq!(t.actions, [Action::CancelOrder { order_no: FRIDGE.into() }]);

    let mut state = BotState::default();
    let t = w.say(&mut state, &format!("订单{PHONE}不要了帮我取消"));
    assert!(t.actions.is_empty());
    assert!(all(&t).contains("拦截") && all(&t).contains("拒收"), "{}", all(&t));
    assert_eq!(t.audit.outcome, "refused:already_shipped");
}

#[test]
fn returns_follow_the_shop_rules() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, &format!("订单{DRESS}不喜欢 想退货"));
    assert!(matches!(t.actions.as_slice(), [Action::AfterSale { sku, exchange: false, .. }] if sku == "DR-1"), "{t:?}");

    let mut state = BotState::default();
    let t = w.say(&mut state, &format!("订单{CHERRY}不喜欢 想退货"));
    assert!(t.actions.is_empty());
    assert_eq!(t.audit.outcome, "refused:category_excluded");
    assert!(all(&t).contains("生鲜"), "{}", all(&t));

    // No reason given: the bot asks, then decides.
    let mut state = BotState::default();
    let t = w.say(&mut state, &format!("订单{CHERRY}我要退货"));
    assert_eq!(t.audit.outcome, "asked:return_reason");
    let t = w.say(&mut state, "收到的时候有一半都坏了，质量有问题");
    assert!(matches!(t.actions.as_slice(), [Action::AfterSale { .. }]), "{t:?}");
}

#[test]
fn changing_the_address_before_shipment() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, "地址写错了能改吗");
    assert_eq!(t.audit.outcome, "asked:address", "{t:?}");
    let t = w.say(&mut state, "浙江省杭州市西湖区文三路100号");
    match t.actions.as_slice() {
        [Action::ChangeAddress { order_no, province, city, .. }] => {
            assert_eq!(order_no, FRIDGE);
            assert_eq!(province.as_deref(), Some("浙江"));
            assert_eq!(city.as_deref(), Some("杭州"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_invoice_checks_the_credit_code_and_the_email() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, &format!("订单{DRESS}开个发票"));
    assert_eq!(t.audit.outcome, "asked:invoice");
    w.say(&mut state, "杭州某某科技有限公司");
    let t = w.say(&mut state, "91350100M000100Y44");
    assert_eq!(t.audit.outcome, "refused:invalid_credit_code");
    assert!(all(&t).contains("校验位"), "{}", all(&t));
    let t = w.say(&mut state, "91350100M000100Y43");
    assert_eq!(t.audit.outcome, "asked:invoice");
    let t = w.say(&mut state, "finance@example.com");
    assert!(matches!(t.actions.as_slice(), [Action::InvoiceTask { .. }]), "{t:?}");
}

#[test]
fn hand_offs_on_request_anger_misunderstanding_and_vip_complaints() {
    let w = world(Tier::Normal, 0);
    let t = w.say(&mut BotState::default(), "转人工");
    assert_eq!(t.handoff.map(|h| h.reason), Some(HandoffReason::Requested));

    let t = w.say(&mut BotState::default(), "你们这群骗子 垃圾商家 我要去12315投诉！！！");
    let h = t.handoff.expect("handoff");
    assert_eq!(h.reason, HandoffReason::Angry);
    assert_eq!(h.priority, 2);
    assert!(h.summary.contains("情绪"), "{}", h.summary);

    let mut state = BotState::default();
    let t = w.say(&mut state, "今天天气怎么样");
    assert!(t.handoff.is_none());
    let t = w.say(&mut state, "给我讲个笑话吧");
    assert_eq!(t.handoff.map(|h| h.reason), Some(HandoffReason::Misunderstood));

    let vip = world(Tier::Plus, 2);
    let t = vip.say(&mut BotState::default(), "在吗");
    let h = t.handoff.expect("handoff");
    assert_eq!(h.reason, HandoffReason::VipWithComplaints);
    assert!(h.summary.contains("PLUS"), "{}", h.summary);
}

#[test]
fn english_shoppers_get_english_replies() {
    let w = world(Tier::Normal, 0);
    let mut state = BotState::default();
    let t = w.say(&mut state, "where is my package");
    assert!(all(&t).contains("Which order"), "{}", all(&t));
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
    }
}
