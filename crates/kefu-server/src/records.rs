//! Merchant data coming in: customers, products, orders and shipments, as
//! JSON records (REST upserts, webhooks, and `kefu import` for JSONL and CSV).
//!
//! A batch is validated whole before anything is written, and then written in
//! one store transaction: either every row lands or none does, and each bad
//! row is reported with its line and field.

use std::collections::{BTreeSet, HashMap};

use kefu_core::catalog::{CategoryPath, Product};
use kefu_core::clock::Timestamp;
use kefu_core::customer::{Customer, MaskedPhone, Tier};
use kefu_core::desk::Ctx;
use kefu_core::id::{CustomerId, KnowledgeId, OrderId, ProductId, ShipmentId, ShopId};
use kefu_core::knowledge::{KnowledgeEntry, KnowledgeText};
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus, Shipment, ShipmentEvent};
use kefu_core::store::StoreError;
use serde::Deserialize;
use serde_json::Value;

/// Which kind of record a batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customers,
    Products,
    Orders,
    Shipments,
    /// Knowledge-base entries, matched to stored ones by their question.
    Knowledge,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "customers" => Some(Kind::Customers),
            "products" => Some(Kind::Products),
            "orders" => Some(Kind::Orders),
            "shipments" => Some(Kind::Shipments),
            "knowledge" => Some(Kind::Knowledge),
            _ => None,
        }
    }
}

/// One bad row: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line (or array position) in the input.
    pub line: usize,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}: {}: {}", self.line, field, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} invalid row(s); nothing was written", .0.len())]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRecord {
    pub id: String,
    pub nickname: String,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub tags: Option<TagList>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub lifetime_spend_fen: Option<i64>,
    #[serde(default)]
    pub complaint_count: Option<u32>,
}

/// Tags as a JSON array, or in CSV as one cell separated by `|` or `,`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum TagList {
    List(Vec<String>),
    Joined(String),
}

impl TagList {
    fn into_vec(self) -> Vec<String> {
        match self {
            TagList::List(v) => v,
            TagList::Joined(s) => {
                s.split(['|', ',', '，']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRecord {
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub model: Option<String>,
    pub category: String,
    pub price_fen: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeRecord {
    pub question: String,
    #[serde(default)]
    pub alternates: Option<Alternates>,
    pub answer: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub enabled: Option<Flag>,
}

/// Other phrasings as a JSON array, or in CSV as one cell separated by `|`
/// or line breaks (questions hold commas).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Alternates {
    List(Vec<String>),
    Joined(String),
}

impl Alternates {
    fn into_vec(self) -> Vec<String> {
        match self {
            Alternates::List(v) => v,
            Alternates::Joined(s) => {
                s.split(['|', '\n']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
            }
        }
    }
}

/// true/false in JSON; in CSV also 1/0, yes/no, 是/否.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Flag {
    Bool(bool),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItemRecord {
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_fen: i64,
}

/// Items as a JSON array, or in CSV as a JSON array inside one cell.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Embedded<T> {
    List(Vec<T>),
    Json(String),
}

impl<T: serde::de::DeserializeOwned> Embedded<T> {
    fn into_vec(self) -> Result<Vec<T>, String> {
        match self {
            Embedded::List(v) => Ok(v),
            Embedded::Json(s) if s.trim().is_empty() => Ok(Vec::new()),
            Embedded::Json(s) => serde_json::from_str(&s).map_err(|e| format!("not a JSON list: {e}")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    pub order_no: String,
    pub customer_id: String,
    pub status: String,
    pub items: Embedded<OrderItemRecord>,
    #[serde(default)]
    pub total_fen: Option<i64>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    pub created_at: Value,
    #[serde(default)]
    pub paid_at: Option<Value>,
    #[serde(default)]
    pub shipped_at: Option<Value>,
    #[serde(default)]
    pub delivered_at: Option<Value>,
    #[serde(default)]
    pub completed_at: Option<Value>,
    #[serde(default)]
    pub cancelled_at: Option<Value>,
    #[serde(default)]
    pub updated_at: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentEventRecord {
    pub at: Value,
    pub location: String,
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRecord {
    pub order_no: String,
    pub carrier: String,
    pub tracking_no: String,
    #[serde(default = "no_events")]
    pub events: Embedded<ShipmentEventRecord>,
}

fn no_events() -> Embedded<ShipmentEventRecord> {
    Embedded::List(Vec::new())
}

/// A time as Unix milliseconds, RFC 3339, or "YYYY-MM-DD HH:MM[:SS]" in
/// China Standard Time (what merchants' exports usually hold).
pub fn parse_time(v: &Value) -> Result<Timestamp, String> {
    match v {
        Value::Number(n) => n.as_i64().map(Timestamp).ok_or_else(|| "not an integer millisecond time".into()),
        Value::String(s) => parse_time_text(s),
        _ => Err("expected a time".into()),
    }
}

pub fn parse_time_text(s: &str) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(Timestamp(ms));
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(Timestamp((t.unix_timestamp_nanos() / 1_000_000) as i64));
    }
    let formats = [
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ];
    for f in formats {
        if let Ok(t) = time::PrimitiveDateTime::parse(s, &f) {
            let cst = time::UtcOffset::from_hms(8, 0, 0).expect("invariant: +08:00 is a valid offset");
            return Ok(Timestamp((t.assume_offset(cst).unix_timestamp_nanos() / 1_000_000) as i64));
        }
    }
    Err(format!("unreadable time {s:?} (use Unix ms, RFC 3339 or \"YYYY-MM-DD HH:MM:SS\")"))
}

struct Row<'a> {
    line: usize,
    errors: &'a mut Vec<RowError>,
}

impl Row<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(RowError { line: self.line, field: Some(field.into()), message: message.into() });
    }
    fn text(&mut self, field: &str, v: &str, max: usize) -> String {
        let t = v.trim();
        if t.is_empty() {
            self.fail(field, "must not be empty");
        } else if t.chars().count() > max {
            self.fail(field, format!("longer than {max} characters"));
        }
        t.to_owned()
    }
    fn optional_text(&mut self, field: &str, v: Option<String>, max: usize) -> String {
        let t = v.unwrap_or_default().trim().to_owned();
        if t.chars().count() > max {
            self.fail(field, format!("longer than {max} characters"));
        }
        t
    }
    fn amount(&mut self, field: &str, fen: i64) -> Fen {
        if !(0..=100_000_000_000).contains(&fen) {
            self.fail(field, "must be between 0 and 1,000,000,000 yuan (in fen)");
        }
        Fen(fen)
    }
    fn time(&mut self, field: &str, v: &Value) -> Timestamp {
        parse_time(v).unwrap_or_else(|e| {
            self.fail(field, e);
            Timestamp(0)
        })
    }
    fn opt_time(&mut self, field: &str, v: &Option<Value>) -> Option<Timestamp> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(v) => Some(self.time(field, v)),
        }
    }
}

/// Parses raw JSON values into records of type `T`, collecting errors.
pub fn decode<T: serde::de::DeserializeOwned>(
    rows: Vec<(usize, Value)>,
    errors: &mut Vec<RowError>,
) -> Vec<(usize, T)> {
    rows.into_iter()
        .filter_map(|(line, v)| match serde_json::from_value::<T>(v) {
            Ok(r) => Some((line, r)),
            Err(e) => {
                errors.push(RowError { line, field: None, message: e.to_string() });
                None
            }
        })
        .collect()
}

fn reject_duplicates<'a>(keys: impl Iterator<Item = (usize, &'a str)>, field: &str, errors: &mut Vec<RowError>) {
    let mut seen = HashMap::new();
    for (line, key) in keys {
        if let Some(first) = seen.insert(key, line) {
            errors.push(RowError { line, field: Some(field.into()), message: format!("repeats line {first}") });
        }
    }
}

/// Validates and writes a batch of one kind. Returns how many rows were written.
pub async fn apply(ctx: &Ctx, shop: ShopId, kind: Kind, rows: Vec<(usize, Value)>) -> Result<usize, ImportError> {
    let mut errors = Vec::new();
    let n = rows.len();
    match kind {
        Kind::Customers => {
            let recs = decode::<CustomerRecord>(rows, &mut errors);
            reject_duplicates(recs.iter().map(|(l, r)| (*l, r.id.as_str())), "id", &mut errors);
            let list = customers(ctx, shop, recs, &mut errors);
            finish(errors)?;
            ctx.store.upsert_customers(&list).await?;
        }
        Kind::Products => {
            let recs = decode::<ProductRecord>(rows, &mut errors);
            reject_duplicates(recs.iter().map(|(l, r)| (*l, r.sku.as_str())), "sku", &mut errors);
            let list = products(ctx, shop, recs, &mut errors);
            finish(errors)?;
            ctx.store.upsert_products(&list).await?;
        }
        Kind::Orders => {
            let recs = decode::<OrderRecord>(rows, &mut errors);
            reject_duplicates(recs.iter().map(|(l, r)| (*l, r.order_no.as_str())), "order_no", &mut errors);
            let wanted: Vec<String> = recs
                .iter()
                .map(|(_, r)| r.customer_id.trim().to_owned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let known = ctx.store.customer_ids_by_external(shop, &wanted).await?;
            let list = orders(ctx, shop, recs, &known, &mut errors);
            finish(errors)?;
            ctx.store.upsert_orders(&list).await?;
        }
        Kind::Shipments => {
            let recs = decode::<ShipmentRecord>(rows, &mut errors);
            reject_duplicates(recs.iter().map(|(l, r)| (*l, r.tracking_no.as_str())), "tracking_no", &mut errors);
            let wanted: Vec<OrderNo> = recs
                .iter()
                .filter_map(|(_, r)| OrderNo::parse(&r.order_no).ok())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let known = ctx.store.order_ids_by_no(shop, &wanted).await?;
            let list = shipments(ctx, shop, recs, &known, &mut errors);
            finish(errors)?;
            ctx.store.upsert_shipments(&list).await?;
        }
        Kind::Knowledge => {
            let recs = decode::<KnowledgeRecord>(rows, &mut errors);
            let key = |q: &str| kefu_nlu::normalize(q).split_whitespace().collect::<String>();
            let keys: Vec<(usize, String)> = recs.iter().map(|(l, r)| (*l, key(&r.question))).collect();
            reject_duplicates(keys.iter().map(|(l, k)| (*l, k.as_str())), "question", &mut errors);
            let existing = ctx.store.knowledge(shop, MAX_KNOWLEDGE).await?;
            let list = knowledge(ctx, shop, recs, &existing, &mut errors);
            let new = list.iter().filter(|e| !existing.iter().any(|x| x.id == e.id)).count();
            if existing.len() + new > MAX_KNOWLEDGE as usize {
                errors.push(RowError {
                    line: 1,
                    field: None,
                    message: format!(
                        "a shop holds at most {MAX_KNOWLEDGE} entries; this would make {}",
                        existing.len() + new
                    ),
                });
            }
            finish(errors)?;
            ctx.store.put_knowledge_many(&list).await?;
        }
    }
    Ok(n)
}

/// Entries a shop may hold, as the API allows.
const MAX_KNOWLEDGE: u32 = 5_000;

fn knowledge(
    ctx: &Ctx,
    shop: ShopId,
    recs: Vec<(usize, KnowledgeRecord)>,
    existing: &[KnowledgeEntry],
    errors: &mut Vec<RowError>,
) -> Vec<KnowledgeEntry> {
    let key = |q: &str| kefu_nlu::normalize(q).split_whitespace().collect::<String>();
    let by_question: HashMap<String, KnowledgeId> = existing.iter().map(|e| (key(&e.question), e.id)).collect();
    let now = ctx.clock.now();
    recs.into_iter()
        .filter_map(|(line, r)| {
            let mut row = Row { line, errors };
            let enabled = match r.enabled {
                None => true,
                Some(Flag::Bool(b)) => b,
                Some(Flag::Text(t)) => match t.trim().to_lowercase().as_str() {
                    "true" | "1" | "yes" | "是" | "启用" => true,
                    "false" | "0" | "no" | "否" | "停用" => false,
                    _ => {
                        row.fail("enabled", "must be true or false");
                        true
                    }
                },
            };
            let alternates = r.alternates.map(Alternates::into_vec).unwrap_or_default();
            let text = KnowledgeText::parse(&r.question, &alternates, &r.answer, r.category.as_deref())
                .map_err(|e| row.fail(e.field, e.code))
                .ok()?;
            let id = by_question.get(&key(&text.question)).copied();
            let id = id.unwrap_or_else(|| KnowledgeId::from_uuid(ctx.ids.new_uuid()));
            Some(KnowledgeEntry::new(id, shop, text, enabled, now))
        })
        .collect()
}

fn finish(mut errors: Vec<RowError>) -> Result<(), ImportError> {
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by_key(|e| e.line);
    Err(ImportError::Rows(errors))
}

fn customers(ctx: &Ctx, shop: ShopId, recs: Vec<(usize, CustomerRecord)>, errors: &mut Vec<RowError>) -> Vec<Customer> {
    let now = ctx.clock.now();
    recs.into_iter()
        .map(|(line, r)| {
            let mut row = Row { line, errors };
            let external = row.text("id", &r.id, 64);
            let nickname = row.text("nickname", &r.nickname, 64);
            let tier = match r.tier.as_deref().map(Tier::parse) {
                None => Tier::Normal,
                Some(Some(t)) => t,
                Some(None) => {
                    row.fail("tier", "must be normal, vip or plus");
                    Tier::Normal
                }
            };
            let phone = match r.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                None => None,
                Some(p) => MaskedPhone::parse(p).map_err(|e| row.fail("phone", e.to_string())).ok(),
            };
            let tags = r.tags.map(TagList::into_vec).unwrap_or_default();
            if tags.len() > 20 || tags.iter().any(|t| t.chars().count() > 32) {
                row.fail("tags", "at most 20 tags of at most 32 characters");
            }
            let spend = row.amount("lifetime_spend_fen", r.lifetime_spend_fen.unwrap_or(0));
            Customer {
                id: CustomerId::from_uuid(ctx.ids.new_uuid()),
                shop_id: shop,
                external_id: Some(external),
                nickname,
                tier,
                tags,
                phone,
                lifetime_spend: spend,
                complaint_count: r.complaint_count.unwrap_or(0),
                created_at: now,
            }
        })
        .collect()
}

fn products(ctx: &Ctx, shop: ShopId, recs: Vec<(usize, ProductRecord)>, errors: &mut Vec<RowError>) -> Vec<Product> {
    recs.into_iter()
        .filter_map(|(line, r)| {
            let mut row = Row { line, errors };
            let sku = row.text("sku", &r.sku, 64);
            let name = row.text("name", &r.name, 200);
            let model = Some(row.optional_text("model", r.model, 64)).filter(|m| !m.is_empty());
            let price = row.amount("price_fen", r.price_fen);
            let category = CategoryPath::parse(&r.category).map_err(|e| row.fail("category", e.to_string())).ok()?;
            Some(Product {
                id: ProductId::from_uuid(ctx.ids.new_uuid()),
                shop_id: shop,
                sku,
                name,
                model,
                category,
                price,
            })
        })
        .collect()
}

fn orders(
    ctx: &Ctx,
    shop: ShopId,
    recs: Vec<(usize, OrderRecord)>,
    known: &HashMap<String, CustomerId>,
    errors: &mut Vec<RowError>,
) -> Vec<Order> {
    recs.into_iter()
        .filter_map(|(line, r)| {
            let mut row = Row { line, errors };
            let order_no = OrderNo::parse(&r.order_no).map_err(|e| row.fail("order_no", e.to_string())).ok();
            let customer = known.get(r.customer_id.trim()).copied();
            if customer.is_none() {
                row.fail(
                    "customer_id",
                    format!("no customer {:?} in this shop (import customers first)", r.customer_id),
                );
            }
            let status = OrderStatus::parse(&r.status);
            if status.is_none() {
                row.fail(
                    "status",
                    "must be one of created, paid, shipped, delivered, completed, cancelled, after_sale, refunded",
                );
            }
            let items: Vec<OrderItem> = match r.items.into_vec() {
                Ok(items) => items
                    .into_iter()
                    .map(|i| OrderItem {
                        sku: row.text("items.sku", &i.sku, 64),
                        name: row.text("items.name", &i.name, 200),
                        quantity: i.quantity,
                        unit_price: row.amount("items.unit_price_fen", i.unit_price_fen),
                    })
                    .collect(),
                Err(e) => {
                    row.fail("items", e);
                    Vec::new()
                }
            };
            if items.len() > 200 {
                row.fail("items", "at most 200 items");
            }
            let sum: i64 = items.iter().map(|i| i.unit_price.0.saturating_mul(i64::from(i.quantity))).sum();
            let total = row.amount("total_fen", r.total_fen.unwrap_or(sum));
            let created_at = row.time("created_at", &r.created_at);
            let paid_at = row.opt_time("paid_at", &r.paid_at);
            let shipped_at = row.opt_time("shipped_at", &r.shipped_at);
            let delivered_at = row.opt_time("delivered_at", &r.delivered_at);
            let completed_at = row.opt_time("completed_at", &r.completed_at);
            let cancelled_at = row.opt_time("cancelled_at", &r.cancelled_at);
            let updated_at = row.opt_time("updated_at", &r.updated_at).unwrap_or_else(|| {
                [Some(created_at), paid_at, shipped_at, delivered_at, completed_at, cancelled_at]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(created_at)
            });
            let province = row.optional_text("province", r.province, 32);
            let city = row.optional_text("city", r.city, 32);
            let address = row.optional_text("address", r.address, 200);
            Some(Order {
                id: OrderId::from_uuid(ctx.ids.new_uuid()),
                shop_id: shop,
                order_no: order_no?,
                customer_id: customer?,
                status: status?,
                items,
                total,
                province,
                city,
                address,
                created_at,
                paid_at,
                shipped_at,
                delivered_at,
                completed_at,
                cancelled_at,
                updated_at,
            })
        })
        .collect()
}

fn shipments(
    ctx: &Ctx,
    shop: ShopId,
    recs: Vec<(usize, ShipmentRecord)>,
    known: &HashMap<OrderNo, OrderId>,
    errors: &mut Vec<RowError>,
) -> Vec<Shipment> {
    recs.into_iter()
        .filter_map(|(line, r)| {
            let mut row = Row { line, errors };
            let order = OrderNo::parse(&r.order_no).ok().and_then(|no| known.get(&no).copied());
            if order.is_none() {
                row.fail("order_no", format!("no order {:?} in this shop (import orders first)", r.order_no));
            }
            let carrier = row.text("carrier", &r.carrier, 32);
            let tracking_no = row.text("tracking_no", &r.tracking_no, 64);
            let mut events: Vec<ShipmentEvent> = match r.events.into_vec() {
                Ok(list) => list
                    .into_iter()
                    .map(|e| ShipmentEvent {
                        at: row.time("events.at", &e.at),
                        location: row.optional_text("events.location", Some(e.location), 64),
                        description: row.text("events.description", &e.description, 200),
                    })
                    .collect(),
                Err(e) => {
                    row.fail("events", e);
                    Vec::new()
                }
            };
            events.sort_by_key(|e| e.at);
            let updated_at = events.last().map(|e| e.at).unwrap_or_else(|| ctx.clock.now());
            Some(Shipment {
                id: ShipmentId::from_uuid(ctx.ids.new_uuid()),
                shop_id: shop,
                order_id: order?,
                carrier,
                tracking_no,
                events,
                updated_at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_formats_merchants_export() {
        assert_eq!(parse_time(&serde_json::json!(1_700_000_000_000i64)), Ok(Timestamp(1_700_000_000_000)));
        assert_eq!(parse_time_text("2026-11-11T00:00:00+08:00"), parse_time_text("2026-11-11 00:00:00"));
        assert_eq!(parse_time_text("2026-11-11 00:00"), parse_time_text("2026-11-10T16:00:00Z"));
        assert!(parse_time_text("昨天").is_err());
        assert!(parse_time(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn tags_from_a_csv_cell() {
        assert_eq!(TagList::Joined("老客|爱砍价, 高退货".into()).into_vec(), vec!["老客", "爱砍价", "高退货"]);
    }
}
