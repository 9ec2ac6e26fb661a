//! One bot turn: read the shopper's message (intent, emotion, entities),
//! continue or start a flow over their real orders, and decide replies,
//! actions for the server to apply, an audit line, and whether to hand off.
//!
//! Pure: everything it needs is in [`Facts`]; everything it wants done is in
//! the returned [`Turn`]. The conversation's [`BotState`] carries what the
//! bot asked for between turns (a pick list, a confirmation, invoice details).

use std::collections::HashMap;

use kefu_core::aftersales::{self, Decision, Refusal};
use kefu_core::botturn::RequestKind;
use kefu_core::catalog::CategoryPath;
use kefu_core::clock::Timestamp;
use kefu_core::customer::{Customer, Tier};
use kefu_core::id::KnowledgeId;
use kefu_core::invoice::{CreditCode, Email, Title};
use kefu_core::money::Fen;
use kefu_core::order::OrderStatus;
use kefu_core::service::PeopleNow;
use kefu_nlu::builtin::{self, EmotionLevel};
use kefu_nlu::entities::{Day, Extractor, Value};
use kefu_nlu::{Classifier, Prepared, normalize};
use serde::{Deserialize, Serialize};

use crate::knowledge::Knowledge;
use crate::rules::ShopRules;

const HOUR_MS: i64 = 3_600_000;
/// Below this intent confidence the bot asks again instead of acting.
const MIN_CONFIDENCE: f32 = 0.35;
/// Confidence that overrides a question the bot is waiting on.
const SURE: f32 = 0.6;
const PICK_LIST: usize = 5;

/// One of the shopper's orders with its shipments (oldest first), as the
/// store reads them.
pub type OrderFacts = kefu_core::order::OrderWithShipments;

/// What the bot knows when a message arrives, loaded by the caller.
pub struct Facts<'a> {
    pub customer: &'a Customer,
    /// The shopper's orders in this shop, newest first.
    pub orders: &'a [OrderFacts],
    /// Category of each SKU the orders hold.
    pub categories: &'a HashMap<String, CategoryPath>,
    pub rules: &'a ShopRules,
    pub extractor: &'a Extractor,
    /// The shop's knowledge base, for questions no flow answers.
    pub knowledge: &'a Knowledge,
    /// The shop's intent model: its own (see [`crate::intents`]) or the built-in one.
    pub intents: &'a Classifier,
    pub now: Timestamp,
    /// Whether people can take a hand-off now, so the bot promises only what holds.
    pub people: PeopleNow,
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
    /// The product the shopper asks about (the SKU of a product card), once known.
    #[serde(default)]
    pub product: Option<String>,
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

    /// One line: the code, the order, then `key=value` details (the address,
    /// which may hold spaces, last). Dialogue stories match on its words.
    pub fn describe(&self) -> String {
        let code = self.code();
        match self {
            Action::RecordUrge { order_no, promised_by } => {
                format!("{code} {order_no} by={}", local_time(*promised_by).replace(' ', "T"))
            }
            Action::CancelOrder { order_no } | Action::PriceProtection { order_no } => format!("{code} {order_no}"),
            Action::ChangeAddress { order_no, address, province, city } => format!(
                "{code} {order_no} province={} city={} address={address}",
                province.as_deref().unwrap_or("-"),
                city.as_deref().unwrap_or("-")
            ),
            Action::AfterSale { order_no, sku, exchange, reason, amount, needs_review } => format!(
                "{code} {order_no} sku={sku} kind={} reason={} amount={amount} review={}",
                if *exchange { "exchange" } else { "return" },
                reason.code(),
                if *needs_review { "yes" } else { "no" }
            ),
            Action::InvoiceTask { order_no, title, email } => {
                let title = match title {
                    Title::Personal { name } => format!("title=personal name={name}"),
                    Title::Company { name, credit_code } => format!("title=company code={credit_code} name={name}"),
                };
                format!("{code} {order_no} email={} {title}", email.as_str())
            }
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
    /// The knowledge-base entry the reply quotes, when it does.
    pub answered_from: Option<KnowledgeId>,
}

impl Turn {
    /// Whether the turn only answers from the shopper's orders or the
    /// knowledge base (where is my parcel, has it shipped, where is my
    /// refund, a known question): what the bot may still say to a shopper
    /// already waiting for people. Anything else — a question back, an
    /// action, a hand-off, small talk — is left to the person who takes them.
    pub fn only_answers(&self) -> bool {
        const ANSWERS: [&str; 7] = [
            "answered:logistics",
            "answered:order_status",
            "answered:no_tracking_yet",
            "answered:not_shipped",
            "answered:refund_status",
            "answered:request_open",
            "answered:faq",
        ];
        self.handoff.is_none()
            && self.actions.is_empty()
            && !self.replies.is_empty()
            && ANSWERS.contains(&self.audit.outcome.as_str())
    }
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

/// What the shopper sent: words, a card of one of their orders or of a
/// product of the shop, or an image; cards and images are checked to be
/// theirs (or the shop's) before the bot sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    Text(&'a str),
    OrderCard(&'a str),
    /// The SKU of a product card (咨询此商品), checked to be the shop's.
    ProductCard(&'a str),
    /// An image (its attachment id): the bot cannot look at it, people can.
    Image(&'a str),
}

impl<'a> Input<'a> {
    /// A stored message's input: a card's or an image's text is what it names.
    pub fn of(kind: kefu_core::conversation::MessageKind, text: &'a str) -> Self {
        match kind {
            kefu_core::conversation::MessageKind::Order => Input::OrderCard(text),
            kefu_core::conversation::MessageKind::Product => Input::ProductCard(text),
            kefu_core::conversation::MessageKind::Image => Input::Image(text),
            _ => Input::Text(text),
        }
    }
}

/// A card or an image has no words to read: its reading is given (an order
/// card asks about that order's status or picks it from a list).
fn read_card(state: &BotState, intent: &str, order_nos: Vec<String>, text: &str) -> Reading {
    Reading {
        intent: intent.into(),
        confidence: 1.0,
        angry: false,
        emotion: EmotionLevel::Calm.as_str(),
        order_nos,
        places: Vec::new(),
        normalized: text.to_owned(),
        lang: if state.english { Lang::En } else { Lang::Zh },
    }
}

fn read(facts: &Facts<'_>, state: &BotState, text: &str) -> Reading {
    // One normalisation and one tokenisation, read by both models and the entities.
    let prepared = Prepared::new(text);
    let prediction = facts.intents.predict_prepared(&prepared);
    let emotion = builtin::emotion_prepared(&prepared);
    let today = local_day(facts.now);
    let mut order_nos = Vec::new();
    let mut places = Vec::new();
    for e in facts.extractor.extract(&prepared.normalized, today) {
        match e.value {
            Value::Order(n) => order_nos.push(n),
            Value::Place { province, city } => places.push((province, city)),
            _ => {}
        }
    }
    let lang = language(&prepared.normalized, state.english);
    Reading {
        intent: prediction.label,
        confidence: prediction.confidence,
        angry: emotion.level == EmotionLevel::Angry,
        emotion: emotion.level.as_str(),
        order_nos,
        places,
        normalized: prepared.normalized,
        lang,
    }
}

/// The shop's calendar day (China Standard Time, UTC+8).
fn local_day(t: Timestamp) -> Day {
    Day::from_ordinal((t.0 + 8 * HOUR_MS).div_euclid(24 * HOUR_MS))
}

/// `YYYY-MM-DD HH:MM` in the shop's time zone (UTC+8).
pub fn local_time(t: Timestamp) -> String {
    let day = local_day(t);
    let minutes = (t.0 + 8 * HOUR_MS).rem_euclid(24 * HOUR_MS) / 60_000;
    format!("{}-{:02}-{:02} {:02}:{:02}", day.year, day.month, day.day, minutes / 60, minutes % 60)
}

pub fn respond(facts: &Facts<'_>, state: &mut BotState, text: &str) -> Turn {
    respond_to(facts, state, Input::Text(text))
}

pub fn respond_to(facts: &Facts<'_>, state: &mut BotState, input: Input<'_>) -> Turn {
    let r = match input {
        Input::Text(text) => read(facts, state, text),
        Input::OrderCard(no) => {
            // A card answers a pick list; any other question the bot asked
            // (a confirmation, an address) is left for the card's order.
            if !matches!(state.pending, Some(Pending::PickOrder { .. })) {
                state.pending = None;
            }
            read_card(state, "order_status", vec![no.to_owned()], no)
        }
        Input::Image(_) => read_card(state, "image", Vec::new(), ""),
        Input::ProductCard(sku) => {
            // A new product starts a new question: nothing the bot asked before stands.
            state.pending = None;
            state.product = Some(sku.to_owned());
            read_card(state, "product_inquiry", Vec::new(), sku)
        }
    };
    state.english = r.lang == Lang::En;
    let mut turn = Turn {
        replies: Vec::new(),
        actions: Vec::new(),
        handoff: None,
        answered_from: None,
        audit: Audit {
            intent: r.intent.clone(),
            confidence: r.confidence,
            emotion: r.emotion,
            order_no: None,
            outcome: String::new(),
        },
    };

    // People first: these go to a person whatever the bot was doing. A
    // doubtful "human" reading gives way to a question the bot asked (个人
    // as an invoice title reads a little like 人工).
    let c = facts.customer;
    let asked = state.pending.is_some();
    if r.intent == "human_agent" && r.confidence >= if asked { SURE } else { MIN_CONFIDENCE } {
        return hand_off(facts, state, &r, turn, HandoffReason::Requested);
    }
    if r.intent == "complaint" && r.confidence >= MIN_CONFIDENCE {
        return hand_off(facts, state, &r, turn, complaint_reason(facts));
    }
    if r.angry {
        return hand_off(facts, state, &r, turn, HandoffReason::Angry);
    }
    if matches!(c.tier, Tier::Vip | Tier::Plus) && c.complaint_count > 0 && state.tried.is_empty() {
        return hand_off(facts, state, &r, turn, HandoffReason::VipWithComplaints);
    }

    if let Input::Image(_) = input {
        turn.replies.push(say(r.lang, "收到您的图片。".into(), "Got your picture.".into()));
        return hand_off(facts, state, &r, turn, HandoffReason::NeedsHuman);
    }
    if let Input::ProductCard(sku) = input {
        turn.replies.push(product_question(facts, r.lang, sku));
        turn.audit.outcome = "asked:product_question".into();
        state.misunderstood = 0;
        return turn;
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
    let flow_answers = ORDER_INTENTS.contains(&r.intent.as_str()) || SMALL_TALK.contains(&r.intent.as_str());
    if !understood || !flow_answers || r.confidence < SURE {
        // A question no flow answers (or one the intent model is unsure of):
        // the merchant's knowledge base may answer it.
        if let Some(outcome) = answer_from_knowledge(facts, state, &r, &mut turn) {
            turn.audit.outcome = outcome;
            return turn;
        }
    }
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

/// Intents the bot answers itself, whatever the knowledge base says.
const SMALL_TALK: [&str; 2] = ["greeting", "thanks_bye"];

/// The bot's answer to a product card: the product named by its category,
/// and what it can be asked.
fn product_question(facts: &Facts<'_>, lang: Lang, sku: &str) -> String {
    let kind = facts.categories.get(sku).and_then(|c| c.levels().last()).cloned();
    say(
        lang,
        format!(
            "收到，您在看{}（{sku}）。想了解参数、尺码、库存还是发货？直接问我就好，需要人工也可以说“转人工”。",
            kind.as_deref().map_or_else(|| "这款商品".to_owned(), |k| format!("这款{k}"))
        ),
        format!(
            "Got it, you are looking at {sku}. Ask me about its specs, size, stock or shipping, or say \"agent\" for a person."
        ),
    )
}

fn answer_from_knowledge(facts: &Facts<'_>, state: &mut BotState, r: &Reading, turn: &mut Turn) -> Option<String> {
    // The product the shopper asked about first, then what they bought.
    let bought: Vec<&CategoryPath> = state
        .product
        .as_deref()
        .and_then(|sku| facts.categories.get(sku))
        .into_iter()
        .chain(
            facts.orders.iter().flat_map(|o| o.order.items.iter()).filter_map(|item| facts.categories.get(&item.sku)),
        )
        .collect();
    let found = facts.knowledge.answer(&r.normalized, facts.rules.knowledge_min_similarity, &bought)?;
    turn.replies.push(found.entry.answer.clone());
    turn.answered_from = Some(found.entry.id);
    state.misunderstood = 0;
    let topic = format!("知识库「{}」", found.entry.question);
    if !state.tried.contains(&topic) {
        state.tried.push(topic);
    }
    Some("answered:faq".into())
}

/// A complaint about the shopper's latest order; one worth more than the
/// shop's limit goes to a person first.
fn complaint_reason(facts: &Facts<'_>) -> HandoffReason {
    let high = facts.orders.first().is_some_and(|o| o.order.total >= facts.rules.handoff_high_value);
    if high { HandoffReason::HighValueComplaint } else { HandoffReason::Complaint }
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
            Resolved::NotFound(no) => {
                turn.replies.push(say(
                    r.lang,
                    format!("没有查到订单{no}。请核对一下订单号；如果是用其他账号下的单，请用下单账号联系我们。"),
                    format!("I couldn't find order {no}. Please check the number, or contact us from the account that placed it."),
                ));
                "answered:order_not_found".into()
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
        "complaint" => hand_off_into(facts, state, r, turn, complaint_reason(facts)),
        // No merchant data to answer from yet: a person does it, with the context.
        _ => hand_off_into(facts, state, r, turn, HandoffReason::NeedsHuman),
    }
}

mod handoff;
mod orders;
mod pending;

use handoff::{hand_off, hand_off_into};
use orders::{Resolved, act_on_order, after_sale, pick_list, picked, reason_of, resolve_order, shipped_address_reply};
use pending::continue_flow;
