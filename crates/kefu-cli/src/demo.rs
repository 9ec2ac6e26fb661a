//! `kefu demo`: a realistic Chinese demo store, created once (idempotent) and
//! reproducible (fixed random seed; times relative to now).

use std::sync::Arc;

use anyhow::Context;
use kefu_core::agent::{Agent, AgentStatus, Role, Username};
use kefu_core::catalog::{CategoryPath, Product};
use kefu_core::clock::{Clock, SystemClock, Timestamp};
use kefu_core::conversation::{Conversation, ConversationStatus, MessageKind, MessageText, NewMessage, Sender};
use kefu_core::customer::{Customer, MaskedPhone, Tier};
use kefu_core::id::*;
use kefu_core::knowledge::{KnowledgeEntry, KnowledgeText};
use kefu_core::money::Fen;
use kefu_core::order::{Order, OrderItem, OrderNo, OrderStatus, Shipment, ShipmentEvent};
use kefu_core::phrase::QuickPhrase;
use kefu_core::request::FiledRequest;
use kefu_core::shop::{Shop, ShopSecret, ShopSlug, SkillGroup};
use kefu_core::store::{RulesChange, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::Config;

pub const DEMO_PASSWORD: &str = "kefu-demo";

struct ShopPlan {
    slug: &'static str,
    name: &'static str,
    /// (category path, [(name, model, price yuan)])
    catalogue: &'static [(&'static str, &'static [(&'static str, &'static str, i64)])],
    /// The shop's rules as if a supervisor had saved them on /admin; the defaults when `None`.
    rules: Option<&'static str>,
}

/// One demo shop hands new shoppers out, so a visitor sees both ways of
/// routing: the others leave them in 排队 for agents to take.
const PUSHING_RULES: &str = "# 极客数码专营店：新会话自动分配给在线且有空位的客服（负载最低者优先），\n\
# 客服需在 30 秒内接受，否则转给下一位、本人置为挂起。其他演示店铺由客服在「排队」中领取。\n\
[routing]\nmode = \"push\"\noffer_seconds = 30\n";

const SHOPS: &[ShopPlan] = &[
    ShopPlan {
        slug: "youpin-home",
        name: "优品家电旗舰店",
        catalogue: &[
            (
                "家用电器/冰箱/对开门",
                &[("对开门风冷无霜冰箱 520L", "BCD-520WKPZM", 3999), ("十字对开门冰箱 460L", "BCD-460WTPZM", 3299)],
            ),
            (
                "家用电器/洗衣机/滚筒",
                &[("10公斤滚筒洗烘一体机", "XQG100-HBD14", 2799), ("直驱变频滚筒洗衣机 12kg", "XQG120-DD", 3599)],
            ),
            (
                "家用电器/空调/挂机",
                &[("1.5匹新一级能效变频挂机", "KFR-35GW/N1", 2599), ("大1匹冷暖空调", "KFR-26GW/A1", 1999)],
            ),
            ("家用电器/厨房小电/电饭煲", &[("IH电饭煲 4L", "RC-IH40", 499), ("迷你电饭煲 2L", "RC-M20", 199)]),
            ("家用电器/生活电器/扫地机器人", &[("扫拖一体机器人", "RV-X20", 2499), ("自动集尘扫地机", "RV-S10", 1699)]),
        ],
        rules: None,
    },
    ShopPlan {
        slug: "geek-digital",
        name: "极客数码专营店",
        catalogue: &[
            ("手机数码/手机/5G手机", &[("旗舰5G手机 12+256G", "GX-15Pro", 5999), ("轻薄5G手机 8+128G", "GX-15", 2999)]),
            ("手机数码/耳机/无线耳机", &[("主动降噪真无线耳机", "EB-Pro3", 899), ("运动蓝牙耳机", "EB-Sport", 299)]),
            ("手机数码/智能设备/手表", &[("智能手表 GPS版", "W-7", 1599)]),
            (
                "电脑办公/笔记本/轻薄本",
                &[("14英寸轻薄笔记本 i7/16G/1T", "NB-14X", 6499), ("16英寸全能本", "NB-16", 5299)],
            ),
            ("电脑办公/外设/键鼠", &[("机械键盘 青轴", "KB-87", 349), ("无线静音鼠标", "MS-200", 99)]),
        ],
        rules: Some(PUSHING_RULES),
    },
    ShopPlan {
        slug: "yuexiang-life",
        name: "悦享生活馆",
        catalogue: &[
            ("生鲜/水果/苹果", &[("烟台红富士苹果 5斤装", "FR-APL-5", 49), ("阿克苏冰糖心苹果 10斤", "FR-AKS-10", 89)]),
            ("生鲜/海鲜/虾", &[("厄瓜多尔白虾 2kg", "SF-SHR-2", 139)]),
            ("服饰/女装/连衣裙", &[("法式碎花连衣裙", "DR-2026S", 259), ("针织开衫", "KN-01", 199)]),
            ("服饰/男装/羽绒服", &[("白鸭绒轻薄羽绒服", "DJ-800", 599)]),
            ("美妆/护肤/精华", &[("修护精华液 50ml", "SK-SR50", 329), ("保湿面霜 50g", "SK-CR50", 269)]),
            ("美妆/彩妆/口红", &[("丝绒哑光口红", "LP-999", 159)]),
        ],
        rules: None,
    },
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "丽", "强",
    "欣怡", "子涵", "浩然", "雨桐", "梓萱", "一诺",
];
const PLACES: &[(&str, &str, &str)] = &[
    ("北京市", "北京市", "朝阳区建国路88号"),
    ("上海市", "上海市", "浦东新区世纪大道100号"),
    ("广东省", "深圳市", "南山区科技园南路18号"),
    ("广东省", "广州市", "天河区体育西路55号"),
    ("浙江省", "杭州市", "西湖区文三路90号"),
    ("江苏省", "南京市", "鼓楼区中山路128号"),
    ("四川省", "成都市", "武侯区天府大道中段666号"),
    ("湖北省", "武汉市", "洪山区珞喻路1037号"),
    ("陕西省", "西安市", "雁塔区小寨东路33号"),
    ("山东省", "青岛市", "市南区香港中路61号"),
];
const CARRIERS: &[(&str, &str)] =
    &[("顺丰速运", "SF"), ("京东物流", "JDV"), ("中通快递", "ZTO"), ("圆通速递", "YT"), ("韵达快递", "YD")];
const HUBS: &[&str] =
    &["东莞转运中心", "武汉转运中心", "郑州转运中心", "上海青浦转运中心", "杭州萧山分拨中心", "成都双流分拨中心"];
const TAGS: &[&str] = &["老客", "爱砍价", "高退货", "企业采购", "学生", "夜猫子", "复购3次+"];

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

pub async fn seed(store: &Arc<dyn Store>) -> anyhow::Result<()> {
    if store.shop_by_slug(&ShopSlug::parse(SHOPS[0].slug)?).await?.is_some() {
        tracing::info!("demo store already present; not seeding again");
        return Ok(());
    }
    println!("creating the demo store (once)…");
    let mut rng = StdRng::seed_from_u64(20261111);
    let now = SystemClock.now();
    let ids = UuidV7;
    let new = |_: &str| ids.new_uuid();
    let mut shops = Vec::new();
    for plan in SHOPS {
        let shop = Shop {
            id: ShopId::from_uuid(new("shop")),
            slug: ShopSlug::parse(plan.slug)?,
            name: plan.name.into(),
            secret: ShopSecret::new(kefu_server::auth::random_token()),
            created_at: now.plus_days(-400),
        };
        store.create_shop(&shop).await?;
        if let Some(text) = plan.rules {
            kefu_bot::rules::ShopRules::parse(text).context("the demo's rules")?;
            let change = RulesChange { text: Some(text.into()), at: now.plus_days(-1), by: "admin".into() };
            store.put_shop_rules(shop.id, &change, None).await?;
        }
        let mut groups = Vec::new();
        for name in ["售前咨询", "售后服务"] {
            let g = SkillGroup { id: SkillGroupId::from_uuid(new("group")), shop_id: shop.id, name: name.into() };
            store.create_skill_group(&g).await?;
            groups.push(g.id);
        }
        shops.push((shop, groups, plan));
    }

    seed_agents(store, &shops, now).await?;

    let mut customer_no = 100_000;
    let mut order_no = 0u64;
    for (shop, _, plan) in &shops {
        let products: Vec<Product> = plan
            .catalogue
            .iter()
            .enumerate()
            .flat_map(|(ci, (path, items))| {
                items.iter().enumerate().map(move |(ii, (name, model, price))| (ci, ii, *path, *name, *model, *price))
            })
            .map(|(ci, ii, path, name, model, price)| Product {
                id: ProductId::from_uuid(new("product")),
                shop_id: shop.id,
                sku: format!("{}-{:02}{:02}", &plan.slug[..2].to_uppercase(), ci + 1, ii + 1),
                name: name.into(),
                model: Some(model.into()),
                category: CategoryPath::parse(path).expect("invariant: demo category paths are valid"),
                price: Fen(price * 100),
            })
            .collect();
        store.upsert_products(&products).await?;
        seed_knowledge(store, shop.id, now).await?;
        seed_phrases(store, shop.id, now).await?;

        let mut customers = Vec::new();
        for _ in 0..400 {
            customer_no += 1;
            let name =
                format!("{}{}", SURNAMES[rng.random_range(0..SURNAMES.len())], GIVEN[rng.random_range(0..GIVEN.len())]);
            let roll: f64 = rng.random();
            let tier = if roll < 0.1 {
                Tier::Plus
            } else if roll < 0.3 {
                Tier::Vip
            } else {
                Tier::Normal
            };
            let mut tags: Vec<String> = Vec::new();
            if rng.random_bool(0.3) {
                tags.push(TAGS[rng.random_range(0..TAGS.len())].into());
            }
            let phone = format!("1{}{:09}", rng.random_range(3..=9), rng.random_range(0..1_000_000_000u64));
            customers.push(Customer {
                id: CustomerId::from_uuid(new("customer")),
                shop_id: shop.id,
                external_id: Some(format!("C{customer_no}")),
                nickname: name,
                tier,
                tags,
                phone: MaskedPhone::parse(&phone).ok(),
                lifetime_spend: Fen(0),
                complaint_count: if rng.random_bool(0.08) { rng.random_range(1..4) } else { 0 },
                created_at: now.plus_days(-rng.random_range(30..400)),
            });
        }

        if shop.slug.as_str() == SHOPS[0].slug {
            // A known shopper with a fixed history, signed in through the link `kefu demo` prints.
            customers.push(Customer {
                id: CustomerId::from_uuid(new("customer")),
                shop_id: shop.id,
                external_id: Some(DEMO_SHOPPER.into()),
                nickname: "王小明".into(),
                tier: Tier::Normal,
                tags: Vec::new(),
                phone: MaskedPhone::parse("13800138000").ok(),
                lifetime_spend: Fen(0),
                complaint_count: 0,
                created_at: now.plus_days(-200),
            });
        }

        let mut orders = Vec::new();
        let mut shipments = Vec::new();
        for (i, customer) in customers.iter_mut().enumerate() {
            // One order on its way, one delivered, one completed: what the bot demo walks through.
            let fixed: Option<&[OrderStatus]> = (customer.external_id.as_deref() == Some(DEMO_SHOPPER)).then_some(&[
                OrderStatus::Shipped,
                OrderStatus::Delivered,
                OrderStatus::Completed,
            ]);
            // The first customers of each shop get a fixed mix so every status is present.
            let count = fixed.map_or_else(|| rng.random_range(3..9), <[OrderStatus]>::len);
            for k in 0..count {
                order_no += 1;
                let status = if let Some(fixed) = fixed {
                    fixed[k]
                } else if i < 8 && k == 0 {
                    OrderStatus::ALL[i]
                } else {
                    let r: f64 = rng.random();
                    match r {
                        r if r < 0.06 => OrderStatus::Created,
                        r if r < 0.16 => OrderStatus::Paid,
                        r if r < 0.34 => OrderStatus::Shipped,
                        r if r < 0.50 => OrderStatus::Delivered,
                        r if r < 0.84 => OrderStatus::Completed,
                        r if r < 0.90 => OrderStatus::Cancelled,
                        r if r < 0.95 => OrderStatus::AfterSale,
                        _ => OrderStatus::Refunded,
                    }
                };
                let lines = rng.random_range(1..=3);
                let items: Vec<OrderItem> = (0..lines)
                    .map(|_| {
                        let p = &products[rng.random_range(0..products.len())];
                        OrderItem {
                            sku: p.sku.clone(),
                            name: p.name.clone(),
                            quantity: rng.random_range(1..=2),
                            unit_price: p.price,
                        }
                    })
                    .collect();
                let total = Fen(items.iter().map(|i| i.amount().0).sum());
                let mut age_days = match status {
                    OrderStatus::Created | OrderStatus::Paid => rng.random_range(0..3),
                    OrderStatus::Shipped => rng.random_range(1..5),
                    _ => rng.random_range(3..60),
                };
                // The known shopper's delivered order is inside the return
                // window, so 申请售后 can be shown on it (the draw above is
                // kept: every other order stays as it was).
                if fixed.is_some() && status == OrderStatus::Delivered {
                    age_days = 5;
                }
                let created = now.plus_millis(-age_days * DAY - rng.random_range(0..DAY / 2));
                let paid =
                    (status != OrderStatus::Created).then(|| created.plus_millis(rng.random_range(60_000..HOUR)));
                let shipped = status.has_shipped().then(|| created.plus_millis(rng.random_range(6 * HOUR..36 * HOUR)));
                let delivered =
                    matches!(status, OrderStatus::Delivered | OrderStatus::Completed | OrderStatus::AfterSale)
                        .then(|| shipped.unwrap_or(created).plus_millis(rng.random_range(DAY..3 * DAY)));
                let completed = (status == OrderStatus::Completed).then(|| delivered.unwrap_or(created).plus_days(7));
                let cancelled =
                    (status == OrderStatus::Cancelled).then(|| created.plus_millis(rng.random_range(HOUR..10 * HOUR)));
                let (province, city, address) = PLACES[rng.random_range(0..PLACES.len())];
                let updated = [Some(created), paid, shipped, delivered, completed, cancelled]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(created);
                let order = Order {
                    id: OrderId::from_uuid(new("order")),
                    shop_id: shop.id,
                    order_no: OrderNo::parse(&format!("26{:010}", 1_000_000 + order_no))
                        .expect("invariant: demo order numbers are valid"),
                    customer_id: customer.id,
                    status,
                    items,
                    total,
                    province: province.into(),
                    city: city.into(),
                    address: format!("{address}{}室", rng.random_range(101..2999)),
                    created_at: created,
                    paid_at: paid,
                    shipped_at: shipped,
                    delivered_at: delivered,
                    completed_at: completed,
                    cancelled_at: cancelled,
                    updated_at: updated,
                };
                if !matches!(status, OrderStatus::Cancelled | OrderStatus::Created) {
                    customer.lifetime_spend = Fen(customer.lifetime_spend.0 + total.0);
                }
                if let Some(shipped_at) = shipped {
                    shipments.push(shipment_for(&mut rng, &order, shipped_at, delivered, city, new("shipment")));
                }
                orders.push(order);
            }
        }
        store.upsert_customers(&customers).await?;
        for chunk in orders.chunks(500) {
            store.upsert_orders(chunk).await?;
        }
        for chunk in shipments.chunks(500) {
            store.upsert_shipments(chunk).await?;
        }
        seed_conversations(store, shop, &customers, now).await?;
        let known = customers.iter().find(|c| c.external_id.as_deref() == Some(DEMO_SHOPPER)).map(|c| c.id);
        let requests = seed_requests(store, shop, orders.iter().filter(|o| Some(o.customer_id) != known), now).await?;
        println!(
            "  {} {}: {} products, {} customers, {} orders, {} shipments, {} open requests",
            shop.slug,
            shop.name,
            products.len(),
            customers.len(),
            orders.len(),
            shipments.len(),
            requests
        );
    }
    Ok(())
}

fn shipment_for(
    rng: &mut StdRng,
    order: &Order,
    shipped: Timestamp,
    delivered: Option<Timestamp>,
    city: &str,
    id: uuid::Uuid,
) -> Shipment {
    let (carrier, prefix) = CARRIERS[rng.random_range(0..CARRIERS.len())];
    let tracking_no = format!("{prefix}{:012}", rng.random_range(0..1_000_000_000_000u64));
    let mut events = vec![ShipmentEvent {
        at: shipped,
        location: "东莞仓".into(),
        description: format!("【东莞仓】{carrier} 已揽收"),
    }];
    let hubs = rng.random_range(1..=3);
    let end = delivered.unwrap_or(shipped.plus_millis(2 * DAY));
    let step = (end.millis() - shipped.millis()) / (hubs + 2);
    for h in 0..hubs {
        let hub = HUBS[rng.random_range(0..HUBS.len())];
        events.push(ShipmentEvent {
            at: shipped.plus_millis(step * (h + 1)),
            location: hub.into(),
            description: format!("快件已到达【{hub}】，正发往下一站"),
        });
    }
    if let Some(d) = delivered {
        events.push(ShipmentEvent {
            at: d.plus_millis(-3 * HOUR),
            location: city.into(),
            description: format!("【{city}】快递员正在派件，请保持电话畅通"),
        });
        events.push(ShipmentEvent {
            at: d,
            location: city.into(),
            description: format!("【{city}】已签收，签收人：本人"),
        });
    } else {
        events.push(ShipmentEvent {
            at: shipped.plus_millis(step * (hubs + 1)),
            location: city.into(),
            description: format!("快件已到达【{city}】营业点"),
        });
    }
    events.retain(|e| e.at.millis() <= SystemClock.now().millis());
    Shipment {
        id: ShipmentId::from_uuid(id),
        shop_id: order.shop_id,
        order_id: order.id,
        carrier: carrier.into(),
        tracking_no,
        events,
        updated_at: end,
    }
}

/// Questions every shop's desk answers a hundred times a day: (question,
/// other phrasings, answer, category).
const KNOWLEDGE: &[(&str, &[&str], &str, Option<&str>)] = &[
    (
        "你们发什么快递",
        &["默认走哪家快递", "能指定快递吗", "可以发顺丰吗", "which courier do you use"],
        "默认发顺丰速运或京东物流，偏远地区为中国邮政；下单时在备注里写明即可指定快递（顺丰到付除外）。",
        None,
    ),
    (
        "几点之前下单当天发货",
        &["今天下单今天能发吗", "当天发货吗", "什么时候发货"],
        "每天16:00前付款的现货订单当天发出，之后的次日发出；预售商品以商品页写明的发货时间为准。",
        None,
    ),
    (
        "支持七天无理由退货吗",
        &["可以无理由退货吗", "七天无理由怎么算", "不喜欢能退吗", "do you accept returns"],
        "签收后7天内、商品完好不影响二次销售的支持七天无理由退货（生鲜、定制类除外），在订单里点“申请售后”即可。",
        None,
    ),
    (
        "退货运费谁出",
        &["退货要自己出运费吗", "退货邮费谁承担", "有运费险吗"],
        "质量问题或发错货的退货运费由我们承担；七天无理由退货由您承担，购买了运费险的会自动理赔。",
        None,
    ),
    (
        "可以开什么发票",
        &["能开专票吗", "发票是电子的还是纸质的", "可以开增值税专用发票吗"],
        "默认开具电子普通发票；企业客户可开增值税专用发票，请提供公司名称、税号、开户行及账号、注册地址电话。",
        None,
    ),
    (
        "保修多久",
        &["质保期是多长时间", "坏了怎么保修", "保修要带发票吗", "how long is the warranty"],
        "整机保修一年（以签收日起算），部分核心部件保修更久，详见商品页；报修凭订单号即可，无需纸质发票。",
        None,
    ),
    (
        "可以用花呗分期吗",
        &["支持分期付款吗", "能用信用卡吗", "有哪些付款方式"],
        "支持支付宝、微信、银行卡和信用卡付款，满足条件的商品支持花呗及信用卡分期，以收银台显示为准。",
        None,
    ),
    (
        "客服几点上班",
        &["人工客服什么时候在", "客服工作时间", "晚上有人工吗"],
        "人工客服每天9:00-24:00在线，智能客服24小时为您服务；大促期间人工客服延长到凌晨2:00。",
        None,
    ),
    (
        "大家电可以送货上门安装吗",
        &["冰箱包安装吗", "洗衣机送货上门吗", "空调安装收费吗", "上门安装要钱吗"],
        "冰箱、洗衣机、电视等大家电送货上门并免费安装（空调含基础安装，超出部分的铜管按当地标准收费），签收后预约师傅即可。",
        Some("家用电器"),
    ),
];

pub async fn seed_knowledge(store: &Arc<dyn Store>, shop: ShopId, now: Timestamp) -> anyhow::Result<()> {
    for (question, alternates, answer, category) in KNOWLEDGE {
        let alternates: Vec<String> = alternates.iter().map(|a| (*a).to_owned()).collect();
        let text = KnowledgeText::parse(question, &alternates, answer, *category)?;
        store
            .put_knowledge(&KnowledgeEntry::new(KnowledgeId::from_uuid(UuidV7.new_uuid()), shop, text, true, now))
            .await?;
    }
    Ok(())
}

/// The canned replies a shop's agents start with (快捷短语), by code.
const PHRASES: &[(&str, &str)] = &[
    ("hy", "亲爱的{买家}，您好！我是客服{客服}，有什么可以帮您的吗？"),
    ("zx", "亲，在的哦，请问有什么可以帮您？"),
    ("fh", "亲，16:00前付款的订单当天发货，之后的次日发货，大促期间顺延1-2天，请您耐心等待哦。"),
    ("wl", "亲，已为您查询订单{订单号}的物流，包裹正在运输中，预计1-3天送达，请保持电话畅通哦。"),
    ("cd", "亲，已经帮您催促仓库尽快发货了，发出后物流信息会第一时间更新。"),
    ("dz", "亲，订单发货前可以修改地址，请把新的收货人、电话和详细地址发给我。"),
    ("th", "亲，签收后7天内、商品完好不影响二次销售的可以申请七天无理由退货，在订单里点“申请售后”即可。"),
    ("tk", "亲，退款已经在处理中了，原路退回一般1-3个工作日到账，请留意。"),
    ("fp", "亲，可以开具电子发票，请提供发票抬头和税号，开好后会发到您的邮箱。"),
    ("ddx", "亲，给您带来不便非常抱歉，我这边马上为您核实处理，请稍等一下。"),
    ("gx", "感谢您的耐心等待，还有其他可以帮您的吗？"),
    ("bye", "感谢您的光临，祝您生活愉快！如有问题随时联系我们哦～"),
];

pub async fn seed_phrases(store: &Arc<dyn Store>, shop: ShopId, now: Timestamp) -> anyhow::Result<()> {
    for (code, text) in PHRASES {
        let phrase = QuickPhrase::parse(PhraseId::from_uuid(UuidV7.new_uuid()), shop, code, text, now)?;
        store.put_quick_phrase(&phrase).await?;
    }
    Ok(())
}

async fn seed_agents(
    store: &Arc<dyn Store>,
    shops: &[(Shop, Vec<SkillGroupId>, &ShopPlan)],
    now: Timestamp,
) -> anyhow::Result<()> {
    let all: Vec<ShopId> = shops.iter().map(|s| s.0.id).collect();
    let groups = |shop_index: &[usize], group: usize| -> Vec<SkillGroupId> {
        shop_index.iter().map(|i| shops[*i].1[group]).collect()
    };
    let hash = kefu_server::auth::hash_password(DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let plan: Vec<(&str, &str, Role, Vec<ShopId>, Vec<SkillGroupId>, u32)> = vec![
        ("admin", "管理员", Role::Admin, all.clone(), vec![], 10),
        ("zhangsan", "张三", Role::Agent, vec![all[0]], groups(&[0], 0), 8),
        ("lisi", "李四", Role::Agent, vec![all[0], all[1]], [groups(&[0, 1], 0), groups(&[0, 1], 1)].concat(), 6),
        ("wangwu", "王五", Role::Senior, all.clone(), groups(&[0, 1, 2], 1), 10),
        ("zhaoliu", "赵六", Role::Agent, vec![all[2]], groups(&[2], 0), 8),
        ("qa", "质检 钱七", Role::Qa, all.clone(), vec![], 1),
        ("supervisor", "主管 孙八", Role::Supervisor, all.clone(), vec![], 10),
    ];
    for (username, display, role, shops, groups, max) in plan {
        store
            .create_agent(&Agent {
                id: AgentId::from_uuid(UuidV7.new_uuid()),
                username: Username::parse(username)?,
                display_name: display.into(),
                password_hash: hash.clone(),
                role,
                shops,
                skill_groups: groups,
                max_concurrent: max,
                status: AgentStatus::Offline,
                created_at: now.plus_days(-300),
                disabled: false,
            })
            .await
            .with_context(|| format!("creating demo agent {username}"))?;
    }
    Ok(())
}

/// A few open order requests (服务单), so the workspace's 服务单 tab has
/// work in it: urges on paid orders and after-sales requests on delivered
/// ones, filed as the senior agent 王五 would from the workspace and worded
/// as every request is (`kefu_server::bot::request_of`). The known shopper's
/// orders are left alone: the demo walks through them.
async fn seed_requests(
    store: &Arc<dyn Store>,
    shop: &Shop,
    orders: impl Iterator<Item = &Order>,
    now: Timestamp,
) -> anyhow::Result<usize> {
    use kefu_bot::flow::Action;
    use kefu_core::aftersales::Reason;
    let Some(filer) = store.agent_by_username("wangwu").await? else { return Ok(0) };
    let (mut urges, mut returns) = (0, 0);
    let mut filed = 0;
    for order in orders {
        let no = order.order_no.as_str().to_owned();
        let action = match (order.status, order.paid_at, order.items.first()) {
            (OrderStatus::Paid, Some(paid), _) if urges < 3 => {
                urges += 1;
                Action::RecordUrge { order_no: no, promised_by: paid.plus_millis(48 * HOUR) }
            }
            (OrderStatus::Delivered, _, Some(item)) if returns < 2 => {
                returns += 1;
                let amount = item.amount();
                let reason = if returns == 1 { Reason::Quality } else { Reason::Damaged };
                // The first one waits for a senior's review, as a large refund would.
                let needs_review = returns == 1;
                Action::AfterSale { order_no: no, sku: item.sku.clone(), exchange: false, reason, amount, needs_review }
            }
            _ => continue,
        };
        let (request, change) = kefu_server::bot::request_of(&action, order.id, UuidV7.new_uuid());
        let at = now.plus_millis(-((filed as i64 + 1) * 37 * 60_000));
        let filed_request = FiledRequest { shop: shop.id, conversation: None, by: filer.id, request, change, at };
        store.file_order_request(&filed_request).await?;
        filed += 1;
        if urges >= 3 && returns >= 2 {
            break;
        }
    }
    Ok(filed)
}

/// A little history: closed conversations with ratings, so the customer
/// panel's 历史 tab has something to show.
async fn seed_conversations(
    store: &Arc<dyn Store>,
    shop: &Shop,
    customers: &[Customer],
    now: Timestamp,
) -> anyhow::Result<()> {
    let script: &[(&str, bool)] = &[
        ("亲，在吗？我的快递怎么还没到", true),
        ("您好，这边帮您查询一下物流信息，请稍等", false),
        ("好的谢谢", true),
        ("已为您催促快递员尽快派送，预计明天送达", false),
    ];
    for (n, customer) in customers.iter().take(12).enumerate() {
        let start = now.plus_days(-(n as i64 + 2));
        let conversation = store
            .open_conversation(&Conversation {
                tags: vec!["物流".into()],
                ..Conversation::opened(
                    ConversationId::from_uuid(UuidV7.new_uuid()),
                    shop.id,
                    customer.id,
                    ConversationStatus::Queued,
                    0,
                    start,
                )
            })
            .await?;
        for (i, (text, from_customer)) in script.iter().enumerate() {
            store
                .append_message(NewMessage {
                    id: MessageId::from_uuid(UuidV7.new_uuid()),
                    conversation_id: conversation.id,
                    sender: if *from_customer { Sender::Customer(customer.id) } else { Sender::System },
                    kind: MessageKind::Text,
                    text: MessageText::parse(text)?,
                    client_msg_id: None,
                    at: start.plus_millis(i as i64 * 40_000),
                })
                .await?;
        }
        store.close_conversation(conversation.id, start.plus_millis(10 * 60_000)).await?;
        store.rate_conversation(conversation.id, [5, 5, 4, 5, 3][n % 5], start.plus_millis(11 * 60_000)).await?;
    }
    Ok(())
}

/// The merchant's own id of the demo shopper with a fixed order history.
pub const DEMO_SHOPPER: &str = "demo-shopper";

/// A chat link that signs the demo shopper in (valid 30 days), as a
/// merchant's site would build it with the shop's secret.
pub async fn shopper_link(store: &Arc<dyn Store>, config: &Config) -> anyhow::Result<Option<String>> {
    let Some(shop) = store.shop_by_slug(&ShopSlug::parse(SHOPS[0].slug)?).await? else { return Ok(None) };
    let expires = SystemClock.now().millis() / 1000 + 30 * 86_400;
    let signature = kefu_server::auth::identity_signature(shop.secret.expose(), DEMO_SHOPPER, expires);
    Ok(Some(format!(
        "http://{}/chat/{}?customer_id={DEMO_SHOPPER}&expires={expires}&signature={signature}",
        config.listen, SHOPS[0].slug
    )))
}

pub fn print_welcome(config: &Config, shopper: Option<&str>) {
    let base = format!("http://{}", config.listen);
    println!();
    println!("kefu demo is starting at {base}");
    println!("  Agent workspace : {base}/agent");
    println!("  Admin           : {base}/admin");
    println!("  Shopper chat    : {base}/chat/youpin-home   (also /chat/geek-digital, /chat/yuexiang-life)");
    println!(
        "                    (geek-digital offers new shoppers to online agents, 30 s to accept; the others queue them)"
    );
    if let Some(link) = shopper {
        println!("  Known shopper   : {link}");
        println!("                    (王小明, with an order on its way: ask the bot 我的快递到哪了)");
    }
    println!("  Logins (password {DEMO_PASSWORD}): admin, zhangsan, lisi, wangwu (senior), zhaoliu, qa, supervisor");
    println!("  Stop with Ctrl+C. Data lives in {}", config.data_dir.display());
    println!();
}
