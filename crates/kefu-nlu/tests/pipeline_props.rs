//! The text pipeline is total: any string, however odd, normalises,
//! tokenises and featurises without a panic, and token offsets stay inside
//! the text.

use kefu_nlu::{Tokenizer, features::features, normalize};
use proptest::prelude::*;

fn shopper_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[亲在吗订单号物流退货發貨請問！？。，～ ａ-ｚＡ-Ｚ０-９a-zA-Z0-9 😡👍🏻❤️\u{200D}\u{FE0F}\n\t]{0,80}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalise_tokenise_featurise_never_panic(text in shopper_text()) {
        let n = normalize(&text);
        prop_assert!(n.chars().count() <= text.chars().count());
        prop_assert_eq!(normalize(&n), n.clone(), "normalising twice changes nothing");
        let tokens = Tokenizer::shared().tokens(&n);
        for t in &tokens {
            prop_assert_eq!(n.get(t.start..t.start + t.text.len()), Some(t.text));
        }
        let mut out = Vec::new();
        features(&tokens, &mut out);
    }
}
