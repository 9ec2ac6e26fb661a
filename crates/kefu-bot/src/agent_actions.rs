//! What an agent may do to a shopper's order from the workspace (催发货,
//! 取消, 改地址, 售后, 价保, 发票), under the same shop rules the bot
//! applies: pure, like the bot's flows. The answer is the [`Action`] the
//! bot would have taken, so the request it files reads the same whoever
//! filed it, and a reply the agent may send the shopper.

use kefu_core::aftersales::{self, Decision};
use kefu_core::catalog::CategoryPath;
use kefu_core::clock::Timestamp;
use kefu_core::customer::Tier;
use kefu_core::invoice::{Email, Title};
use kefu_core::order::{Order, OrderStatus};

use crate::flow::{Action, local_time};
use crate::rules::ShopRules;

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Urge,
    Cancel,
    Address { province: String, city: String, address: String },
    AfterSale { sku: String, exchange: bool, reason: aftersales::Reason, opened: bool },
    PriceProtection,
    Invoice { title: Title, email: Email },
}

/// What the rules allow: the action to file and a reply for the shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub action: Action,
    pub reply: String,
}

/// Why the rules refuse, with a stable code and words for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `already_shipped`, `not_paid`, `order_closed`, `price_protection_window`,
    /// or an after-sales refusal's code (`window_passed`, `category_excluded`…).
    pub code: &'static str,
    pub message: String,
    /// For an after-sales request a senior may still grant (特批): the
    /// action as it would be filed, always for review.
    pub exception: Option<Box<Action>>,
}

/// The facts a decision reads: the order as it is now, the shopper's tier,
/// the category of the item concerned (for after-sales), the time.
pub struct Facts<'a> {
    pub rules: &'a ShopRules,
    pub order: &'a Order,
    pub tier: Tier,
    pub category: Option<&'a CategoryPath>,
    pub now: Timestamp,
}

pub fn decide(f: &Facts<'_>, ask: Ask) -> Result<Allowed, Refused> {
    let order = f.order;
    let no = order.order_no.as_str().to_owned();
    let refuse = |code, message: String| Err(Refused { code, message, exception: None });
    let closed = matches!(order.status, OrderStatus::Cancelled | OrderStatus::Refunded);
    match ask {
        Ask::Urge => {
            if order.status.has_shipped() {
                return refuse("already_shipped", format!("订单{no}已发货，无需催发货，可查看物流。"));
            }
            if closed {
                return refuse("order_closed", format!("订单{no}已取消或已退款。"));
            }
            let Some(paid) = order.paid_at else {
                return refuse("not_paid", format!("订单{no}还未付款，付款后才会发货。"));
            };
            let by = paid.plus_millis(i64::from(f.rules.promised_ship_hours) * HOUR_MS);
            let reply = if f.now > by {
                format!("亲，订单{no}已超过承诺发货时间，已为您加急催促仓库，今天会优先安排发出，给您添麻烦了。")
            } else {
                format!("亲，已为您催促仓库，订单{no}会在{}前发出，请您耐心等待。", local_time(by))
            };
            Ok(Allowed { action: Action::RecordUrge { order_no: no, promised_by: by }, reply })
        }
        Ask::Cancel => {
            if order.status.has_shipped() {
                return refuse(
                    "already_shipped",
                    format!("订单{no}已发货，不能直接取消：可拦截快递，或请买家拒收后退款。"),
                );
            }
            if !order.status.can_become(OrderStatus::Cancelled) {
                return refuse("order_closed", format!("订单{no}已取消或已退款。"));
            }
            let reply = format!("亲，订单{no}已为您取消，已付款项会在1-3个工作日内原路退回。");
            Ok(Allowed { action: Action::CancelOrder { order_no: no }, reply })
        }
        Ask::Address { province, city, address } => {
            if order.status.has_shipped() {
                return refuse(
                    "already_shipped",
                    format!("订单{no}已发货，地址不能再改：可联系快递改派，或拒收后重新下单。"),
                );
            }
            if closed {
                return refuse("order_closed", format!("订单{no}已取消或已退款。"));
            }
            let reply = format!("亲，订单{no}的收货地址已改为：{province}{city}{address}。");
            let action = Action::ChangeAddress {
                order_no: no,
                address,
                province: Some(province).filter(|p| !p.is_empty()),
                city: Some(city).filter(|c| !c.is_empty()),
            };
            Ok(Allowed { action, reply })
        }
        Ask::AfterSale { sku, exchange, reason, opened } => {
            let decision = f.rules.returns.check(&aftersales::Request {
                order,
                sku: &sku,
                category: f.category,
                kind: if exchange { aftersales::Kind::Exchange } else { aftersales::Kind::Return },
                reason,
                opened,
                tier: f.tier,
                now: f.now,
            });
            let what = if exchange { "换货" } else { "退货退款" };
            match decision {
                Decision::Allowed { needs_review, amount, .. } => {
                    let then = if exchange {
                        "审核后为您寄出新品".to_owned()
                    } else {
                        format!("退款¥{amount}原路退回")
                    };
                    let review = if needs_review { "金额较大需商家审核，" } else { "" };
                    let reply = format!(
                        "亲，已为您提交订单{no}的{what}申请（{}），{review}收到退货验收后{then}。",
                        reason.zh()
                    );
                    let action = Action::AfterSale { order_no: no, sku, exchange, reason, amount, needs_review };
                    Ok(Allowed { action, reply })
                }
                Decision::Refused(refusal) => {
                    let message = match &refusal {
                        aftersales::Refusal::ItemNotInOrder => format!("订单{no}中没有这件商品。"),
                        aftersales::Refusal::NotDelivered => {
                            format!("订单{no}还未签收：未发货可取消，已发货可拦截或拒收。")
                        }
                        aftersales::Refusal::OrderClosed => format!("订单{no}已取消或已退款。"),
                        aftersales::Refusal::AlreadyInAfterSale => format!("订单{no}已在售后中。"),
                        aftersales::Refusal::WindowPassed { days, deadline } => {
                            format!("已超过{days}天的售后期（截至{}）。", local_time(*deadline))
                        }
                        aftersales::Refusal::CategoryExcluded { category } => {
                            format!("{category}类商品不支持七天无理由退货。")
                        }
                        aftersales::Refusal::OpenedExcluded { category } => {
                            format!("{category}类商品拆封后不支持无理由退货。")
                        }
                        aftersales::Refusal::ExchangeNeedsReason => {
                            "换货适用于质量问题、发错货或破损；无理由可退货后重新下单。".to_owned()
                        }
                    };
                    // A senior may grant what the window or a category rule
                    // refuses; an item not in the order, an order not yet
                    // delivered or already closed is not theirs to grant.
                    let grantable = matches!(
                        refusal,
                        aftersales::Refusal::WindowPassed { .. }
                            | aftersales::Refusal::CategoryExcluded { .. }
                            | aftersales::Refusal::OpenedExcluded { .. }
                            | aftersales::Refusal::ExchangeNeedsReason
                    );
                    let exception =
                        grantable.then(|| order.items.iter().find(|i| i.sku == sku)).flatten().map(|item| {
                            Action::AfterSale {
                                order_no: no.clone(),
                                sku: sku.clone(),
                                exchange,
                                reason,
                                amount: item.amount(),
                                needs_review: true,
                            }
                        });
                    Err(Refused { code: refusal.code(), message, exception: exception.map(Box::new) })
                }
            }
        }
        Ask::PriceProtection => {
            if closed || order.status == OrderStatus::Created {
                return refuse("order_closed", format!("订单{no}未付款或已关闭，不能价保。"));
            }
            let days = f.rules.price_protection_days;
            if order.paid_at.is_none_or(|p| f.now > p.plus_days(i64::from(days))) {
                return refuse("price_protection_window", format!("订单{no}已超过{days}天价保期。"));
            }
            let reply = format!("亲，已为您提交订单{no}的价保申请，核实降价后差价将退回原支付账户。");
            Ok(Allowed { action: Action::PriceProtection { order_no: no }, reply })
        }
        Ask::Invoice { title, email } => {
            if closed || order.status == OrderStatus::Created {
                return refuse("order_closed", format!("订单{no}未付款或已关闭，不能开票。"));
            }
            let reply = format!("亲，已为您登记订单{no}的电子发票，开具后会发送到{}。", email.as_str());
            Ok(Allowed { action: Action::InvoiceTask { order_no: no, title, email }, reply })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_core::id::{CustomerId, OrderId, ShopId};
    use kefu_core::money::Fen;
    use kefu_core::order::{OrderItem, OrderNo};
    use uuid::Uuid;

    const T: Timestamp = Timestamp(1_763_800_000_000);

    fn order(status: OrderStatus) -> Order {
        Order {
            id: OrderId::from_uuid(Uuid::from_u128(1)),
            shop_id: ShopId::from_uuid(Uuid::from_u128(2)),
            order_no: OrderNo::parse("26000001").expect("no"),
            customer_id: CustomerId::from_uuid(Uuid::from_u128(3)),
            status,
            items: vec![OrderItem { sku: "S1".into(), name: "面霜".into(), quantity: 2, unit_price: Fen(10_000) }],
            total: Fen(20_000),
            province: "北京".into(),
            city: "北京".into(),
            address: "朝阳区".into(),
            created_at: T,
            paid_at: Some(T),
            shipped_at: None,
            delivered_at: matches!(status, OrderStatus::Delivered).then_some(T.plus_days(1)),
            completed_at: None,
            cancelled_at: None,
            updated_at: T,
        }
    }

    fn decide_at(o: &Order, category: &str, ask: Ask, now: Timestamp) -> Result<Allowed, Refused> {
        let rules = ShopRules::default();
        let path = CategoryPath::parse(category).expect("category");
        decide(&Facts { rules: &rules, order: o, tier: Tier::Normal, category: Some(&path), now }, ask)
    }

    fn after_sale(reason: aftersales::Reason, opened: bool) -> Ask {
        Ask::AfterSale { sku: "S1".into(), exchange: false, reason, opened }
    }

    #[test]
    fn cancel_and_address_only_before_shipment() {
        let paid = order(OrderStatus::Paid);
        assert!(matches!(decide_at(&paid, "美妆", Ask::Cancel, T).map(|a| a.action), Ok(Action::CancelOrder { .. })));
        let shipped = order(OrderStatus::Shipped);
        assert_eq!(decide_at(&shipped, "美妆", Ask::Cancel, T).expect_err("refused").code, "already_shipped");
        let address = Ask::Address { province: "上海".into(), city: "上海".into(), address: "浦东".into() };
        assert_eq!(decide_at(&shipped, "美妆", address, T).expect_err("refused").code, "already_shipped");
    }

    #[test]
    fn an_urge_quotes_the_promise_or_owns_the_delay() {
        let paid = order(OrderStatus::Paid);
        let on_time = decide_at(&paid, "美妆", Ask::Urge, T).expect("urge");
        assert!(on_time.reply.contains("前发出"), "{}", on_time.reply);
        let late = decide_at(&paid, "美妆", Ask::Urge, T.plus_days(10)).expect("urge");
        assert!(late.reply.contains("超过承诺发货时间"), "{}", late.reply);
        let unpaid = Order { paid_at: None, ..order(OrderStatus::Created) };
        assert_eq!(decide_at(&unpaid, "美妆", Ask::Urge, T).expect_err("refused").code, "not_paid");
    }

    #[test]
    fn after_sales_follow_the_shops_policy_and_seniors_may_grant_the_window() {
        let delivered = order(OrderStatus::Delivered);
        let ok =
            decide_at(&delivered, "美妆", after_sale(aftersales::Reason::Quality, true), T.plus_days(3)).expect("ok");
        assert!(matches!(ok.action, Action::AfterSale { amount: Fen(20_000), .. }));
        let opened = decide_at(&delivered, "美妆", after_sale(aftersales::Reason::NoReason, true), T.plus_days(3));
        let refused = opened.expect_err("refused");
        assert_eq!(refused.code, "opened_excluded");
        assert!(matches!(refused.exception.as_deref(), Some(Action::AfterSale { needs_review: true, .. })));
        let late = decide_at(&delivered, "服饰", after_sale(aftersales::Reason::NoReason, false), T.plus_days(30));
        assert_eq!(late.as_ref().expect_err("refused").code, "window_passed");
        assert!(late.expect_err("refused").exception.is_some());
        // Not delivered yet: nothing for a senior to grant (cancel instead).
        let paid = order(OrderStatus::Paid);
        let early = decide_at(&paid, "服饰", after_sale(aftersales::Reason::Quality, false), T).expect_err("refused");
        assert_eq!((early.code, early.exception), ("not_delivered", None));
        let missing =
            Ask::AfterSale { sku: "NOPE".into(), exchange: false, reason: aftersales::Reason::Quality, opened: false };
        assert_eq!(
            decide_at(&delivered, "服饰", missing, T.plus_days(2)).expect_err("refused").code,
            "item_not_in_order"
        );
    }

    #[test]
    fn price_protection_keeps_to_its_window() {
        let delivered = order(OrderStatus::Delivered);
        assert!(decide_at(&delivered, "服饰", Ask::PriceProtection, T.plus_days(2)).is_ok());
        let late = decide_at(&delivered, "服饰", Ask::PriceProtection, T.plus_days(400)).expect_err("refused");
        assert_eq!(late.code, "price_protection_window");
    }
}
