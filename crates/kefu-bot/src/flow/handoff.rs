//! Handing a conversation to people: the reason, the priority, the summary.

use super::*;

pub(super) fn hand_off(
    facts: &Facts<'_>,
    state: &mut BotState,
    r: &Reading,
    mut turn: Turn,
    reason: HandoffReason,
) -> Turn {
    turn.audit.outcome = hand_off_into(facts, state, r, &mut turn, reason);
    turn.audit.order_no = state.order_no.clone();
    turn
}

pub(super) fn hand_off_into(
    facts: &Facts<'_>,
    state: &mut BotState,
    r: &Reading,
    turn: &mut Turn,
    reason: HandoffReason,
) -> String {
    let priority = match reason {
        HandoffReason::Angry | HandoffReason::HighValueComplaint | HandoffReason::VipWithComplaints => 2,
        // An angry complaint is as urgent as anger alone.
        HandoffReason::Complaint if r.angry => 2,
        HandoffReason::Complaint => 1,
        _ => 0,
    };
    turn.handoff = Some(handoff(facts, state, r, reason, priority));
    let vip = matches!(facts.customer.tier, Tier::Plus | Tier::Vip);
    turn.replies.push(match (reason, vip) {
        (HandoffReason::Angry | HandoffReason::Complaint | HandoffReason::HighValueComplaint, _) => say(
            r.lang,
            "非常抱歉给您带来不好的体验，已为您优先转接专属客服，请稍候。".into(),
            "I'm very sorry about this. I'm putting you through to a colleague right away.".into(),
        ),
        (_, true) => say(
            r.lang,
            "正在为您转接会员专属客服，请稍候。".into(),
            "Connecting you to your member service team now.".into(),
        ),
        _ => say(
            r.lang,
            "正在为您转接人工客服，请稍候。".into(),
            "Connecting you to a colleague, one moment please.".into(),
        ),
    });
    state.pending = None;
    format!("handoff:{}", reason.code())
}

pub(super) fn handoff(
    facts: &Facts<'_>,
    state: &BotState,
    r: &Reading,
    reason: HandoffReason,
    priority: i32,
) -> Handoff {
    let c = facts.customer;
    let mut parts = vec![
        format!("转人工原因：{}", reason.zh()),
        format!("识别意图：{}（置信度{:.2}）", crate::intents::zh_name(&r.intent), r.confidence),
        format!("情绪：{}", emotion_zh(r.emotion)),
    ];
    if let Some(no) = state.order_no.as_ref().or(r.order_nos.first()) {
        parts.push(format!("订单：{no}"));
        // What is already filed on it, so the agent does not file it again.
        let open = facts.orders.iter().find(|o| o.order.order_no.as_str().eq_ignore_ascii_case(no));
        if let Some(o) = open.filter(|o| !o.open_requests.is_empty()) {
            let kinds: Vec<&str> = o.open_requests.iter().map(|k| k.zh()).collect();
            parts.push(format!("处理中的服务单：{}", kinds.join("、")));
        }
    }
    if let Some(sku) = &state.product {
        parts.push(format!("咨询商品：{sku}"));
    }
    if !state.tried.is_empty() {
        let tried: Vec<&str> = state.tried.iter().map(|t| crate::intents::zh_name(t)).collect();
        parts.push(format!("机器人已处理：{}", tried.join("、")));
    }
    if c.tier != Tier::Normal || c.complaint_count > 0 {
        parts.push(format!("客户：{} 会员，历史投诉{}次", c.tier.as_str().to_uppercase(), c.complaint_count));
    }
    Handoff { reason, priority, summary: parts.join("；") }
}

fn emotion_zh(emotion: &str) -> &str {
    match emotion {
        "calm" => "平静",
        "dissatisfied" => "不满",
        "angry" => "愤怒",
        other => other,
    }
}
