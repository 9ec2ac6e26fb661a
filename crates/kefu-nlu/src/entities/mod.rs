//! Entities in shopper text: order and tracking numbers, phone numbers,
//! money, dates, products of the shop's catalogue, provinces and cities.
//! Run on [`normalize`](crate::normalize)d text; spans are byte offsets in it.

use std::sync::OnceLock;

mod dates;
mod money;
mod numbers;
mod places;
mod products;

pub use dates::{DateFinder, Day};
pub use money::{MoneyFinder, chinese_number};
pub use numbers::{BadPattern, DEFAULT_ORDER_PATTERN, NumberFinder, NumberKind};
pub use places::PlaceFinder;
pub use products::{CatalogueEntry, ProductMatcher};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Order(String),
    Tracking {
        number: String,
        carrier: Option<&'static str>,
    },
    Phone(String),
    Money {
        fen: i64,
        currency: &'static str,
    },
    Date(Day),
    /// Index into the catalogue the extractor was built with.
    Product(usize),
    Place {
        province: &'static str,
        city: Option<&'static str>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub value: Value,
}

/// Everything one shop needs to read entities: its order-number pattern and
/// its catalogue. Build once per shop (and again when the catalogue changes).
pub struct Extractor {
    numbers: NumberFinder,
    money: &'static MoneyFinder,
    dates: &'static DateFinder,
    places: &'static PlaceFinder,
    products: ProductMatcher,
}

/// The finders that read every shop's text the same way: built once per process.
/// (Places and dates were four fifths of a shop's extractor build: a shop's
/// brain is rebuilt every minute, and a dialogue story builds one per story.)
fn shared<T>(cell: &'static OnceLock<T>, build: fn() -> T) -> &'static T {
    cell.get_or_init(build)
}

static MONEY: OnceLock<MoneyFinder> = OnceLock::new();
static DATES: OnceLock<DateFinder> = OnceLock::new();
static PLACES: OnceLock<PlaceFinder> = OnceLock::new();

impl Extractor {
    pub fn new(order_pattern: &str, catalogue: &[CatalogueEntry]) -> Result<Extractor, BadPattern> {
        Ok(Extractor {
            numbers: NumberFinder::new(order_pattern)?,
            money: shared(&MONEY, MoneyFinder::new),
            dates: shared(&DATES, DateFinder::new),
            places: shared(&PLACES, PlaceFinder::new),
            products: ProductMatcher::new(catalogue),
        })
    }

    /// Entities in order of position; where two overlap the longer wins.
    pub fn extract(&self, normalized: &str, today: Day) -> Vec<Entity> {
        let mut all: Vec<Entity> = Vec::new();
        for n in self.numbers.find(normalized) {
            let value = match n.kind {
                NumberKind::Order => Value::Order(n.value),
                NumberKind::Tracking => Value::Tracking { number: n.value, carrier: n.carrier },
                NumberKind::Phone => Value::Phone(n.value),
            };
            all.push(Entity { start: n.start, end: n.end, value });
        }
        for m in self.money.find(normalized) {
            all.push(Entity { start: m.start, end: m.end, value: Value::Money { fen: m.fen, currency: m.currency } });
        }
        for d in self.dates.find(normalized, today) {
            all.push(Entity { start: d.start, end: d.end, value: Value::Date(d.day) });
        }
        for p in self.products.find(normalized) {
            all.push(Entity { start: p.start, end: p.end, value: Value::Product(p.product) });
        }
        for p in self.places.find(normalized) {
            all.push(Entity { start: p.start, end: p.end, value: Value::Place { province: p.province, city: p.city } });
        }
        all.sort_by(|a, b| a.start.cmp(&b.start).then((b.end - b.start).cmp(&(a.end - a.start))));
        let mut kept: Vec<Entity> = Vec::with_capacity(all.len());
        for e in all {
            match kept.last() {
                Some(last) if e.start < last.end => {
                    if e.end - e.start > last.end - last.start {
                        kept.pop();
                        kept.push(e);
                    }
                }
                _ => kept.push(e),
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize;

    #[test]
    fn a_shopper_message_with_several_entities() {
        let catalogue =
            [CatalogueEntry { sku: "HA-10001".into(), name: "海尔冰箱".into(), model: Some("BCD-470WDPG".into()) }];
        let x = Extractor::new(DEFAULT_ORDER_PATTERN, &catalogue).expect("extractor");
        let text = normalize(
            "亲，订单ＪＤ２０２６１１１１０００１里的BCD-470WDPG上周五降价了５０元，能价保吗？寄到乌鲁木齐的",
        );
        let today = Day::new(2026, 11, 22).expect("day");
        let values: Vec<Value> = x.extract(&text, today).into_iter().map(|e| e.value).collect();
        assert_eq!(
            values,
            [
                Value::Order("JD202611110001".into()),
                Value::Product(0),
                Value::Date(Day::new(2026, 11, 13).expect("day")),
                Value::Money { fen: 5_000, currency: "CNY" },
                Value::Place { province: "新疆", city: Some("乌鲁木齐") },
            ]
        );
    }
}
