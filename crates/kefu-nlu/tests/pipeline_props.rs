//! The text pipeline is total: any string, however odd, normalises,
//! tokenises and featurises without a panic, and token offsets stay inside
//! the text.

use kefu_nlu::entities::{CatalogueEntry, DEFAULT_ORDER_PATTERN, Day, Extractor};
use kefu_nlu::{Tokenizer, features::features, normalize};
use proptest::prelude::*;

fn shopper_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[亲在吗订单号物流退货發貨請問！？。，～ ａ-ｚＡ-Ｚ０-９a-zA-Z0-9 😡👍🏻❤️\u{200D}\u{FE0F}\n\t]{0,80}",
        "[0-9一二两三四五六七八九十百千万零元块号月日天前后上下周星期¥$.+ -]{0,40}",
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

    #[test]
    fn emotion_and_its_cues_never_panic(text in insults_in_shopper_text()) {
        let _ = kefu_nlu::cues::cues(&text, &normalize(&text));
        let e = kefu_nlu::builtin::emotion(&text);
        prop_assert!((0.0..=1.0).contains(&e.score));
    }
}

/// Shopper text with the cue lists' own characters and product words mixed
/// in, so cue matches land beside multi-byte characters of every width.
fn insults_in_shopper_text() -> impl Strategy<Value = String> {
    prop_oneof![shopper_text(), "[垃圾袋桶滚筒骗子12315律师STOPNOWscam 亲a😡é\u{20000}]{0,40}",]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn entity_extraction_never_panics_and_spans_are_in_bounds(text in shopper_text()) {
        static EXTRACTOR: std::sync::OnceLock<Extractor> = std::sync::OnceLock::new();
        let x = EXTRACTOR.get_or_init(|| {
            let catalogue = [CatalogueEntry { sku: "HA-10001".into(), name: "海尔冰箱".into(), model: Some("BCD-470".into()) }];
            Extractor::new(DEFAULT_ORDER_PATTERN, &catalogue).expect("extractor")
        });
        let n = normalize(&text);
        let today = Day::new(2026, 11, 22).expect("day");
        let mut last_end = 0;
        for e in x.extract(&n, today) {
            prop_assert!(e.start < e.end && e.end <= n.len());
            prop_assert!(e.start >= last_end, "no overlaps");
            last_end = e.end;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn question_matching_never_panics_and_scores_are_cosines(
        text in shopper_text(),
        questions in proptest::collection::vec(shopper_text(), 0..6),
    ) {
        let index = kefu_nlu::faq::FaqIndex::build(questions.iter().enumerate().map(|(i, q)| (i, q.as_str())));
        for m in index.top(&text, 3) {
            prop_assert!(m.entry < questions.len());
            prop_assert!((0.0..=1.0001).contains(&m.score), "{m:?}");
        }
    }
}
