//! After-sales eligibility: may this item of this order be returned,
//! exchanged or refunded now, under the shop's policy? Pure: the caller
//! passes the order, the item's category and the time.
//!
//! The defaults follow common Chinese marketplace practice: 七天无理由退货
//! within 7 days of delivery, quality problems returnable for 7 and
//! exchangeable for 15 days, fresh food / custom-made goods / opened
//! cosmetics excluded from no-reason returns, and large amounts reviewed by a
//! person. Each shop overrides them in its rules file.

use crate::catalog::CategoryPath;
use crate::clock::Timestamp;
use crate::customer::Tier;
use crate::money::Fen;
use crate::order::{Order, OrderStatus};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 退货退款.
    Return,
    /// 换货.
    Exchange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// 七天无理由: changed mind, does not fit, does not like it.
    NoReason,
    /// 质量问题.
    Quality,
    /// 发错货 / 少件.
    WrongItem,
    /// 运输破损.
    Damaged,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::NoReason => "no_reason",
            Reason::Quality => "quality",
            Reason::WrongItem => "wrong_item",
            Reason::Damaged => "damaged",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Reason::NoReason => "七天无理由",
            Reason::Quality => "质量问题",
            Reason::WrongItem => "发错货/少件",
            Reason::Damaged => "运输破损",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub no_reason_days: u32,
    pub quality_return_days: u32,
    pub quality_exchange_days: u32,
    /// Extra days for PLUS and VIP members.
    pub member_extra_days: u32,
    /// Categories (any level of the path) never returnable without a reason: 生鲜, 定制.
    pub no_reason_excluded: Vec<String>,
    /// Categories not returnable without a reason once opened: 美妆.
    pub opened_excluded: Vec<String>,
    /// Requests above this amount are allowed but go to a person to confirm.
    pub review_above: Fen,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            no_reason_days: 7,
            quality_return_days: 7,
            quality_exchange_days: 15,
            member_extra_days: 0,
            no_reason_excluded: vec!["生鲜".into(), "定制".into()],
            opened_excluded: vec!["美妆".into()],
            review_above: Fen(500_000),
        }
    }
}

pub struct Request<'a> {
    pub order: &'a Order,
    pub sku: &'a str,
    /// The item's category, when the catalogue knows it.
    pub category: Option<&'a CategoryPath>,
    pub kind: Kind,
    pub reason: Reason,
    pub opened: bool,
    pub tier: Tier,
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed {
        /// The last moment the request could be made.
        deadline: Timestamp,
        /// A person confirms before anything is refunded.
        needs_review: bool,
        amount: Fen,
    },
    Refused(Refusal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    ItemNotInOrder,
    /// Not delivered yet: cancel or intercept instead.
    NotDelivered,
    /// Already refunded or cancelled.
    OrderClosed,
    AlreadyInAfterSale,
    WindowPassed {
        days: u32,
        deadline: Timestamp,
    },
    CategoryExcluded {
        category: String,
    },
    OpenedExcluded {
        category: String,
    },
    /// Exchanges are for quality problems, wrong or damaged items; otherwise return and rebuy.
    ExchangeNeedsReason,
}

impl Refusal {
    /// Stable codes for audit records and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::ItemNotInOrder => "item_not_in_order",
            Refusal::NotDelivered => "not_delivered",
            Refusal::OrderClosed => "order_closed",
            Refusal::AlreadyInAfterSale => "already_in_after_sale",
            Refusal::WindowPassed { .. } => "window_passed",
            Refusal::CategoryExcluded { .. } => "category_excluded",
            Refusal::OpenedExcluded { .. } => "opened_excluded",
            Refusal::ExchangeNeedsReason => "exchange_needs_reason",
        }
    }
}

impl Policy {
    pub fn check(&self, r: &Request<'_>) -> Decision {
        let Some(item) = r.order.items.iter().find(|i| i.sku == r.sku) else {
            return Decision::Refused(Refusal::ItemNotInOrder);
        };
        match r.order.status {
            OrderStatus::Cancelled | OrderStatus::Refunded => return Decision::Refused(Refusal::OrderClosed),
            OrderStatus::AfterSale => return Decision::Refused(Refusal::AlreadyInAfterSale),
            OrderStatus::Created | OrderStatus::Paid | OrderStatus::Shipped => {
                return Decision::Refused(Refusal::NotDelivered);
            }
            OrderStatus::Delivered | OrderStatus::Completed => {}
        }
        let Some(delivered) = r.order.delivered_at else { return Decision::Refused(Refusal::NotDelivered) };
        if r.kind == Kind::Exchange && r.reason == Reason::NoReason {
            return Decision::Refused(Refusal::ExchangeNeedsReason);
        }
        let in_category = |names: &[String]| -> Option<String> {
            let path = r.category?;
            names.iter().find(|n| path.levels().iter().any(|level| level == *n)).cloned()
        };
        if r.reason == Reason::NoReason {
            if let Some(category) = in_category(&self.no_reason_excluded) {
                return Decision::Refused(Refusal::CategoryExcluded { category });
            }
            if r.opened
                && let Some(category) = in_category(&self.opened_excluded)
            {
                return Decision::Refused(Refusal::OpenedExcluded { category });
            }
        }
        let base = match (r.reason, r.kind) {
            (Reason::NoReason, _) => self.no_reason_days,
            (_, Kind::Return) => self.quality_return_days.max(self.no_reason_days),
            (_, Kind::Exchange) => self.quality_exchange_days,
        };
        let member = matches!(r.tier, Tier::Plus | Tier::Vip);
        let days = base + if member { self.member_extra_days } else { 0 };
        let deadline = Timestamp(delivered.0 + i64::from(days) * DAY_MS);
        if r.now > deadline {
            return Decision::Refused(Refusal::WindowPassed { days, deadline });
        }
        let amount = item.amount();
        Decision::Allowed { deadline, needs_review: amount > self.review_above, amount }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{CustomerId, OrderId, ShopId};
    use crate::order::{OrderItem, OrderNo};
    use uuid::Uuid;

    const DELIVERED: Timestamp = Timestamp(1_763_000_000_000);

    fn order(status: OrderStatus, price: i64) -> Order {
        Order {
            id: OrderId::from_uuid(Uuid::from_u128(1)),
            shop_id: ShopId::from_uuid(Uuid::from_u128(2)),
            order_no: OrderNo::parse("JD1234567890").expect("order no"),
            customer_id: CustomerId::from_uuid(Uuid::from_u128(3)),
            status,
            items: vec![OrderItem { sku: "S1".into(), name: "商品".into(), quantity: 1, unit_price: Fen(price) }],
            total: Fen(price),
            province: "北京".into(),
            city: "北京".into(),
            address: "x".into(),
            created_at: Timestamp(DELIVERED.0 - 5 * DAY_MS),
            paid_at: None,
            shipped_at: None,
            delivered_at: (status == OrderStatus::Delivered).then_some(DELIVERED),
            completed_at: None,
            cancelled_at: None,
            updated_at: DELIVERED,
        }
    }

    fn check(o: &Order, category: &str, kind: Kind, reason: Reason, opened: bool, days_after: i64) -> Decision {
        let path = CategoryPath::parse(category).expect("category");
        Policy::default().check(&Request {
            order: o,
            sku: "S1",
            category: Some(&path),
            kind,
            reason,
            opened,
            tier: Tier::Normal,
            now: Timestamp(DELIVERED.0 + days_after * DAY_MS),
        })
    }

    fn code(d: Decision) -> &'static str {
        match d {
            Decision::Allowed { needs_review: true, .. } => "review",
            Decision::Allowed { .. } => "allowed",
            Decision::Refused(r) => r.code(),
        }
    }

    #[test]
    fn seven_days_no_reason_then_quality_only() {
        let o = order(OrderStatus::Delivered, 19_900);
        assert_eq!(code(check(&o, "服饰/女装", Kind::Return, Reason::NoReason, false, 3)), "allowed");
        assert_eq!(code(check(&o, "服饰/女装", Kind::Return, Reason::NoReason, false, 8)), "window_passed");
        assert_eq!(code(check(&o, "服饰/女装", Kind::Exchange, Reason::Quality, false, 12)), "allowed");
        assert_eq!(code(check(&o, "服饰/女装", Kind::Exchange, Reason::Quality, false, 16)), "window_passed");
        assert_eq!(code(check(&o, "服饰/女装", Kind::Exchange, Reason::NoReason, false, 1)), "exchange_needs_reason");
    }

    #[test]
    fn excluded_categories_and_opened_cosmetics() {
        let o = order(OrderStatus::Delivered, 9_900);
        assert_eq!(code(check(&o, "生鲜/水果/车厘子", Kind::Return, Reason::NoReason, false, 1)), "category_excluded");
        assert_eq!(code(check(&o, "生鲜/水果/车厘子", Kind::Return, Reason::Quality, false, 1)), "allowed");
        assert_eq!(code(check(&o, "美妆/面霜", Kind::Return, Reason::NoReason, true, 1)), "opened_excluded");
        assert_eq!(code(check(&o, "美妆/面霜", Kind::Return, Reason::NoReason, false, 1)), "allowed");
    }

    #[test]
    fn order_state_and_amount() {
        assert_eq!(
            code(check(&order(OrderStatus::Shipped, 100), "服饰", Kind::Return, Reason::Quality, false, 1)),
            "not_delivered"
        );
        assert_eq!(
            code(check(&order(OrderStatus::Refunded, 100), "服饰", Kind::Return, Reason::Quality, false, 1)),
            "order_closed"
        );
        assert_eq!(
            code(check(
                &order(OrderStatus::Delivered, 899_900),
                "家用电器/冰箱",
                Kind::Return,
                Reason::Quality,
                false,
                1
            )),
            "review"
        );
        let o = order(OrderStatus::Delivered, 100);
        let d = Policy::default().check(&Request {
            order: &o,
            sku: "NOPE",
            category: None,
            kind: Kind::Return,
            reason: Reason::Quality,
            opened: false,
            tier: Tier::Normal,
            now: DELIVERED,
        });
        assert_eq!(code(d), "item_not_in_order");
    }

    #[test]
    fn members_get_their_extra_days() {
        let o = order(OrderStatus::Delivered, 100);
        let policy = Policy { member_extra_days: 8, ..Policy::default() };
        let at = |tier| {
            code(policy.check(&Request {
                order: &o,
                sku: "S1",
                category: None,
                kind: Kind::Return,
                reason: Reason::NoReason,
                opened: false,
                tier,
                now: Timestamp(DELIVERED.0 + 10 * DAY_MS),
            }))
        };
        assert_eq!(at(Tier::Plus), "allowed");
        assert_eq!(at(Tier::Normal), "window_passed");
    }
}
