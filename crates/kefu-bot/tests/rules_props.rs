//! The rules parser is total: any text is either rules or a located error.

use kefu_bot::rules::ShopRules;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_text_parses_or_errs_without_panicking(text in prop_oneof![
        any::<String>(),
        "(\\[(order|returns|handoff|price_protection|knowledge|service|routing)\\]\n)?([a-z_]{1,24} = (\"[^\"\\n]{0,12}\"|[0-9-]{1,6}|\\[\"[^\"]{0,4}\"\\])\n){0,4}",
        "\\[routing\\]\n(mode = \"(push|pull|[a-z]{0,6})\"\n)?(offer_seconds = [0-9-]{1,5}\n)?",
    ]) {
        match ShopRules::parse(&text) {
            Err(e) => prop_assert!(!e.message.is_empty()),
            // Whatever parses routes sanely: an offer only of 10 s to 10 min.
            Ok(rules) => {
                let r = rules.routing(kefu_core::routing::Routing::PULL);
                prop_assert!(r.offer_ms.is_none_or(|ms| (10_000..=600_000).contains(&ms)), "{r:?}");
            }
        }
    }
}
