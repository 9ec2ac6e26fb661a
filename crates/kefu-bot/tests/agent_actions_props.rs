//! An agent's action on an order is decided for any order, any time and any
//! ask: allowed with a reply, or refused with a code and words; never a
//! panic. A refusal that offers an exception offers it for review.

use kefu_bot::agent_actions::{Ask, Facts, decide};
use kefu_bot::flow::Action;
use kefu_bot::rules::ShopRules;
use kefu_core::aftersales::Reason;
use kefu_core::catalog::CategoryPath;
use kefu_core::clock::Timestamp;
use kefu_core::customer::Tier;
use kefu_core::id::{CustomerId, OrderId, ShopId};
use kefu_core::invoice::{Email, Title};
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus};
use proptest::prelude::*;

const T: i64 = 1_763_800_000_000;
const DAY: i64 = 86_400_000;

fn order(status: OrderStatus, paid: Option<i64>, delivered: Option<i64>, price: i64, qty: u32) -> Order {
    Order {
        id: OrderId::from_uuid(uuid::Uuid::from_u128(1)),
        shop_id: ShopId::from_uuid(uuid::Uuid::from_u128(2)),
        order_no: OrderNo::parse("26000001").expect("no"),
        customer_id: CustomerId::from_uuid(uuid::Uuid::from_u128(3)),
        status,
        items: vec![OrderItem { sku: "S1".into(), name: "商品".into(), quantity: qty, unit_price: Fen(price) }],
        total: Fen(price.saturating_mul(i64::from(qty))),
        province: String::new(),
        city: String::new(),
        address: String::new(),
        created_at: Timestamp(T),
        paid_at: paid.map(|d| Timestamp(T + d)),
        shipped_at: None,
        delivered_at: delivered.map(|d| Timestamp(T + d)),
        completed_at: None,
        cancelled_at: None,
        updated_at: Timestamp(T),
    }
}

fn ask() -> impl Strategy<Value = Ask> {
    let reason =
        prop_oneof![Just(Reason::NoReason), Just(Reason::Quality), Just(Reason::WrongItem), Just(Reason::Damaged)];
    prop_oneof![
        Just(Ask::Urge),
        Just(Ask::Cancel),
        Just(Ask::PriceProtection),
        (".{0,20}", ".{0,20}", ".{0,200}").prop_map(|(province, city, address)| Ask::Address {
            province,
            city,
            address
        }),
        (prop_oneof![Just("S1".to_owned()), ".{0,8}"], any::<bool>(), reason, any::<bool>())
            .prop_map(|(sku, exchange, reason, opened)| Ask::AfterSale { sku, exchange, reason, opened }),
        ".{1,30}".prop_map(|name| Ask::Invoice {
            title: Title::Personal { name },
            email: Email::parse("a@b.cn").expect("email"),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_action_on_any_order_is_decided(
        status in prop::sample::select(OrderStatus::ALL.to_vec()),
        paid in prop::option::of(-400 * DAY..400 * DAY),
        delivered in prop::option::of(-400 * DAY..400 * DAY),
        now in -400 * DAY..400 * DAY,
        price in prop_oneof![0i64..100_000_000, 0i64..i64::MAX],
        qty in prop_oneof![0u32..1_000, any::<u32>()],
        category in prop::sample::select(vec!["生鲜/水果", "美妆/护肤", "服饰/女装", "定制/刻字"]),
        tier in prop::sample::select(vec![Tier::Normal, Tier::Plus, Tier::Vip]),
        ask in ask(),
    ) {
        let rules = ShopRules::default();
        let o = order(status, paid, delivered, price, qty);
        let path = CategoryPath::parse(category).expect("category");
        let facts = Facts { rules: &rules, order: &o, tier, category: Some(&path), now: Timestamp(T + now) };
        match decide(&facts, ask) {
            Ok(allowed) => prop_assert!(allowed.reply.contains("26000001"), "{}", allowed.reply),
            Err(refused) => {
                prop_assert!(!refused.code.is_empty() && !refused.message.is_empty());
                if let Some(action) = refused.exception {
                    let for_review = matches!(*action, Action::AfterSale { needs_review: true, .. });
                    prop_assert!(for_review);
                }
            }
        }
    }
}
