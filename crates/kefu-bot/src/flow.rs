//! One bot turn: read the shopper's message (intent, emotion, entities),
//! continue or start a flow over their real orders, and decide replies,
//! actions for the server to apply, an audit line, and whether to hand off.
//!
//! Pure: everything it needs is in [`Facts`]; everything it wants done is in
//! the returned [`Turn`]. The conversation's [`BotState`] carries what the
//! bot asked for between turns (a pick list, a confirmation, invoice details).

use std::collections::HashMap;

use kefu_core::aftersales::{self, Decision, Refusal};
use kefu_core::catalog::CategoryPath;
use kefu_core::clock::Timestamp;
use kefu_core::customer::{Customer, Tier};
use kefu_core::invoice::{CreditCode, Email, Title};
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderStatus, Shipment};
use kefu_nlu::builtin::{self, EmotionLevel};
use kefu_nlu::entities::{Day, Extractor, Value};
use kefu_nlu::normalize;
use serde::{Deserialize, Serialize};

use crate::rules::ShopRules;

const HOUR_MS: i64 = 3_600_000;
/// Below this intent confidence the bot asks again instead of acting.
const MIN_CONFIDENCE: f32 = 0.35;
const PICK_LIST: usize = 5;

/// An order with what the bot may say about it.
pub struct OrderFacts {
    pub order: Order,
    /// Oldest first.
    pub shipments: Vec<Shipment>,
}

/// What the bot knows when a message arrives, loaded by the caller.
pub struct Facts<'a> {
    pub customer: &'a Customer,
    /// The shopper's orders in this shop, newest first.
    pub orders: &'a [OrderFacts],
    /// Category of each SKU the orders hold.
    pub categories: &'a HashMap<String, CategoryPath>,
    pub rules: &'a ShopRules,
    pub extractor: &'a Extractor,
    pub now: Timestamp,
}

/// What the bot remembers between turns of one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotState {
    pub pending: Option<Pending>,
    /// Misunderstood messages in a row.
    pub misunderstood: u32,
    /// Intents the bot handled in this conversation, in order, for the hand-off summary.
    pub tried: Vec<String>,
    /// The order the conversation is about, once known.
    pub order_no: Option<String>,
    /// The shopper writes English; kept for answers without words (a number, a code).
    #[serde(default)]
    pub english: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pending {
    PickOrder { intent: String, candidates: Vec<String> },
    ConfirmCancel { order_no: String },
    NewAddress { order_no: String },
    ReturnReason { order_no: String, exchange: bool },
    InvoiceTitle { order_no: String },
    InvoiceCreditCode { order_no: String, company: String },
    InvoiceEmail { order_no: String, company: Option<(String, String)> },
}

/// Something the server must do in the store, in the same transaction as the bot's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 催发货: record it and quote the promise.
    RecordUrge {
        order_no: String,
        promised_by: Timestamp,
    },
    CancelOrder {
        order_no: String,
    },
    ChangeAddress {
        order_no: String,
        address: String,
        province: Option<String>,
        city: Option<String>,
    },
    AfterSale {
        order_no: String,
        sku: String,
        exchange: bool,
        reason: aftersales::Reason,
        amount: Fen,
        needs_review: bool,
    },
    PriceProtection {
        order_no: String,
    },
    InvoiceTask {
        order_no: String,
        title: Title,
        email: Email,
    },
}

impl Action {
    pub fn code(&self) -> &'static str {
        match self {
            Action::RecordUrge { .. } => "urge_recorded",
            Action::CancelOrder { .. } => "order_cancelled",
            Action::ChangeAddress { .. } => "address_changed",
            Action::AfterSale { .. } => "after_sale_requested",
            Action::PriceProtection { .. } => "price_protection_requested",
            Action::InvoiceTask { .. } => "invoice_requested",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffReason {
    Requested,
    Misunderstood,
    Angry,
    HighValueComplaint,
    Complaint,
    VipWithComplaints,
    /// The request needs a person (a review, a product question the bot has no data for).
    NeedsHuman,
}

impl HandoffReason {
    pub fn code(self) -> &'static str {
        match self {
            HandoffReason::Requested => "requested",
            HandoffReason::Misunderstood => "misunderstood",
            HandoffReason::Angry => "angry",
            HandoffReason::HighValueComplaint => "high_value_complaint",
            HandoffReason::Complaint => "complaint",
            HandoffReason::VipWithComplaints => "vip_with_complaints",
            HandoffReason::NeedsHuman => "needs_human",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            HandoffReason::Requested => "客户要求人工",
            HandoffReason::Misunderstood => "连续未理解",
            HandoffReason::Angry => "客户情绪激动",
            HandoffReason::HighValueComplaint => "高价值订单投诉",
            HandoffReason::Complaint => "投诉",
            HandoffReason::VipWithComplaints => "VIP 且有投诉记录",
            HandoffReason::NeedsHuman => "需要人工处理",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    pub reason: HandoffReason,
    /// Higher is more urgent; added to the conversation's priority.
    pub priority: i32,
    /// For the agent who takes over: intent, entities, what the bot tried, why.
    pub summary: String,
}

/// One line of the bot's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub intent: String,
    pub confidence: f32,
    pub emotion: &'static str,
    pub order_no: Option<String>,
    /// What the bot did: an action code, `asked`, `answered`, `refused:<code>`, `handoff:<reason>`.
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub replies: Vec<String>,
    pub actions: Vec<Action>,
    pub handoff: Option<Handoff>,
    pub audit: Audit,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

/// Replies in the shopper's language.
fn say(lang: Lang, zh: String, en: String) -> String {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

struct Reading {
    intent: String,
    confidence: f32,
    angry: bool,
    emotion: &'static str,
    order_nos: Vec<String>,
    places: Vec<(&'static str, Option<&'static str>)>,
    normalized: String,
    lang: Lang,
}

/// Chinese when there is any, English when there are English words, else
/// whatever the conversation was in.
fn language(normalized: &str, english_before: bool) -> Lang {
    if normalized.chars().any(kefu_nlu::tokenize::is_han) {
        return Lang::Zh;
    }
    let words = normalized
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '@' && c != '\'')
        .filter(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic() || c == '\''))
        .count();
    if words >= 1 || english_before { Lang::En } else { Lang::Zh }
}

fn read(facts: &Facts<'_>, state: &BotState, text: &str) -> Reading {
    let normalized = normalize(text);
    let prediction = builtin::intent_model().predict(text);
    let emotion = builtin::emotion(text);
    let today = local_day(facts.now);
    let mut order_nos = Vec::new();
    let mut places = Vec::new();
    for e in facts.extractor.extract(&normalized, today) {
        match e.value {
            Value::Order(n) => order_nos.push(n),
            Value::Place { province, city } => places.push((province, city)),
            _ => {}
        }
    }
    let lang = language(&normalized, state.english);
    Reading {
        intent: prediction.label,
        confidence: prediction.confidence,
        angry: emotion.level == EmotionLevel::Angry,
        emotion: emotion.level.as_str(),
        order_nos,
        places,
        normalized,
        lang,
    }
}

/// The shop's calendar day (China Standard Time, UTC+8).
fn local_day(t: Timestamp) -> Day {
    Day::from_ordinal((t.0 + 8 * HOUR_MS).div_euclid(24 * HOUR_MS))
}

fn local_time(t: Timestamp) -> String {
    let day = local_day(t);
    let minutes = (t.0 + 8 * HOUR_MS).rem_euclid(24 * HOUR_MS) / 60_000;
    format!("{}-{:02}-{:02} {:02}:{:02}", day.year, day.month, day.day, minutes / 60, minutes % 60)
}

pub fn respond(facts: &Facts<'_>, state: &mut BotState, text: &str) -> Turn {
    let r = read(facts, state, text);
    state.english = r.lang == Lang::En;
    let mut turn = Turn {
        replies: Vec::new(),
        actions: Vec::new(),
        handoff: None,
        audit: Audit {
            intent: r.intent.clone(),
            confidence: r.confidence,
            emotion: r.emotion,
            order_no: None,
            outcome: String::new(),
        },
    };

    // People first: these go to a person whatever the bot was doing.
    let c = facts.customer;
    if r.intent == "human_agent" {
        return hand_off(facts, state, &r, turn, HandoffReason::Requested);
    }
    if r.angry {
        return hand_off(facts, state, &r, turn, HandoffReason::Angry);
    }
    if matches!(c.tier, Tier::Vip | Tier::Plus) && c.complaint_count > 0 && state.tried.is_empty() {
        return hand_off(facts, state, &r, turn, HandoffReason::VipWithComplaints);
    }

    // A flow waiting for an answer takes the message first.
    if let Some(pending) = state.pending.take()
        && let Some(outcome) = continue_flow(facts, state, &r, pending, &mut turn)
    {
        turn.audit.outcome = outcome;
        turn.audit.order_no = state.order_no.clone();
        state.misunderstood = 0;
        return turn;
    }

    let understood = r.intent != kefu_nlu::OUT_OF_SCOPE && r.confidence >= MIN_CONFIDENCE;
    if !understood {
        state.misunderstood += 1;
        if state.misunderstood >= facts.rules.handoff_misunderstandings {
            return hand_off(facts, state, &r, turn, HandoffReason::Misunderstood);
        }
        turn.replies.push(say(
            r.lang,
            "抱歉，我没太明白。您可以说“查物流”“催发货”“退货”“开发票”等，或回复“转人工”。".into(),
            "Sorry, I didn't quite get that. Try \"where is my order\", \"return an item\", \"invoice\", or say \"human\".".into(),
        ));
        turn.audit.outcome = "misunderstood".into();
        return turn;
    }
    state.misunderstood = 0;
    if !state.tried.contains(&r.intent) {
        state.tried.push(r.intent.clone());
    }
    let outcome = start_flow(facts, state, &r, &mut turn);
    turn.audit.outcome = outcome;
    turn.audit.order_no = state.order_no.clone();
    turn
}

/// Intents that act on one order.
const ORDER_INTENTS: [&str; 10] = [
    "order_status",
    "logistics",
    "urge_shipment",
    "cancel_order",
    "change_address",
    "return_exchange",
    "refund_status",
    "apply_refund",
    "price_protection",
    "invoice",
];

fn start_flow(facts: &Facts<'_>, state: &mut BotState, r: &Reading, turn: &mut Turn) -> String {
    let intent = r.intent.as_str();
    if ORDER_INTENTS.contains(&intent) {
        return match resolve_order(facts, state, r, intent) {
            Resolved::One(order) => act_on_order(facts, state, r, intent, order, turn),
            Resolved::Ask(candidates) => {
                turn.replies.push(pick_list(facts, r.lang, &candidates));
                state.pending = Some(Pending::PickOrder { intent: intent.into(), candidates });
                "asked:pick_order".into()
            }
            Resolved::None => {
                turn.replies.push(say(
                    r.lang,
                    "没有查到您在本店的订单。请发一下订单号，或者确认下单时用的账号。".into(),
                    "I couldn't find an order of yours in this shop. Please send the order number.".into(),
                ));
                "answered:no_orders".into()
            }
        };
    }
    match intent {
        "greeting" => {
            let name = &facts.customer.nickname;
            let member = match facts.customer.tier {
                Tier::Plus => "尊敬的PLUS会员",
                Tier::Vip => "尊敬的VIP会员",
                Tier::Normal => "亲",
            };
            turn.replies.push(say(
                r.lang,
                format!("{member}{name}，您好！我是智能客服，可以帮您查订单、查物流、催发货、退换货、开发票，请问有什么可以帮您？"),
                format!("Hello {name}! I can check orders and deliveries, hurry a shipment, start a return or issue an invoice. How can I help?"),
            ));
            "answered:greeting".into()
        }
        "thanks_bye" => {
            turn.replies.push(say(
                r.lang,
                "不客气，祝您购物愉快！还有问题随时找我。".into(),
                "You're welcome! Reach out any time.".into(),
            ));
            "answered:bye".into()
        }
        "complaint" => {
            let high = facts.orders.first().is_some_and(|o| o.order.total >= facts.rules.handoff_high_value);
            let reason = if high { HandoffReason::HighValueComplaint } else { HandoffReason::Complaint };
            hand_off_into(facts, state, r, turn, reason)
        }
        // No merchant data to answer from yet: a person does it, with the context.
        _ => hand_off_into(facts, state, r, turn, HandoffReason::NeedsHuman),
    }
}

enum Resolved<'a> {
    One(&'a OrderFacts),
    Ask(Vec<String>),
    None,
}

/// The order a message is about: named in it, named earlier in the
/// conversation, the only one that fits the intent, or a pick list.
fn resolve_order<'a>(facts: &'a Facts<'_>, state: &BotState, r: &Reading, intent: &str) -> Resolved<'a> {
    let find = |no: &str| facts.orders.iter().find(|o| o.order.order_no.as_str().eq_ignore_ascii_case(no));
    for no in &r.order_nos {
        if let Some(o) = find(no) {
            return Resolved::One(o);
        }
    }
    if let Some(o) = state.order_no.as_deref().and_then(find) {
        return Resolved::One(o);
    }
    let fits: Vec<&OrderFacts> = facts.orders.iter().filter(|o| fits_intent(intent, o.order.status)).collect();
    match fits.as_slice() {
        [] if facts.orders.is_empty() => Resolved::None,
        [] => {
            Resolved::Ask(facts.orders.iter().take(PICK_LIST).map(|o| o.order.order_no.as_str().to_owned()).collect())
        }
        [one] => Resolved::One(one),
        many => Resolved::Ask(many.iter().take(PICK_LIST).map(|o| o.order.order_no.as_str().to_owned()).collect()),
    }
}

fn fits_intent(intent: &str, status: OrderStatus) -> bool {
    use OrderStatus::*;
    match intent {
        "urge_shipment" | "cancel_order" | "change_address" => matches!(status, Created | Paid),
        "logistics" => matches!(status, Paid | Shipped),
        "return_exchange" | "apply_refund" | "price_protection" => matches!(status, Delivered | Completed | Shipped),
        "refund_status" => matches!(status, AfterSale | Refunded),
        "invoice" => matches!(status, Paid | Shipped | Delivered | Completed),
        _ => !matches!(status, Cancelled | Refunded | Completed),
    }
}

fn pick_list(facts: &Facts<'_>, lang: Lang, candidates: &[String]) -> String {
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

fn status_text(lang: Lang, s: OrderStatus) -> &'static str {
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
fn picked(r: &Reading, candidates: &[String]) -> Option<String> {
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

fn continue_flow(
    facts: &Facts<'_>,
    state: &mut BotState,
    r: &Reading,
    pending: Pending,
    turn: &mut Turn,
) -> Option<String> {
    let order = |no: &str| facts.orders.iter().find(|o| o.order.order_no.as_str() == no);
    match pending {
        Pending::PickOrder { intent, candidates } => {
            let Some(no) = picked(r, &candidates) else {
                // Not an answer to the list: treat it as a new request.
                return None;
            };
            let o = order(&no)?;
            Some(act_on_order(facts, state, r, &intent, o, turn))
        }
        Pending::ConfirmCancel { order_no } => {
            let yes = ["确认", "是", "好", "对", "嗯", "取消吧", "yes", "ok", "confirm", "sure"]
                .iter()
                .any(|w| r.normalized.starts_with(w));
            let o = order(&order_no)?;
            if yes && matches!(o.order.status, OrderStatus::Created | OrderStatus::Paid) {
                turn.actions.push(Action::CancelOrder { order_no: order_no.clone() });
                turn.replies.push(say(
                    r.lang,
                    format!("订单{order_no}已为您取消，款项将原路退回，一般1-3个工作日到账。"),
                    format!("Order {order_no} is cancelled; the payment goes back to where it came from within 1-3 working days."),
                ));
                Some("order_cancelled".into())
            } else {
                turn.replies.push(say(r.lang, "好的，订单保留不变。".into(), "OK, the order stays as it is.".into()));
                Some("answered:cancel_declined".into())
            }
        }
        Pending::NewAddress { order_no } => {
            let address = r.normalized.trim().to_owned();
            if address.chars().count() < 6 || r.places.is_empty() {
                state.pending = Some(Pending::NewAddress { order_no });
                turn.replies.push(say(
                    r.lang,
                    "请发送完整的新地址（省市区 + 详细地址），例如：浙江省杭州市西湖区文三路100号。".into(),
                    "Please send the full new address including province and city.".into(),
                ));
                return Some("asked:address".into());
            }
            let o = order(&order_no)?;
            if o.order.status.has_shipped() {
                turn.replies.push(shipped_address_reply(r.lang));
                return Some("refused:already_shipped".into());
            }
            // The most specific place named: a city (with its province) over a bare province.
            let place = r.places.iter().find(|(_, c)| c.is_some()).or(r.places.first());
            let (province, city) = place.map_or((None, None), |(p, c)| (Some((*p).to_owned()), c.map(str::to_owned)));
            turn.actions.push(Action::ChangeAddress {
                order_no: order_no.clone(),
                address: address.clone(),
                province,
                city,
            });
            turn.replies.push(say(
                r.lang,
                format!("已将订单{order_no}的收货地址改为：{address}。"),
                format!("The delivery address of order {order_no} is now: {address}."),
            ));
            Some("address_changed".into())
        }
        Pending::ReturnReason { order_no, exchange } => {
            let reason = reason_of(&r.normalized).unwrap_or(aftersales::Reason::NoReason);
            let o = order(&order_no)?;
            Some(after_sale(facts, r, o, exchange, reason, turn))
        }
        Pending::InvoiceTitle { order_no } => {
            let t = r.normalized.trim();
            if t.contains("个人") || t.starts_with("personal") || t == "个人" {
                state.pending = Some(Pending::InvoiceEmail { order_no, company: None });
                turn.replies.push(say(
                    r.lang,
                    "好的，个人抬头。请发送接收电子发票的邮箱。".into(),
                    "Personal invoice. Which e-mail should it go to?".into(),
                ));
            } else {
                let company = t.trim_start_matches("公司").trim_start_matches([':', ' ']).to_owned();
                if company.chars().count() < 4 {
                    state.pending = Some(Pending::InvoiceTitle { order_no });
                    turn.replies.push(say(
                        r.lang,
                        "请回复“个人”，或发送公司全称作为发票抬头。".into(),
                        "Reply \"personal\", or send the company's full name for the invoice.".into(),
                    ));
                    return Some("asked:invoice_title".into());
                }
                state.pending = Some(Pending::InvoiceCreditCode { order_no, company });
                turn.replies.push(say(
                    r.lang,
                    "请发送18位统一社会信用代码（税号）。".into(),
                    "Please send the 18-character unified social credit code (tax id).".into(),
                ));
            }
            Some("asked:invoice".into())
        }
        Pending::InvoiceCreditCode { order_no, company } => {
            let text: String = r.normalized.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            match CreditCode::parse(&text) {
                Ok(code) => {
                    state.pending =
                        Some(Pending::InvoiceEmail { order_no, company: Some((company, code.as_str().to_owned())) });
                    turn.replies.push(say(
                        r.lang,
                        "税号已核对无误。请发送接收电子发票的邮箱。".into(),
                        "Tax id checked. Which e-mail should the invoice go to?".into(),
                    ));
                    Some("asked:invoice".into())
                }
                Err(e) => {
                    state.pending = Some(Pending::InvoiceCreditCode { order_no, company });
                    let why = match e {
                        kefu_core::invoice::InvalidCreditCode::Length => "税号应为18位",
                        kefu_core::invoice::InvalidCreditCode::Character(_) => {
                            "税号含有不允许的字符（不含 I、O、Z、S、V）"
                        }
                        kefu_core::invoice::InvalidCreditCode::Check => "税号校验位不对，可能有输错的字符",
                    };
                    turn.replies.push(say(
                        r.lang,
                        format!("{why}，请核对后重新发送。"),
                        format!("That tax id is not valid ({e}); please check and send it again."),
                    ));
                    Some("refused:invalid_credit_code".into())
                }
            }
        }
        Pending::InvoiceEmail { order_no, company } => {
            let candidate = r.normalized.split_whitespace().find(|w| w.contains('@')).unwrap_or("");
            let Ok(email) = Email::parse(candidate) else {
                state.pending = Some(Pending::InvoiceEmail { order_no, company });
                turn.replies.push(say(
                    r.lang,
                    "邮箱格式不对，请重新发送，例如 name@example.com。".into(),
                    "That doesn't look like an e-mail address; please send it again.".into(),
                ));
                return Some("refused:invalid_email".into());
            };
            let title = match company {
                Some((name, code)) => match CreditCode::parse(&code) {
                    Ok(credit_code) => Title::Company { name, credit_code },
                    Err(_) => return None,
                },
                None => Title::Personal { name: facts.customer.nickname.clone() },
            };
            turn.actions.push(Action::InvoiceTask { order_no: order_no.clone(), title, email: email.clone() });
            turn.replies.push(say(
                r.lang,
                format!("已提交订单{order_no}的开票申请，电子发票将在1-3个工作日内发送至{}。", email.as_str()),
                format!(
                    "Invoice requested for order {order_no}; it will be e-mailed to {} within 1-3 working days.",
                    email.as_str()
                ),
            ));
            Some("invoice_requested".into())
        }
    }
}

fn reason_of(text: &str) -> Option<aftersales::Reason> {
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

fn shipped_address_reply(lang: Lang) -> String {
    say(
        lang,
        "订单已经发货，地址无法在系统里修改了。您可以联系快递员改派，或者我帮您转人工协助联系快递公司。".into(),
        "The order has shipped, so the address can't be changed here; the courier can redirect it, or a colleague can help.".into(),
    )
}

fn act_on_order(
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
                _ => say(
                    lang,
                    format!("订单{no}目前没有退款记录。需要申请的话回复“退款”。"),
                    format!("There's no refund on order {no}. Say \"refund\" to ask for one."),
                ),
            };
            turn.replies.push(text);
            "answered:refund_status".into()
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

fn after_sale(
    facts: &Facts<'_>,
    r: &Reading,
    o: &OrderFacts,
    exchange: bool,
    reason: aftersales::Reason,
    turn: &mut Turn,
) -> String {
    let lang = r.lang;
    let no = o.order.order_no.as_str().to_owned();
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

fn logistics_text(lang: Lang, o: &OrderFacts) -> String {
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

fn hand_off(facts: &Facts<'_>, state: &mut BotState, r: &Reading, mut turn: Turn, reason: HandoffReason) -> Turn {
    turn.audit.outcome = hand_off_into(facts, state, r, &mut turn, reason);
    turn.audit.order_no = state.order_no.clone();
    turn
}

fn hand_off_into(
    facts: &Facts<'_>,
    state: &mut BotState,
    r: &Reading,
    turn: &mut Turn,
    reason: HandoffReason,
) -> String {
    let priority = match reason {
        HandoffReason::Angry | HandoffReason::HighValueComplaint | HandoffReason::VipWithComplaints => 2,
        HandoffReason::Complaint => 1,
        _ => 0,
    };
    turn.handoff = Some(handoff(facts, state, r, reason, priority));
    let vip = matches!(facts.customer.tier, Tier::Plus | Tier::Vip);
    turn.replies.push(match (reason, vip) {
        (HandoffReason::Angry | HandoffReason::Complaint | HandoffReason::HighValueComplaint, _) => say(
            r.lang,
            "非常抱歉给您带来不好的体验，已为您优先转接专属客服，请稍候。".into(),
            "I'm very sorry about this. I'm putting you through to a colleague right away.".into(),
        ),
        (_, true) => say(
            r.lang,
            "正在为您转接会员专属客服，请稍候。".into(),
            "Connecting you to your member service team now.".into(),
        ),
        _ => say(
            r.lang,
            "正在为您转接人工客服，请稍候。".into(),
            "Connecting you to a colleague, one moment please.".into(),
        ),
    });
    state.pending = None;
    format!("handoff:{}", reason.code())
}

fn handoff(facts: &Facts<'_>, state: &BotState, r: &Reading, reason: HandoffReason, priority: i32) -> Handoff {
    let c = facts.customer;
    let mut parts = vec![
        format!("转人工原因：{}", reason.zh()),
        format!("识别意图：{}（置信度{:.2}）", r.intent, r.confidence),
        format!("情绪：{}", r.emotion),
    ];
    if let Some(no) = state.order_no.as_ref().or(r.order_nos.first()) {
        parts.push(format!("订单：{no}"));
    }
    if !state.tried.is_empty() {
        parts.push(format!("机器人已处理：{}", state.tried.join("、")));
    }
    if c.tier != Tier::Normal || c.complaint_count > 0 {
        parts.push(format!("客户：{} 会员，历史投诉{}次", c.tier.as_str().to_uppercase(), c.complaint_count));
    }
    Handoff { reason, priority, summary: parts.join("；") }
}
