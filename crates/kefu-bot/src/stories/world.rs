//! The world a story plays in, written the way a person describes it
//! (`paid: 3d ago`, `price: 3999.00`), turned into the bot's [`Facts`].

use std::collections::HashMap;

use kefu_core::botturn::RequestKind;
use kefu_core::catalog::CategoryPath;
use kefu_core::clock::Timestamp;
use kefu_core::customer::{Customer, Tier};
use kefu_core::id::{CustomerId, KnowledgeId, OrderId, ShipmentId, ShopId};
use kefu_core::knowledge::{KnowledgeEntry, KnowledgeText};
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus, Shipment, ShipmentEvent};
use kefu_core::service::PeopleNow;
use kefu_nlu::entities::{CatalogueEntry, Day, Extractor};
use serde::Deserialize;

use super::{StoryFile, StorySpec};
use crate::flow::{Action, Facts, OrderFacts};
use crate::knowledge::Knowledge;
use crate::rules::ShopRules;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The shop's time zone, UTC+8.
const OFFSET: i64 = 8 * HOUR;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    /// `YYYY-MM-DD HH:MM`, Beijing time.
    pub now: String,
    #[serde(default)]
    pub customer: CustomerSpec,
    /// A rules file, relative to the story file; the defaults when absent.
    #[serde(default)]
    pub rules_file: Option<String>,
    #[serde(default)]
    pub orders: Vec<OrderSpec>,
    /// The shop's knowledge base.
    #[serde(default)]
    pub knowledge: Vec<KnowledgeSpec>,
    /// Whether an agent is online (the default); without one the bot's
    /// hand-off says so, and after the shop's hours when people are back.
    #[serde(default = "online")]
    pub people_online: bool,
}

fn online() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeSpec {
    pub question: String,
    #[serde(default)]
    pub alternates: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerSpec {
    #[serde(default = "default_nickname")]
    pub nickname: String,
    /// normal, plus or vip.
    #[serde(default)]
    pub tier: String,
    #[serde(default)]
    pub complaints: u32,
}

impl Default for CustomerSpec {
    fn default() -> Self {
        CustomerSpec { nickname: default_nickname(), tier: String::new(), complaints: 0 }
    }
}

fn default_nickname() -> String {
    "小王".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    pub no: String,
    pub status: String,
    /// When it was paid (and created): `3d ago`, `10h ago`, or `YYYY-MM-DD HH:MM`.
    #[serde(default)]
    pub paid: Option<String>,
    /// Defaults to 20 hours after payment for orders that have shipped.
    #[serde(default)]
    pub shipped: Option<String>,
    /// Defaults to two days after shipment (never after now) for delivered orders.
    #[serde(default)]
    pub delivered: Option<String>,
    pub items: Vec<ItemSpec>,
    #[serde(default = "default_province")]
    pub province: String,
    #[serde(default = "default_province")]
    pub city: String,
    #[serde(default)]
    pub shipment: Option<ShipmentSpec>,
    /// Kinds of the order's open requests (服务单): `after_sale`, `invoice`…
    #[serde(default)]
    pub open_requests: Vec<String>,
}

fn default_province() -> String {
    "北京".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    pub sku: String,
    pub name: String,
    /// Yuan, e.g. `3999.00`.
    pub price: Yuan,
    #[serde(default = "one")]
    pub quantity: u32,
    /// e.g. `家用电器/冰箱`.
    #[serde(default)]
    pub category: Option<String>,
}

fn one() -> u32 {
    1
}

/// A price written as a number or a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Yuan {
    Text(String),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentSpec {
    pub carrier: String,
    pub tracking: String,
    #[serde(default)]
    pub events: Vec<EventSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub at: String,
    #[serde(rename = "where")]
    pub location: String,
    pub what: String,
}

/// Everything [`Facts`] borrows, owned.
pub(super) struct World {
    customer: Customer,
    orders: Vec<OrderFacts>,
    categories: HashMap<String, CategoryPath>,
    rules: ShopRules,
    extractor: Extractor,
    knowledge: Knowledge,
    now: Timestamp,
    people: PeopleNow,
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

impl World {
    pub(super) fn build(file: &StoryFile, story: &StorySpec) -> Result<World, String> {
        let now =
            absolute(&file.world.now).ok_or_else(|| format!("now: {:?} is not YYYY-MM-DD HH:MM", file.world.now))?;
        let shop = ShopId::from_uuid(uuid(1));
        let customer_id = CustomerId::from_uuid(uuid(2));
        let c = story.customer.as_ref().unwrap_or(&file.world.customer);
        let tier = Tier::parse(&c.tier).ok_or_else(|| format!("customer tier {:?}: normal, plus or vip", c.tier))?;
        let customer = Customer {
            id: customer_id,
            shop_id: shop,
            external_id: Some("story-shopper".into()),
            nickname: c.nickname.clone(),
            tier,
            tags: vec![],
            phone: None,
            lifetime_spend: Fen(0),
            complaint_count: c.complaints,
            created_at: Timestamp(0),
        };
        let rules = match (&story.rules, &file.world.rules_file) {
            (Some(text), _) => ShopRules::parse(text).map_err(|e| e.to_string())?,
            (None, Some(name)) => {
                let path = file.path.parent().unwrap_or(std::path::Path::new(".")).join(name);
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                ShopRules::parse(&text).map_err(|e| e.to_string())?
            }
            (None, None) => ShopRules::default(),
        };
        let mut categories = HashMap::new();
        let mut catalogue = Vec::new();
        let mut orders = Vec::new();
        let specs = story.orders.as_ref().unwrap_or(&file.world.orders);
        for (i, spec) in specs.iter().enumerate() {
            let n = i as u128;
            let what = |m: String| format!("order {}: {m}", spec.no);
            let order = order(spec, now, OrderId::from_uuid(uuid(100 + n)), shop, customer_id).map_err(what)?;
            for item in &spec.items {
                if let Some(path) = &item.category {
                    let path = CategoryPath::parse(path).map_err(|_| what(format!("category {path:?}")))?;
                    categories.insert(item.sku.clone(), path);
                }
                catalogue.push(CatalogueEntry { sku: item.sku.clone(), name: item.name.clone(), model: None });
            }
            let shipments = match &spec.shipment {
                Some(s) => vec![shipment(s, now, ShipmentId::from_uuid(uuid(200 + n)), &order).map_err(what)?],
                None => vec![],
            };
            let open_requests = spec
                .open_requests
                .iter()
                .map(|k| RequestKind::parse(k).ok_or_else(|| what(format!("request kind {k:?}"))))
                .collect::<Result<_, _>>()?;
            orders.push(OrderFacts { order, shipments, open_requests });
        }
        // Newest first, as the store gives them.
        orders.sort_by_key(|o| std::cmp::Reverse(o.order.created_at));
        let extractor = Extractor::new(&rules.order_number_pattern, &catalogue).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for (i, k) in file.world.knowledge.iter().enumerate() {
            let text = KnowledgeText::parse(&k.question, &k.alternates, &k.answer, k.category.as_deref())
                .map_err(|e| format!("knowledge {:?}: {e}", k.question))?;
            entries.push(KnowledgeEntry::new(
                KnowledgeId::from_uuid(uuid(400 + i as u128)),
                shop,
                text,
                k.enabled,
                now,
            ));
        }
        let knowledge = Knowledge::new(entries);
        let online = story.people_online.unwrap_or(file.world.people_online);
        let people = PeopleNow::of(online, &rules.service_hours, now);
        Ok(World { customer, orders, categories, rules, extractor, knowledge, now, people })
    }

    pub(super) fn facts(&self) -> Facts<'_> {
        Facts {
            customer: &self.customer,
            orders: &self.orders,
            categories: &self.categories,
            rules: &self.rules,
            extractor: &self.extractor,
            knowledge: &self.knowledge,
            intents: kefu_nlu::builtin::intent_model(),
            now: self.now,
            people: self.people,
        }
    }

    /// What the store does with the bot's actions, for the next turn.
    pub(super) fn apply(&mut self, actions: &[Action]) {
        for action in actions {
            let no = match action {
                Action::CancelOrder { order_no }
                | Action::ChangeAddress { order_no, .. }
                | Action::AfterSale { order_no, .. }
                | Action::PriceProtection { order_no }
                | Action::InvoiceTask { order_no, .. } => order_no,
                Action::RecordUrge { .. } => continue,
            };
            let Some(o) = self.orders.iter_mut().find(|o| o.order.order_no.as_str() == no) else { continue };
            match action {
                Action::CancelOrder { .. } => {
                    o.order.status = OrderStatus::Cancelled;
                    o.order.cancelled_at = Some(self.now);
                }
                Action::ChangeAddress { address, province, city, .. } => {
                    o.order.address = address.clone();
                    o.order.province = province.clone().unwrap_or_default();
                    o.order.city = city.clone().unwrap_or_default();
                }
                // The store files a request and leaves the order's status
                // to the merchant's system.
                Action::AfterSale { .. } => o.open_requests.push(RequestKind::AfterSale),
                Action::PriceProtection { .. } => o.open_requests.push(RequestKind::PriceProtection),
                Action::InvoiceTask { .. } => o.open_requests.push(RequestKind::Invoice),
                Action::RecordUrge { .. } => {}
            }
        }
    }
}

fn order(spec: &OrderSpec, now: Timestamp, id: OrderId, shop: ShopId, customer: CustomerId) -> Result<Order, String> {
    let order_no = OrderNo::parse(&spec.no).map_err(|_| "not an order number".to_owned())?;
    let status = OrderStatus::parse(&spec.status).ok_or_else(|| format!("status {:?}", spec.status))?;
    let at = |field: &str, text: &Option<String>| -> Result<Option<Timestamp>, String> {
        text.as_deref()
            .map(|t| when(t, now).ok_or_else(|| format!("{field}: {t:?} is not `3d ago` or a date")))
            .transpose()
    };
    let paid = at("paid", &spec.paid)?.unwrap_or(Timestamp(now.0 - DAY));
    let shipped = at("shipped", &spec.shipped)?
        .or_else(|| status.has_shipped().then(|| paid.plus_millis(20 * HOUR)).map(|t| t.min(now)));
    let delivered_states = [OrderStatus::Delivered, OrderStatus::Completed, OrderStatus::AfterSale];
    let delivered = at("delivered", &spec.delivered)?
        .or_else(|| delivered_states.contains(&status).then(|| shipped.unwrap_or(paid).plus_days(2).min(now)));
    let mut items = Vec::new();
    for item in &spec.items {
        let price = match &item.price {
            Yuan::Text(t) => t.clone(),
            Yuan::Int(n) => n.to_string(),
            Yuan::Float(f) => f.to_string(),
        };
        let unit_price = Fen::parse_yuan(&price).map_err(|_| format!("price {price:?}"))?;
        items.push(OrderItem { sku: item.sku.clone(), name: item.name.clone(), quantity: item.quantity, unit_price });
    }
    if items.is_empty() {
        return Err("no items".into());
    }
    let total = Fen(items.iter().map(|i| i.amount().0).sum());
    Ok(Order {
        id,
        shop_id: shop,
        order_no,
        customer_id: customer,
        status,
        items,
        total,
        province: spec.province.clone(),
        city: spec.city.clone(),
        address: "朝阳区某路1号".into(),
        created_at: paid,
        paid_at: (status != OrderStatus::Created).then_some(paid),
        shipped_at: shipped,
        delivered_at: delivered,
        completed_at: None,
        cancelled_at: (status == OrderStatus::Cancelled).then_some(paid),
        updated_at: paid,
    })
}

fn shipment(spec: &ShipmentSpec, now: Timestamp, id: ShipmentId, order: &Order) -> Result<Shipment, String> {
    let mut events = Vec::new();
    for e in &spec.events {
        let at = when(&e.at, now).ok_or_else(|| format!("shipment event at {:?}", e.at))?;
        events.push(ShipmentEvent { at, location: e.location.clone(), description: e.what.clone() });
    }
    events.sort_by_key(|e| e.at);
    Ok(Shipment {
        id,
        shop_id: order.shop_id,
        order_id: order.id,
        carrier: spec.carrier.clone(),
        tracking_no: spec.tracking.clone(),
        events,
        updated_at: now,
    })
}

/// `now`, `3d ago`, `2d 4h ago`, `30m ago`, or an absolute `YYYY-MM-DD HH:MM`.
fn when(text: &str, now: Timestamp) -> Option<Timestamp> {
    let text = text.trim();
    if text == "now" {
        return Some(now);
    }
    let Some(span) = text.strip_suffix("ago") else { return absolute(text) };
    let mut total = 0i64;
    let mut parts = 0;
    for part in span.split_whitespace() {
        let unit = match part.chars().last()? {
            'd' => DAY,
            'h' => HOUR,
            'm' => MINUTE,
            _ => return None,
        };
        let n: i64 = part[..part.len() - 1].parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        parts += 1;
    }
    (parts > 0).then(|| Timestamp(now.0 - total))
}

/// `YYYY-MM-DD HH:MM` (or just the date), Beijing time.
fn absolute(text: &str) -> Option<Timestamp> {
    let (date, time) = text.trim().split_once(' ').unwrap_or((text.trim(), "00:00"));
    let mut d = date.split('-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let day = Day::new(i32::try_from(y).ok()?, u8::try_from(m).ok()?, u8::try_from(day).ok()?)?;
    let (h, min) = time.trim().split_once(':')?;
    let (h, min): (i64, i64) = (h.parse().ok()?, min.parse().ok()?);
    if !(0..24).contains(&h) || !(0..60).contains(&min) {
        return None;
    }
    Some(Timestamp(day.ordinal() * DAY + h * HOUR + min * MINUTE - OFFSET))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_beijing_time() {
        let now = absolute("2026-11-22 12:00").expect("date");
        assert_eq!(crate::flow::local_time(now), "2026-11-22 12:00");
        assert_eq!(when("3d ago", now), Some(Timestamp(now.0 - 3 * DAY)));
        assert_eq!(when("2d 4h ago", now), Some(Timestamp(now.0 - 2 * DAY - 4 * HOUR)));
        assert_eq!(when("now", now), Some(now));
        for bad in ["3 days ago", "ago", "2026-13-01 10:00", "2026-11-22 25:00", "x", "99999999999999999d ago"] {
            assert_eq!(when(bad, now), None, "{bad}");
        }
    }
}
