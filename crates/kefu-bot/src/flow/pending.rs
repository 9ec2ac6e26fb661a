//! Answers to what the bot asked: a pick from the list, a confirmation,
//! an address, a return reason, invoice details.

use super::*;

pub(super) fn continue_flow(
    facts: &Facts<'_>,
    state: &mut BotState,
    r: &Reading,
    pending: Pending,
    turn: &mut Turn,
) -> Option<String> {
    let order = |no: &str| facts.orders.iter().find(|o| o.order.order_no.as_str() == no);
    match pending {
        Pending::PickOrder { intent, candidates } => {
            let Some(no) = picked(r, &candidates) else {
                // Not an answer to the list: treat it as a new request.
                return None;
            };
            let o = order(&no)?;
            Some(act_on_order(facts, state, r, &intent, o, turn))
        }
        Pending::ConfirmCancel { order_no } => {
            let yes = ["确认", "是", "好", "对", "嗯", "取消吧", "yes", "ok", "confirm", "sure"]
                .iter()
                .any(|w| r.normalized.starts_with(w));
            let o = order(&order_no)?;
            if yes && matches!(o.order.status, OrderStatus::Created | OrderStatus::Paid) {
                turn.actions.push(Action::CancelOrder { order_no: order_no.clone() });
                turn.replies.push(say(
                    r.lang,
                    format!("订单{order_no}已为您取消，款项将原路退回，一般1-3个工作日到账。"),
                    format!("Order {order_no} is cancelled; the payment goes back to where it came from within 1-3 working days."),
                ));
                Some("order_cancelled".into())
            } else {
                turn.replies.push(say(r.lang, "好的，订单保留不变。".into(), "OK, the order stays as it is.".into()));
                Some("answered:cancel_declined".into())
            }
        }
        Pending::NewAddress { order_no } => {
            let address = r.normalized.trim().to_owned();
            if address.chars().count() < 6 || r.places.is_empty() {
                state.pending = Some(Pending::NewAddress { order_no });
                turn.replies.push(say(
                    r.lang,
                    "请发送完整的新地址（省市区 + 详细地址），例如：浙江省杭州市西湖区文三路100号。".into(),
                    "Please send the full new address including province and city.".into(),
                ));
                return Some("asked:address".into());
            }
            let o = order(&order_no)?;
            if o.order.status.has_shipped() {
                turn.replies.push(shipped_address_reply(r.lang));
                return Some("refused:already_shipped".into());
            }
            // The most specific place named: a city (with its province) over a bare province.
            let place = r.places.iter().find(|(_, c)| c.is_some()).or(r.places.first());
            let (province, city) = place.map_or((None, None), |(p, c)| (Some((*p).to_owned()), c.map(str::to_owned)));
            turn.actions.push(Action::ChangeAddress {
                order_no: order_no.clone(),
                address: address.clone(),
                province,
                city,
            });
            turn.replies.push(say(
                r.lang,
                format!("已将订单{order_no}的收货地址改为：{address}。"),
                format!("The delivery address of order {order_no} is now: {address}."),
            ));
            Some("address_changed".into())
        }
        Pending::ReturnReason { order_no, exchange } => {
            let reason = reason_of(&r.normalized).unwrap_or(aftersales::Reason::NoReason);
            let o = order(&order_no)?;
            Some(after_sale(facts, r, o, exchange, reason, turn))
        }
        Pending::InvoiceTitle { order_no } => {
            let t = r.normalized.trim();
            if t.contains("个人") || t.starts_with("personal") || t == "个人" {
                state.pending = Some(Pending::InvoiceEmail { order_no, company: None });
                turn.replies.push(say(
                    r.lang,
                    "好的，个人抬头。请发送接收电子发票的邮箱。".into(),
                    "Personal invoice. Which e-mail should it go to?".into(),
                ));
            } else {
                let company = t.trim_start_matches("公司").trim_start_matches([':', ' ']).to_owned();
                if company.chars().count() < 4 {
                    state.pending = Some(Pending::InvoiceTitle { order_no });
                    turn.replies.push(say(
                        r.lang,
                        "请回复“个人”，或发送公司全称作为发票抬头。".into(),
                        "Reply \"personal\", or send the company's full name for the invoice.".into(),
                    ));
                    return Some("asked:invoice_title".into());
                }
                state.pending = Some(Pending::InvoiceCreditCode { order_no, company });
                turn.replies.push(say(
                    r.lang,
                    "请发送18位统一社会信用代码（税号）。".into(),
                    "Please send the 18-character unified social credit code (tax id).".into(),
                ));
            }
            Some("asked:invoice".into())
        }
        Pending::InvoiceCreditCode { order_no, company } => {
            let text: String = r.normalized.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            match CreditCode::parse(&text) {
                Ok(code) => {
                    state.pending =
                        Some(Pending::InvoiceEmail { order_no, company: Some((company, code.as_str().to_owned())) });
                    turn.replies.push(say(
                        r.lang,
                        "税号已核对无误。请发送接收电子发票的邮箱。".into(),
                        "Tax id checked. Which e-mail should the invoice go to?".into(),
                    ));
                    Some("asked:invoice".into())
                }
                Err(e) => {
                    state.pending = Some(Pending::InvoiceCreditCode { order_no, company });
                    let why = match e {
                        kefu_core::invoice::InvalidCreditCode::Length => "税号应为18位",
                        kefu_core::invoice::InvalidCreditCode::Character(_) => {
                            "税号含有不允许的字符（不含 I、O、Z、S、V）"
                        }
                        kefu_core::invoice::InvalidCreditCode::Check => "税号校验位不对，可能有输错的字符",
                    };
                    turn.replies.push(say(
                        r.lang,
                        format!("{why}，请核对后重新发送。"),
                        format!("That tax id is not valid ({e}); please check and send it again."),
                    ));
                    Some("refused:invalid_credit_code".into())
                }
            }
        }
        Pending::InvoiceEmail { order_no, company } => {
            let candidate = r.normalized.split_whitespace().find(|w| w.contains('@')).unwrap_or("");
            let Ok(email) = Email::parse(candidate) else {
                state.pending = Some(Pending::InvoiceEmail { order_no, company });
                turn.replies.push(say(
                    r.lang,
                    "邮箱格式不对，请重新发送，例如 name@example.com。".into(),
                    "That doesn't look like an e-mail address; please send it again.".into(),
                ));
                return Some("refused:invalid_email".into());
            };
            let title = match company {
                Some((name, code)) => match CreditCode::parse(&code) {
                    Ok(credit_code) => Title::Company { name, credit_code },
                    Err(_) => return None,
                },
                None => Title::Personal { name: facts.customer.nickname.clone() },
            };
            turn.actions.push(Action::InvoiceTask { order_no: order_no.clone(), title, email: email.clone() });
            turn.replies.push(say(
                r.lang,
                format!("已提交订单{order_no}的开票申请，电子发票将在1-3个工作日内发送至{}。", email.as_str()),
                format!(
                    "Invoice requested for order {order_no}; it will be e-mailed to {} within 1-3 working days.",
                    email.as_str()
                ),
            ));
            Some("invoice_requested".into())
        }
    }
}
