//! A shop's own intent model. A merchant whose shoppers word things their own
//! way trains one with `kefu nlu train` (their phrases plus ours) and drops it
//! in `<data dir>/models/<shop slug>.model`; that shop's bot then reads
//! messages with it instead of the built-in model. The flows act on intent
//! names, so such a model may only use names they know (docs/intents.md).

use kefu_nlu::{Classifier, builtin};

/// The label a model uses for messages nothing answers.
const OUT_OF_SCOPE: &str = "oos";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the model has labels the bot has no flow for: {}; use the names in docs/intents.md (and `oos`)", .0.join(", "))]
pub struct UnknownIntents(pub Vec<String>);

/// What agents call an intent (docs/intents.md), for text people read: the
/// hand-off summary. Unknown names come back as they are.
pub fn zh_name(intent: &str) -> &str {
    match intent {
        "order_status" => "查订单",
        "logistics" => "查物流",
        "urge_shipment" => "催发货",
        "cancel_order" => "取消订单",
        "change_address" => "修改地址",
        "return_exchange" => "退货/换货",
        "refund_status" => "退款进度",
        "apply_refund" => "申请退款",
        "price_protection" => "价保",
        "invoice" => "发票",
        "product_inquiry" => "商品咨询",
        "stock_arrival" => "库存/到货",
        "coupon_promotion" => "优惠券/活动",
        "payment_issue" => "支付问题",
        "install_repair" => "安装/维修",
        "complaint" => "投诉",
        "human_agent" => "转人工",
        "greeting" => "问候",
        "thanks_bye" => "感谢/再见",
        "image" => "发来图片",
        OUT_OF_SCOPE => "无法识别",
        other => other,
    }
}

/// Refuses a model that could name an intent no flow handles: the bot would
/// treat such messages as misunderstood and hand them off, silently.
pub fn check(model: &Classifier) -> Result<(), UnknownIntents> {
    let known = builtin::intent_model().labels();
    let unknown: Vec<String> =
        model.labels().iter().filter(|l| l.as_str() != OUT_OF_SCOPE && !known.contains(l)).cloned().collect();
    if unknown.is_empty() { Ok(()) } else { Err(UnknownIntents(unknown)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_nlu::{Example, TrainConfig};

    pub(crate) fn model(examples: &[(&str, &str)]) -> Classifier {
        let examples: Vec<Example> = examples
            .iter()
            .map(|(text, label)| Example { text: (*text).into(), label: (*label).into(), group: None })
            .collect();
        let config = TrainConfig { min_df: 1, ..TrainConfig::default() };
        Classifier::train(&examples, &config, &|_, _, _| {}).expect("train")
    }

    #[test]
    fn the_built_in_names_and_oos_pass() {
        assert_eq!(check(builtin::intent_model()), Ok(()));
        let shop = model(&[
            ("小蜜蜂到哪了", "logistics"),
            ("小蜜蜂到哪啦", "logistics"),
            ("今天天气", "oos"),
            ("天气如何", "oos"),
        ]);
        assert_eq!(check(&shop), Ok(()));
    }

    #[test]
    fn every_built_in_intent_has_a_name_agents_read() {
        for label in builtin::intent_model().labels() {
            let name = zh_name(label);
            assert!(name.chars().any(kefu_nlu::tokenize::is_han), "{label} → {name}");
        }
    }

    #[test]
    fn a_name_no_flow_knows_is_refused_by_name() {
        let shop = model(&[
            ("开个会员", "membership"),
            ("办会员", "membership"),
            ("快递呢", "logistics"),
            ("快递到哪", "logistics"),
        ]);
        let err = check(&shop).expect_err("refused");
        assert_eq!(err, UnknownIntents(vec!["membership".into()]));
        assert!(err.to_string().contains("membership"));
    }
}
