//! Orders and their shipments, as the merchant's order system reports them.

use crate::clock::Timestamp;
use crate::id::{CustomerId, OrderId, ShipmentId, ShopId};
use crate::money::Fen;

/// The merchant's order number: 4-40 characters of ASCII letters, digits and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderNo(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order number is 4-40 characters of letters, digits and '-'")]
pub struct InvalidOrderNo;

impl OrderNo {
    pub fn parse(text: &str) -> Result<Self, InvalidOrderNo> {
        let t = text.trim();
        let ok = (4..=40).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok { Ok(Self(t.to_owned())) } else { Err(InvalidOrderNo) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lifecycle: created → paid → shipped → delivered → completed, with
/// cancellation before shipment and after-sales states after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Created,
    Paid,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
    /// 售后中: a return, exchange or refund request is open.
    AfterSale,
    /// 已退款.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Created,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::AfterSale,
        OrderStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::AfterSale => "after_sale",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().to_ascii_lowercase();
        OrderStatus::ALL.into_iter().find(|s| s.as_str() == t)
    }

    /// Whether goods have left the warehouse: cancelling is no longer a
    /// plain cancellation but an intercept or a refused delivery.
    pub fn has_shipped(self) -> bool {
        matches!(self, OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::Completed | OrderStatus::AfterSale)
    }

    /// Whether moving from `self` to `next` follows the lifecycle. Updates that
    /// would move an order backwards are refused, so a webhook delivered late
    /// cannot undo a newer state.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        if self == next {
            return true;
        }
        match self {
            Created => matches!(next, Paid | Cancelled),
            Paid => matches!(next, Shipped | Cancelled | Refunded | AfterSale),
            Shipped => matches!(next, Delivered | AfterSale | Refunded | Cancelled),
            Delivered => matches!(next, Completed | AfterSale | Refunded),
            Completed => matches!(next, AfterSale | Refunded),
            AfterSale => matches!(next, Refunded | Completed | Delivered),
            Cancelled | Refunded => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Fen,
}

impl OrderItem {
    /// Price × quantity; saturating, since both come from the merchant's
    /// data and their product can pass i64.
    pub fn amount(&self) -> Fen {
        Fen(self.unit_price.0.saturating_mul(i64::from(self.quantity)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub shop_id: ShopId,
    pub order_no: OrderNo,
    pub customer_id: CustomerId,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub total: Fen,
    pub province: String,
    pub city: String,
    pub address: String,
    pub created_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub shipped_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentEvent {
    pub at: Timestamp,
    pub location: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub shop_id: ShopId,
    pub order_id: OrderId,
    pub carrier: String,
    pub tracking_no: String,
    /// Oldest first.
    pub events: Vec<ShipmentEvent>,
    pub updated_at: Timestamp,
}

/// An order with its shipments, oldest first: what the customer panel and
/// the bot read together, in one store call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderWithShipments {
    pub order: Order,
    pub shipments: Vec<Shipment>,
    /// The kinds of the order's open requests (服务单), so the bot does not
    /// file an after-sales request, an invoice or a price check twice.
    pub open_requests: Vec<crate::botturn::RequestKind>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_refuses_going_back() {
        use OrderStatus::*;
        assert!(Created.can_become(Paid));
        assert!(Paid.can_become(Shipped));
        assert!(Shipped.can_become(Delivered));
        assert!(!Delivered.can_become(Paid));
        assert!(!Cancelled.can_become(Paid));
        assert!(!Completed.can_become(Shipped));
        for s in OrderStatus::ALL {
            assert!(s.can_become(s));
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
    }
}
