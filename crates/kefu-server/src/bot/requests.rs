//! What a bot action files against an order (服务单) and the change it makes
//! to it, in the words the people who close requests read.

use kefu_bot::flow::{self, Action};
use kefu_core::botturn::{OrderChange, OrderRequest, RequestKind};
use kefu_core::id::OrderId;
use kefu_core::invoice::Title;

/// The order an action is about.
pub(super) fn action_order_no(action: &Action) -> &str {
    match action {
        Action::RecordUrge { order_no, .. }
        | Action::CancelOrder { order_no }
        | Action::ChangeAddress { order_no, .. }
        | Action::AfterSale { order_no, .. }
        | Action::PriceProtection { order_no }
        | Action::InvoiceTask { order_no, .. } => order_no,
    }
}

/// The request an action files against `order`, and the change it makes
/// to the order: the bot's turns and agents' requests (`api/requests.rs`)
/// file the same words, so the people who close them read one format.
pub fn request_of(action: &Action, order: OrderId, id: uuid::Uuid) -> (OrderRequest, Option<OrderChange>) {
    let (kind, detail, needs_review, change) = match action {
        Action::RecordUrge { promised_by, .. } => {
            (RequestKind::Urge, format!("客户催发货，承诺发货时间 {}", flow::local_time(*promised_by)), false, None)
        }
        Action::CancelOrder { .. } => {
            (RequestKind::Cancel, "订单已取消，请原路退款".to_owned(), false, Some(OrderChange::Cancel { order }))
        }
        Action::ChangeAddress { address, province, city, .. } => {
            let change = OrderChange::Address {
                order,
                province: province.clone().unwrap_or_default(),
                city: city.clone().unwrap_or_default(),
                address: address.clone(),
            };
            let whole = format!("{}{}{address}", province.as_deref().unwrap_or(""), city.as_deref().unwrap_or(""));
            (RequestKind::AddressChange, format!("新地址：{whole}"), false, Some(change))
        }
        Action::AfterSale { sku, exchange, reason, amount, needs_review, .. } => (
            RequestKind::AfterSale,
            format!("{} {sku}，原因 {}，金额 ¥{amount}", if *exchange { "换货" } else { "退货退款" }, reason.zh()),
            *needs_review,
            None,
        ),
        Action::PriceProtection { .. } => {
            (RequestKind::PriceProtection, "价保申请，请核实降价金额".to_owned(), true, None)
        }
        Action::InvoiceTask { title, email, .. } => {
            let title = match title {
                Title::Personal { name } => format!("个人：{name}"),
                Title::Company { name, credit_code } => format!("公司：{name}，税号 {credit_code}"),
            };
            (RequestKind::Invoice, format!("电子发票，抬头 {title}，邮箱 {}", email.as_str()), false, None)
        }
    };
    (OrderRequest { id, order, kind, detail, needs_review }, change)
}
