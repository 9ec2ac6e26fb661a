//! The rules parser is total: any text is either rules or a located error.

use kefu_bot::rules::ShopRules;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_text_parses_or_errs_without_panicking(text in prop_oneof![
        any::<String>(),
        "(\\[(order|returns|handoff|price_protection)\\]\n)?([a-z_]{1,24} = (\"[^\"\\n]{0,12}\"|[0-9-]{1,6}|\\[\"[^\"]{0,4}\"\\])\n){0,4}",
    ]) {
        if let Err(e) = ShopRules::parse(&text) {
            prop_assert!(!e.message.is_empty());
        }
    }
}
