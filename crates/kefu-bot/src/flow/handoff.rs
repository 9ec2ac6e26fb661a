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
    let upset = matches!(reason, HandoffReason::Angry | HandoffReason::Complaint | HandoffReason::HighValueComplaint);
    turn.replies.push(handoff_reply(facts, r.lang, upset, vip));
    state.pending = None;
    format!("handoff:{}", reason.code())
}

/// What the shopper is told as the conversation goes to people: honest
/// about an empty desk (nobody online, or after hours with when they are
/// back), first with an apology when they are upset, and naming the member
/// team for PLUS/VIP.
fn handoff_reply(facts: &Facts<'_>, lang: Lang, upset: bool, vip: bool) -> String {
    let sorry =
        if upset { ("非常抱歉给您带来不好的体验。", "I'm very sorry about this. ") } else { ("", "") };
    let team = if vip { ("会员专属客服", "your member service team") } else { ("人工客服", "a colleague") };
    let first = if upset || vip { ("优先", "near the front of the queue") } else { ("", "in the queue") };
    let leave_word = ("您可以先留言说明情况。", "You can leave the details here meanwhile.");
    match facts.people {
        PeopleNow::Answering if upset => say(
            lang,
            "非常抱歉给您带来不好的体验，已为您优先转接专属客服，请稍候。".into(),
            "I'm very sorry about this. I'm putting you through to a colleague right away.".into(),
        ),
        PeopleNow::Answering => say(
            lang,
            format!("正在为您转接{}，请稍候。", team.0),
            if vip {
                "Connecting you to your member service team now.".into()
            } else {
                "Connecting you to a colleague, one moment please.".into()
            },
        ),
        PeopleNow::NobodyOnline => say(
            lang,
            format!(
                "{}{}暂时都不在线，已为您{}排队，客服上线后会第一时间回复您，{}",
                sorry.0, team.0, first.0, leave_word.0
            ),
            format!(
                "{}Nobody from {} is online right now. You are {} and will hear back as soon as someone is. {}",
                sorry.1,
                if vip { "your member service team" } else { "our team" },
                first.1,
                leave_word.1
            ),
        ),
        PeopleNow::Closed { next_open } => {
            let (tomorrow, h, m) = kefu_core::service::back_at(facts.now, next_open);
            let hours = facts.rules.service_hours;
            say(
                lang,
                format!(
                    "{}现在是非服务时间（服务时间 {hours}），{}{} {h:02}:{m:02} 上班后会第一时间回复您，已为您{}排队，{}",
                    sorry.0,
                    team.0,
                    if tomorrow { "明天" } else { "今天" },
                    first.0,
                    leave_word.0
                ),
                format!(
                    "{}We are closed now (hours {hours}, China time); {} will answer first thing at {h:02}:{m:02} {}. You are {}. {}",
                    sorry.1,
                    team.1,
                    if tomorrow { "tomorrow" } else { "today" },
                    first.1,
                    leave_word.1
                ),
            )
        }
    }
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
