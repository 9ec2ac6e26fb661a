//! A shop's rules file (TOML): after-sales policy, shipping promise, price
//! protection and when to hand off to a person. Every key is optional and
//! defaults to common marketplace practice; unknown keys and bad values are
//! refused with the key's name and line, so a typo never silently changes
//! a policy.

use kefu_core::aftersales::Policy;
use kefu_core::money::Fen;
use kefu_core::routing::Routing;
use kefu_core::service::ServiceHours;
use serde::Deserialize;

/// The rules file `kefu` writes for a new shop, with every default.
pub const DEFAULT_FILE: &str = r#"# kefu shop rules. Every key is optional; shown here with its default.

[order]
# The shape of this shop's order numbers (regular expression, lower case).
number_pattern = "[a-z]{0,4}[0-9]{8,20}"
# Hours after payment within which an order ships (the promise the bot quotes when urged).
promised_ship_hours = 48

[returns]
no_reason_days = 7           # 七天无理由, counted from delivery
quality_return_days = 7      # return for a quality problem
quality_exchange_days = 15   # exchange for a quality problem
member_extra_days = 0        # extra days for PLUS / VIP members
no_reason_excluded = ["生鲜", "定制"]   # categories (any level) never returned without a reason
opened_excluded = ["美妆"]             # categories not returned without a reason once opened
review_above_yuan = "5000.00"          # larger requests are confirmed by a person

[price_protection]
days = 30                    # 价保: price drops within this many days of payment are refunded

[handoff]
misunderstandings = 2        # hand off after this many misunderstood messages in a row
high_value_yuan = "2000.00"  # a complaint about an order worth more goes to a person at once
# While a shopper waits for people, the bot still answers what it can from
# their orders and the knowledge base (到哪了, 发货了吗, 退款进度); nothing else.
answer_while_queued = true

[knowledge]
# The bot answers from the knowledge base when a message is at least this
# similar (0-1) to one of an entry's questions; lower answers more, and more wrongly.
min_similarity = 0.45

[service]
# When people answer, China time (HH:MM-HH:MM; a close before the open runs past
# midnight). Outside them the chat, and the bot when it hands a shopper to people,
# say when they are back; the bot answers all day.
hours = "09:00-24:00"
# The reply window agents are judged by (N分钟回复率): the share of shoppers'
# waits answered within this many minutes, 3 or 5 as the marketplaces count.
reply_minutes = 3

[routing]
# How shoppers waiting for people reach them; unset, kefu.toml's auto_assign
# and offer_seconds decide. "pull": they wait in the queue until an agent takes
# them. "push": each goes at once to the least-loaded agent 接待中 who may serve
# them, and every place freed takes the next.
# mode = "pull"
# When pushing: seconds an agent has to accept (or answer) what they are handed
# before it goes to someone else and they go 挂起; 0: theirs at once. 10-600.
# offer_seconds = 30
"#;

#[derive(Debug, Clone, PartialEq)]
pub struct ShopRules {
    pub order_number_pattern: String,
    /// When people answer (China time); the chat tells shoppers outside them.
    pub service_hours: ServiceHours,
    /// The reply window of the shop's N分钟回复率.
    pub reply_window: kefu_core::kpi::ReplyWindow,
    pub promised_ship_hours: u32,
    pub returns: Policy,
    pub price_protection_days: u32,
    pub handoff_misunderstandings: u32,
    pub handoff_high_value: Fen,
    /// Whether the bot answers a shopper waiting for people ([`crate::flow::Turn::only_answers`]).
    pub answer_while_queued: bool,
    pub knowledge_min_similarity: f32,
    /// `Some(true)`: push, `Some(false)`: pull; `None`: as the deployment.
    pub routing_push: Option<bool>,
    /// Seconds to accept an offer when pushing (0: no offers); `None`: as the deployment.
    pub offer_seconds: Option<u32>,
}

impl Default for ShopRules {
    fn default() -> Self {
        ShopRules::parse(DEFAULT_FILE).unwrap_or_else(|e| unreachable!("the default rules file is valid: {e}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file, {location}: {message}")]
pub struct RulesError {
    /// `line N` (or `file` when the position is unknown).
    pub location: String,
    pub message: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct File {
    order: OrderSection,
    returns: ReturnsSection,
    price_protection: PriceSection,
    handoff: HandoffSection,
    knowledge: KnowledgeSection,
    service: ServiceSection,
    routing: RoutingSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RoutingSection {
    mode: Option<String>,
    offer_seconds: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ServiceSection {
    hours: Option<String>,
    reply_minutes: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct KnowledgeSection {
    min_similarity: Option<f32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct OrderSection {
    number_pattern: Option<String>,
    promised_ship_hours: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ReturnsSection {
    no_reason_days: Option<u32>,
    quality_return_days: Option<u32>,
    quality_exchange_days: Option<u32>,
    member_extra_days: Option<u32>,
    no_reason_excluded: Option<Vec<String>>,
    opened_excluded: Option<Vec<String>>,
    review_above_yuan: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PriceSection {
    days: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct HandoffSection {
    misunderstandings: Option<u32>,
    high_value_yuan: Option<String>,
    answer_while_queued: Option<bool>,
}

impl ShopRules {
    pub fn parse(text: &str) -> Result<ShopRules, RulesError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let location = e
                .span()
                .map(|s| format!("line {}", text[..s.start.min(text.len())].matches('\n').count() + 1))
                .unwrap_or_else(|| "file".into());
            RulesError { location, message: e.message().to_owned() }
        })?;
        let defaults = Policy::default();
        let bad = |key: &str, message: String| RulesError { location: format!("key {key}"), message };
        let days = |key: &str, value: Option<u32>, default: u32| -> Result<u32, RulesError> {
            match value {
                Some(d) if d > 365 => Err(bad(key, format!("{d} days is more than a year"))),
                Some(d) => Ok(d),
                None => Ok(default),
            }
        };
        let yuan = |key: &str, value: Option<String>, default: Fen| -> Result<Fen, RulesError> {
            match value {
                Some(text) => {
                    Fen::parse_yuan(&text).map_err(|_| bad(key, format!("{text:?} is not an amount in yuan")))
                }
                None => Ok(default),
            }
        };
        let pattern = file.order.number_pattern.unwrap_or_else(|| kefu_nlu::entities::DEFAULT_ORDER_PATTERN.into());
        kefu_nlu::entities::NumberFinder::new(&pattern).map_err(|e| bad("order.number_pattern", e.to_string()))?;
        let categories = |key: &str, value: Option<Vec<String>>, default: Vec<String>| {
            let list = value.unwrap_or(default);
            match list.iter().find(|c| c.trim().is_empty() || c.contains('/')) {
                Some(c) => Err(bad(key, format!("{c:?}: name one category level, without '/'"))),
                None => Ok(list),
            }
        };
        let r = file.returns;
        Ok(ShopRules {
            order_number_pattern: pattern,
            promised_ship_hours: match file.order.promised_ship_hours {
                Some(h) if !(1..=24 * 60).contains(&h) => {
                    return Err(bad("order.promised_ship_hours", format!("{h} is not between 1 and 1440")));
                }
                Some(h) => h,
                None => 48,
            },
            returns: Policy {
                no_reason_days: days("returns.no_reason_days", r.no_reason_days, defaults.no_reason_days)?,
                quality_return_days: days(
                    "returns.quality_return_days",
                    r.quality_return_days,
                    defaults.quality_return_days,
                )?,
                quality_exchange_days: days(
                    "returns.quality_exchange_days",
                    r.quality_exchange_days,
                    defaults.quality_exchange_days,
                )?,
                member_extra_days: days("returns.member_extra_days", r.member_extra_days, defaults.member_extra_days)?,
                no_reason_excluded: categories(
                    "returns.no_reason_excluded",
                    r.no_reason_excluded,
                    defaults.no_reason_excluded,
                )?,
                opened_excluded: categories("returns.opened_excluded", r.opened_excluded, defaults.opened_excluded)?,
                review_above: yuan("returns.review_above_yuan", r.review_above_yuan, defaults.review_above)?,
            },
            price_protection_days: days("price_protection.days", file.price_protection.days, 30)?,
            handoff_misunderstandings: match file.handoff.misunderstandings {
                Some(0) => return Err(bad("handoff.misunderstandings", "must be at least 1".into())),
                Some(n) => n.min(10),
                None => 2,
            },
            handoff_high_value: yuan("handoff.high_value_yuan", file.handoff.high_value_yuan, Fen(200_000))?,
            answer_while_queued: file.handoff.answer_while_queued.unwrap_or(true),
            service_hours: match file.service.hours {
                Some(text) => ServiceHours::parse(&text).map_err(|e| bad("service.hours", format!("{text:?}: {e}")))?,
                None => ServiceHours::default(),
            },
            reply_window: match file.service.reply_minutes {
                Some(n) => kefu_core::kpi::ReplyWindow::from_minutes(n)
                    .ok_or_else(|| bad("service.reply_minutes", format!("{n}: 3 or 5")))?,
                None => kefu_core::kpi::ReplyWindow::default(),
            },
            knowledge_min_similarity: match file.knowledge.min_similarity {
                Some(s) if !(0.1..=1.0).contains(&s) => {
                    return Err(bad("knowledge.min_similarity", format!("{s} is not between 0.1 and 1")));
                }
                Some(s) => s,
                None => 0.45,
            },
            routing_push: match file.routing.mode.as_deref() {
                Some("push") => Some(true),
                Some("pull") => Some(false),
                Some(other) => return Err(bad("routing.mode", format!("{other:?}: \"push\" or \"pull\""))),
                None => None,
            },
            offer_seconds: match file.routing.offer_seconds {
                Some(n) if !Routing::offer_seconds_allowed(u64::from(n)) => {
                    return Err(bad("routing.offer_seconds", format!("{n}: 0 (no offers) or 10 to 600")));
                }
                other => other,
            },
        })
    }

    /// This shop's routing: what its rules say over the deployment's.
    pub fn routing(&self, deployment: Routing) -> Routing {
        let auto_assign = self.routing_push.unwrap_or(deployment.auto_assign);
        let offer_ms = match self.offer_seconds {
            Some(n) => Routing::offer_ms_of(u64::from(n)),
            None => deployment.offer_ms,
        };
        Routing { auto_assign, offer_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_defaults() {
        let rules = ShopRules::default();
        assert_eq!(rules.returns, Policy::default());
        assert_eq!(rules.promised_ship_hours, 48);
        assert_eq!(rules.handoff_high_value, Fen(200_000));
        assert_eq!(ShopRules::parse("").expect("empty is all defaults"), rules);
    }

    #[test]
    fn a_shop_routes_as_the_deployment_unless_its_rules_say_otherwise() {
        let push = Routing { auto_assign: true, offer_ms: Some(30_000) };
        assert_eq!(ShopRules::default().routing(push), push, "the default file leaves routing to kefu.toml");
        assert_eq!(ShopRules::default().routing(Routing::PULL), Routing::PULL);
        let pull = ShopRules::parse("[routing]\nmode = \"pull\"\n").expect("valid");
        assert_eq!(pull.routing(push), Routing { auto_assign: false, offer_ms: Some(30_000) });
        let pushing = ShopRules::parse("[routing]\nmode = \"push\"\noffer_seconds = 45\n").expect("valid");
        assert_eq!(pushing.routing(Routing::PULL), Routing { auto_assign: true, offer_ms: Some(45_000) });
        let at_once = ShopRules::parse("[routing]\nmode = \"push\"\noffer_seconds = 0\n").expect("valid");
        assert_eq!(at_once.routing(push), Routing { auto_assign: true, offer_ms: None });
    }

    #[test]
    fn a_shop_overrides_what_it_needs() {
        let rules = ShopRules::parse("[returns]\nno_reason_days = 15\nno_reason_excluded = [\"生鲜\", \"图书\"]\n")
            .expect("valid");
        assert_eq!(rules.returns.no_reason_days, 15);
        assert_eq!(rules.returns.no_reason_excluded, ["生鲜", "图书"]);
        assert_eq!(rules.returns.quality_exchange_days, 15, "untouched keys keep their default");
    }

    #[test]
    fn mistakes_are_refused_with_the_key_or_line() {
        let cases = [
            ("[returns]\nno_reson_days = 7\n", "line 2"),
            ("[returns]\nno_reason_days = \"seven\"\n", "line 2"),
            ("[returns]\nno_reason_days = 400\n", "returns.no_reason_days"),
            ("[returns]\nreview_above_yuan = \"lots\"\n", "returns.review_above_yuan"),
            ("[order]\nnumber_pattern = \"([\"\n", "order.number_pattern"),
            ("[order]\npromised_ship_hours = 0\n", "order.promised_ship_hours"),
            ("[handoff]\nmisunderstandings = 0\n", "handoff.misunderstandings"),
            ("[routing]\nmode = \"round-robin\"\n", "routing.mode"),
            ("[routing]\noffer_seconds = 5\n", "routing.offer_seconds"),
            ("[routing]\noffer_seconds = 601\n", "routing.offer_seconds"),
            ("[routing]\nofer_seconds = 30\n", "line 2"),
            ("[knowledge]\nmin_similarity = 0\n", "knowledge.min_similarity"),
            ("[service]\nhours = \"9-18\"\n", "service.hours"),
            ("[service]\nreply_minutes = 0\n", "service.reply_minutes"),
            ("[service]\nreply_minutes = 4\n", "service.reply_minutes"),
            ("[returns]\nopened_excluded = [\"美妆/面霜\"]\n", "returns.opened_excluded"),
            ("[refunds]\n", "line 1"),
            ("not toml at all", "line 1"),
        ];
        for (text, expected) in cases {
            let err = ShopRules::parse(text).expect_err(text);
            assert!(err.to_string().contains(expected), "{text:?}: {err}");
        }
    }
}
