//! Flows over one order: finding it (or a pick list), then acting on it.

use super::*;

pub(super) enum Resolved<'a> {
    One(&'a OrderFacts),
    Ask(Vec<String>),
    None,
    /// The shopper named an order number that is none of the orders read.
    NotFound(String),
}

/// The order a message is about: named in it, named earlier in the
/// conversation, the only one that fits the intent, or a pick list.
pub(super) fn resolve_order<'a>(facts: &'a Facts<'_>, state: &BotState, r: &Reading, intent: &str) -> Resolved<'a> {
    let find = |no: &str| facts.orders.iter().find(|o| o.order.order_no.as_str().eq_ignore_ascii_case(no));
    for no in &r.order_nos {
        if let Some(o) = find(no) {
            return Resolved::One(o);
        }
    }
    if let Some(no) = r.order_nos.first() {
        // Never answer about another order than the one named.
        return Resolved::NotFound(no.clone());
    }
    if let Some(o) = state.order_no.as_deref().and_then(find) {
        return Resolved::One(o);
    }
    let fits: Vec<&OrderFacts> = facts.orders.iter().filter(|o| fits_intent(intent, o)).collect();
    match fits.as_slice() {
        [] if facts.orders.is_empty() => Resolved::None,
        // The shopper's only order, even if it does not fit: the flow says why.
        [] if facts.orders.len() == 1 => Resolved::One(&facts.orders[0]),
        [] => {
            Resolved::Ask(facts.orders.iter().take(PICK_LIST).map(|o| o.order.order_no.as_str().to_owned()).collect())
        }
        [one] => Resolved::One(one),
        many => Resolved::Ask(many.iter().take(PICK_LIST).map(|o| o.order.order_no.as_str().to_owned()).collect()),
    }
}

pub(super) fn fits_intent(intent: &str, o: &OrderFacts) -> bool {
    use OrderStatus::*;
    let status = o.order.status;
    match intent {
        "urge_shipment" | "cancel_order" | "change_address" => matches!(status, Created | Paid),
        "logistics" => matches!(status, Paid | Shipped),
        "return_exchange" | "apply_refund" | "price_protection" => matches!(status, Delivered | Completed | Shipped),
        "refund_status" => matches!(status, AfterSale | Refunded) || o.open_requests.contains(&RequestKind::AfterSale),
        "invoice" => matches!(status, Paid | Shipped | Delivered | Completed),
        _ => !matches!(status, Cancelled | Refunded | Completed),
    }
}

pub(super) fn pick_list(facts: &Facts<'_>, lang: Lang, candidates: &[String]) -> String {
    let mut lines = vec![say(
        lang,
        "您有多条订单，请问是哪一笔？回复序号即可：".into(),
        "Which order? Reply with its number:".into(),
    )];
    for (i, no) in candidates.iter().enumerate() {
        if let Some(o) = facts.orders.iter().find(|o| o.order.order_no.as_str() == no) {
            let first = o.order.items.first().map_or("", |it| it.name.as_str());
            let more = if o.order.items.len() > 1 { format!(" 等{}件", o.order.items.len()) } else { String::new() };
            lines.push(format!(
                "{}. {} {}{} ¥{} {}",
                i + 1,
                no,
                first,
                more,
                o.order.total,
                status_text(lang, o.order.status)
            ));
        }
    }
    lines.join("\n")
}

pub(super) fn status_text(lang: Lang, s: OrderStatus) -> &'static str {
    let (zh, en) = match s {
        OrderStatus::Created => ("待付款", "awaiting payment"),
        OrderStatus::Paid => ("待发货", "paid, not shipped yet"),
        OrderStatus::Shipped => ("已发货", "shipped"),
        OrderStatus::Delivered => ("已签收", "delivered"),
        OrderStatus::Completed => ("已完成", "completed"),
        OrderStatus::Cancelled => ("已取消", "cancelled"),
        OrderStatus::AfterSale => ("售后中", "in after-sales"),
        OrderStatus::Refunded => ("已退款", "refunded"),
    };
    if lang == Lang::Zh { zh } else { en }
}

/// "2", "第二个", "第2笔", or an order number from the list.
pub(super) fn picked(r: &Reading, candidates: &[String]) -> Option<String> {
    for no in &r.order_nos {
        if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(no)) {
            return Some(c.clone());
        }
    }
    let t = r.normalized.trim().trim_start_matches('第');
    let first = t.chars().next()?;
    let index = first
        .to_digit(10)
        .map(|d| d as usize)
        .or_else(|| "一二三四五六七八九".chars().position(|c| c == first).map(|i| i + 1))?;
    let rest: String = t.chars().skip(1).collect();
    let plain = rest.is_empty() || ["个", "笔", "单", "个订单", "."].iter().any(|s| rest.starts_with(s));
    (plain && index >= 1).then(|| candidates.get(index - 1).cloned()).flatten()
}

pub(super) fn reason_of(text: &str) -> Option<aftersales::Reason> {
    use aftersales::Reason::*;
    if ["破损", "摔坏", "压坏", "damaged", "broken in transit"].iter().any(|w| text.contains(w)) {
        Some(Damaged)
    } else if ["发错", "错发", "少件", "漏发", "wrong item", "missing"].iter().any(|w| text.contains(w)) {
        Some(WrongItem)
    } else if ["质量", "坏了", "不能用", "故障", "有问题", "瑕疵", "defect", "broken", "doesn't work", "faulty"]
        .iter()
        .any(|w| text.contains(w))
    {
        Some(Quality)
    } else if [
        "无理由",
        "不想要",
        "不喜欢",
        "不合适",
        "买错",
        "尺码",
        "changed my mind",
        "don't like",
        "doesn't fit",
        "no reason",
    ]
    .iter()
    .any(|w| text.contains(w))
    {
        Some(NoReason)
    } else {
        None
    }
}

pub(super) fn shipped_address_reply(lang: Lang) -> String {
    say(
        lang,
        "订单已经发货，地址无法在系统里修改了。您可以联系快递员改派，或者我帮您转人工协助联系快递公司。".into(),
        "The order has shipped, so the address can't be changed here; the courier can redirect it, or a colleague can help.".into(),
    )
}

pub(super) fn act_on_order(
    facts: &Facts<'_>,
    state: &mut BotState,
    r: &Reading,
    intent: &str,
    o: &OrderFacts,
    turn: &mut Turn,
) -> String {
    let no = o.order.order_no.as_str().to_owned();
    state.order_no = Some(no.clone());
    let lang = r.lang;
    let rules = facts.rules;
    let promised = o.order.paid_at.map(|p| p.plus_millis(i64::from(rules.promised_ship_hours) * HOUR_MS));
    match intent {
        "order_status" => {
            let items: Vec<String> = o.order.items.iter().map(|i| format!("{}×{}", i.name, i.quantity)).collect();
            turn.replies.push(say(
                lang,
                format!(
                    "订单{no}（{}）当前状态：{}，实付¥{}。",
                    items.join("、"),
                    status_text(lang, o.order.status),
                    o.order.total
                ),
                format!(
                    "Order {no} ({}) is {}; paid ¥{}.",
                    items.join(", "),
                    status_text(lang, o.order.status),
                    o.order.total
                ),
            ));
            if o.order.status.has_shipped() {
                turn.replies.push(logistics_text(lang, o));
            }
            "answered:order_status".into()
        }
        "logistics" => {
            if o.order.status.has_shipped() && o.shipments.is_empty() {
                turn.replies.push(say(
                    lang,
                    format!("订单{no}已发货，物流公司还没有回传轨迹，一般揽收后几小时内会更新。"),
                    format!(
                        "Order {no} has shipped; the carrier hasn't posted tracking yet, usually within a few hours."
                    ),
                ));
                "answered:no_tracking_yet".into()
            } else if !o.order.status.has_shipped() {
                let when = promised.map(local_time).unwrap_or_default();
                turn.replies.push(say(
                    lang,
                    format!("订单{no}还没有发货，承诺在{when}前发出。需要的话我可以帮您催一下。"),
                    format!(
                        "Order {no} hasn't shipped yet; it is promised to leave by {when}. I can hurry it if you like."
                    ),
                ));
                "answered:not_shipped".into()
            } else {
                turn.replies.push(logistics_text(lang, o));
                "answered:logistics".into()
            }
        }
        "urge_shipment" => {
            if o.order.status.has_shipped() {
                turn.replies.push(logistics_text(lang, o));
                return "answered:already_shipped".into();
            }
            let Some(by) = promised else {
                turn.replies.push(say(
                    lang,
                    format!("订单{no}还未付款，付款后会尽快发货。"),
                    format!("Order {no} isn't paid yet; it ships soon after payment."),
                ));
                return "answered:not_paid".into();
            };
            let overdue = facts.now > by;
            turn.actions.push(Action::RecordUrge { order_no: no.clone(), promised_by: by });
            let member = matches!(facts.customer.tier, Tier::Plus | Tier::Vip);
            let extra = if member { "已为您优先加急处理，" } else { "" };
            turn.replies.push(if overdue {
                say(lang, format!("非常抱歉，订单{no}已超过承诺发货时间（{}）。{extra}已催促仓库立即发货，发出后会第一时间通知您。", local_time(by)), format!("Sorry, order {no} is past its promised ship time ({}). The warehouse has been told to ship it now.", local_time(by)))
            } else {
                say(lang, format!("已为您催促仓库，{extra}订单{no}将在{}前发出，请耐心等待。", local_time(by)), format!("I've hurried the warehouse; order {no} will ship by {}.", local_time(by)))
            });
            "urge_recorded".into()
        }
        "cancel_order" => match o.order.status {
            OrderStatus::Created | OrderStatus::Paid => {
                state.pending = Some(Pending::ConfirmCancel { order_no: no.clone() });
                turn.replies.push(say(
                    lang,
                    format!("确认要取消订单{no}（¥{}）吗？回复“确认”即可取消。", o.order.total),
                    format!("Cancel order {no} (¥{})? Reply \"yes\" to confirm.", o.order.total),
                ));
                "asked:confirm_cancel".into()
            }
            OrderStatus::Shipped => {
                turn.replies.push(say(lang, format!("订单{no}已经发货，无法直接取消。您可以：1）快递送达时拒收；2）需要拦截退回的话回复“转人工”，由客服联系快递公司。包裹退回仓库后为您退款。"), format!("Order {no} has shipped and can't be cancelled directly: refuse the delivery, or say \"human\" and a colleague will ask the courier to intercept it; you're refunded once it's back.")));
                "refused:already_shipped".into()
            }
            OrderStatus::Delivered | OrderStatus::Completed => {
                turn.replies.push(say(
                    lang,
                    format!("订单{no}已签收，无法取消了。如不满意可以申请退货，需要的话回复“退货”。"),
                    format!("Order {no} was delivered, so it can't be cancelled; you can return it instead."),
                ));
                "refused:delivered".into()
            }
            _ => {
                turn.replies.push(say(
                    lang,
                    format!("订单{no}当前为{}，无需取消。", status_text(lang, o.order.status)),
                    format!("Order {no} is {}; nothing to cancel.", status_text(lang, o.order.status)),
                ));
                "refused:closed".into()
            }
        },
        "change_address" => {
            if o.order.status.has_shipped() {
                turn.replies.push(shipped_address_reply(lang));
                return "refused:already_shipped".into();
            }
            if !r.places.is_empty() && r.normalized.chars().count() >= 12 {
                // The new address came with the request.
                return continue_flow(facts, state, r, Pending::NewAddress { order_no: no }, turn).unwrap_or_default();
            }
            state.pending = Some(Pending::NewAddress { order_no: no.clone() });
            turn.replies.push(say(
                lang,
                format!("订单{no}还没发货，可以修改。请发送新的收货地址（省市区 + 详细地址）。"),
                format!("Order {no} hasn't shipped, so it can be changed. Please send the new address."),
            ));
            "asked:address".into()
        }
        "return_exchange" | "apply_refund" => {
            if matches!(o.order.status, OrderStatus::Created | OrderStatus::Paid) {
                // Not shipped: a refund is a cancellation.
                return act_on_order(facts, state, r, "cancel_order", o, turn);
            }
            let exchange =
                intent == "return_exchange" && (r.normalized.contains('换') || r.normalized.contains("exchange"));
            match reason_of(&r.normalized) {
                Some(reason) => after_sale(facts, r, o, exchange, reason, turn),
                None => {
                    state.pending = Some(Pending::ReturnReason { order_no: no.clone(), exchange });
                    turn.replies.push(say(lang, "请问是什么原因呢？质量问题、发错货、运输破损，还是七天无理由？".into(), "What's the reason: a quality problem, wrong item, damaged in transit, or just changed your mind?".into()));
                    "asked:return_reason".into()
                }
            }
        }
        "refund_status" => {
            let text = match o.order.status {
                OrderStatus::Refunded => say(
                    lang,
                    format!("订单{no}已退款¥{}，原路退回，一般1-3个工作日到账（信用卡可能更久）。", o.order.total),
                    format!(
                        "Order {no} was refunded (¥{}); it reaches your account in 1-3 working days.",
                        o.order.total
                    ),
                ),
                OrderStatus::AfterSale => say(
                    lang,
                    format!("订单{no}的售后正在处理中，商家收到退货并验收后即为您退款。"),
                    format!(
                        "The after-sales request for order {no} is being processed; the refund follows once the return is checked."
                    ),
                ),
                // Filed (by the bot or an agent) and not yet taken up by the merchant's system.
                _ if o.open_requests.contains(&RequestKind::AfterSale) => say(
                    lang,
                    format!("订单{no}的售后申请已提交，正在等待商家处理；审核通过、退货验收后即原路退款。"),
                    format!(
                        "The after-sales request for order {no} is filed and waiting for the shop; the refund follows once it's approved and the return checked."
                    ),
                ),
                _ => say(
                    lang,
                    format!("订单{no}目前没有退款记录。需要申请的话回复“退款”。"),
                    format!("There's no refund on order {no}. Say \"refund\" to ask for one."),
                ),
            };
            turn.replies.push(text);
            "answered:refund_status".into()
        }
        "price_protection" if o.open_requests.contains(&RequestKind::PriceProtection) => {
            turn.replies.push(say(
                lang,
                format!("订单{no}已提交过价保申请，正在核实降价金额，结果会通知您。"),
                format!("Price protection for order {no} is already requested and being checked."),
            ));
            "answered:request_open".into()
        }
        "price_protection" => {
            let within =
                o.order.paid_at.is_some_and(|p| facts.now <= p.plus_days(i64::from(rules.price_protection_days)));
            if within {
                turn.actions.push(Action::PriceProtection { order_no: no.clone() });
                turn.replies.push(say(lang, format!("已为订单{no}提交价保申请，核实降价后差价将退回原支付账户。"), format!("Price protection requested for order {no}; the difference is refunded once the drop is verified.")));
                "price_protection_requested".into()
            } else {
                turn.replies.push(say(
                    lang,
                    format!("抱歉，订单{no}已超过{}天价保期。", rules.price_protection_days),
                    format!(
                        "Sorry, order {no} is past the {}-day price protection window.",
                        rules.price_protection_days
                    ),
                ));
                "refused:price_protection_window".into()
            }
        }
        "invoice" if o.open_requests.contains(&RequestKind::Invoice) => {
            turn.replies.push(say(
                lang,
                format!("订单{no}的发票已登记在开具中，开好后会发送到您留的邮箱。"),
                format!("The invoice for order {no} is already on its way to the e-mail you gave."),
            ));
            "answered:request_open".into()
        }
        "invoice" => {
            state.pending = Some(Pending::InvoiceTitle { order_no: no.clone() });
            turn.replies.push(say(
                lang,
                format!("好的，为订单{no}开具电子发票。抬头开“个人”还是公司？如是公司请直接发送公司全称。"),
                format!("Sure, an e-invoice for order {no}. Personal, or a company? For a company send its full name."),
            ));
            "asked:invoice".into()
        }
        _ => "answered".into(),
    }
}

pub(super) fn after_sale(
    facts: &Facts<'_>,
    r: &Reading,
    o: &OrderFacts,
    exchange: bool,
    reason: aftersales::Reason,
    turn: &mut Turn,
) -> String {
    let lang = r.lang;
    let no = o.order.order_no.as_str().to_owned();
    if o.open_requests.contains(&RequestKind::AfterSale) {
        turn.replies.push(say(
            lang,
            format!("订单{no}已有售后申请在处理中，商家处理后会通知您，请不要重复申请哦。"),
            format!("Order {no} already has an after-sales request in progress; you'll hear back once it's handled."),
        ));
        return "refused:request_open".into();
    }
    // The first item, unless the message names another by its SKU or name.
    let item = o
        .order
        .items
        .iter()
        .find(|i| r.normalized.contains(&normalize(&i.name)) || r.normalized.contains(&normalize(&i.sku)))
        .or_else(|| o.order.items.first());
    let Some(item) = item else { return "refused:no_items".into() };
    let opened = ["拆封", "拆开", "用过", "试用", "opened", "used"].iter().any(|w| r.normalized.contains(w));
    let decision = facts.rules.returns.check(&aftersales::Request {
        order: &o.order,
        sku: &item.sku,
        category: facts.categories.get(&item.sku),
        kind: if exchange { aftersales::Kind::Exchange } else { aftersales::Kind::Return },
        reason,
        opened,
        tier: facts.customer.tier,
        now: facts.now,
    });
    let what = if exchange { ("换货", "exchange") } else { ("退货退款", "return") };
    match decision {
        Decision::Allowed { deadline, needs_review, amount } => {
            turn.actions.push(Action::AfterSale {
                order_no: no.clone(),
                sku: item.sku.clone(),
                exchange,
                reason,
                amount,
                needs_review,
            });
            let pickup =
                if matches!(facts.customer.tier, Tier::Plus | Tier::Vip) { "会员免费上门取件，" } else { "" };
            let then = if exchange { "为您发出新品".to_owned() } else { format!("退款¥{amount}") };
            turn.replies.push(say(
                lang,
                format!(
                    "已为{}（订单{no}）提交{}申请。{pickup}请在{}前寄回，商家收货验收后{then}。",
                    item.name,
                    what.0,
                    local_time(deadline)
                ),
                format!(
                    "{} request submitted for {} (order {no}). Please send it back by {}.",
                    what.1,
                    item.name,
                    local_time(deadline)
                ),
            ));
            "after_sale_requested".into()
        }
        Decision::Refused(refusal) => {
            let text = match &refusal {
                Refusal::WindowPassed { days, deadline } => say(
                    lang,
                    format!(
                        "抱歉，{}已超过{days}天的售后期限（截至{}）。如是质量问题可转人工为您核实。",
                        item.name,
                        local_time(*deadline)
                    ),
                    format!("Sorry, {} is past the {days}-day window (ended {}).", item.name, local_time(*deadline)),
                ),
                Refusal::CategoryExcluded { category } => say(
                    lang,
                    format!("抱歉，{category}类商品不支持七天无理由退货；如有质量问题请说明，我们为您处理。"),
                    format!(
                        "Sorry, {category} items can't be returned without a reason; tell me if there's a quality problem."
                    ),
                ),
                Refusal::OpenedExcluded { category } => say(
                    lang,
                    format!("抱歉，已拆封的{category}商品不支持七天无理由退货；如有质量问题请说明。"),
                    format!("Sorry, opened {category} items can't be returned without a reason."),
                ),
                Refusal::NotDelivered => say(
                    lang,
                    format!("订单{no}还在配送中，签收后才能申请售后；不想要的话可以拒收。"),
                    format!("Order {no} is still on its way; you can refuse delivery or apply after it arrives."),
                ),
                Refusal::ExchangeNeedsReason => say(
                    lang,
                    "换货适用于质量问题、发错货或破损；无理由的话可以先退货再重新下单。".into(),
                    "Exchanges are for faulty, wrong or damaged items; otherwise return it and reorder.".into(),
                ),
                Refusal::AlreadyInAfterSale => say(
                    lang,
                    format!("订单{no}已有售后在处理中。"),
                    format!("Order {no} already has an after-sales request open."),
                ),
                Refusal::OrderClosed | Refusal::ItemNotInOrder => say(
                    lang,
                    format!("订单{no}当前无法申请售后。"),
                    format!("Order {no} can't take an after-sales request."),
                ),
            };
            turn.replies.push(text);
            format!("refused:{}", refusal.code())
        }
    }
}

pub(super) fn logistics_text(lang: Lang, o: &OrderFacts) -> String {
    let Some(s) = o.shipments.last() else {
        return say(lang, "暂时没有物流信息。".into(), "No tracking information yet.".into());
    };
    let mut lines = vec![say(
        lang,
        format!("{} 运单号 {}：", s.carrier, s.tracking_no),
        format!("{} tracking {}:", s.carrier, s.tracking_no),
    )];
    for e in s.events.iter().rev().take(3) {
        lines.push(format!("{} {} {}", local_time(e.at), e.location, e.description));
    }
    lines.join("\n")
}
