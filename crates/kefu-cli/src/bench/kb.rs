//! `kefu bench kb` (BENCHMARKS.md S6): knowledge-base search at a size —
//! index build rate and top-5 search latency over N synthetic entries
//! (brand × product × topic, three phrasings each), queried with shopper
//! messages (the built-in intent phrases) and paraphrases of stored questions.

use std::time::Instant;

use hdrhistogram::Histogram;
use kefu_bot::knowledge::Knowledge;
use kefu_core::clock::Timestamp;
use kefu_core::id::{KnowledgeId, ShopId};
use kefu_core::knowledge::KnowledgeEntry;
use serde_json::json;

#[derive(clap::Args, Clone, Debug)]
pub struct KbArgs {
    #[arg(long, default_value_t = 10_000)]
    pub entries: usize,
    /// Queries to time.
    #[arg(long, default_value_t = 5_000)]
    pub queries: usize,
    #[arg(long)]
    pub json: bool,
    /// Also write the questions (`questions.jsonl`: entry, text) and the
    /// queries (`queries.jsonl`) here, for a peer to run on the same data.
    #[arg(long)]
    pub dump: Option<std::path::PathBuf>,
}

const BRANDS: [&str; 40] = [
    "海尔",
    "美的",
    "格力",
    "小米",
    "华为",
    "苹果",
    "索尼",
    "松下",
    "西门子",
    "博世",
    "飞利浦",
    "戴森",
    "九阳",
    "苏泊尔",
    "老板",
    "方太",
    "TCL",
    "海信",
    "创维",
    "长虹",
    "联想",
    "戴尔",
    "惠普",
    "华硕",
    "OPPO",
    "vivo",
    "荣耀",
    "三星",
    "耐克",
    "阿迪达斯",
    "安踏",
    "李宁",
    "优衣库",
    "雅诗兰黛",
    "兰蔻",
    "欧莱雅",
    "飞鹤",
    "伊利",
    "皇家",
    "百草味",
];
pub const PRODUCTS: [&str; 25] = [
    "冰箱",
    "洗衣机",
    "空调",
    "电视",
    "手机",
    "耳机",
    "笔记本",
    "平板",
    "吸尘器",
    "电饭煲",
    "热水器",
    "油烟机",
    "微波炉",
    "净水器",
    "扫地机器人",
    "跑鞋",
    "羽绒服",
    "面霜",
    "口红",
    "奶粉",
    "猫粮",
    "坚果",
    "剃须刀",
    "路由器",
    "显示器",
];
pub const TOPICS: [(&str, &str); 25] = [
    ("怎么安装", "安装方法"),
    ("保修多久", "质保期多长"),
    ("怎么清洗", "清洁方法"),
    ("尺码怎么选", "选多大码"),
    ("有现货吗", "现在有货吗"),
    ("支持以旧换新吗", "旧的能抵钱吗"),
    ("能便宜点吗", "有优惠吗"),
    ("是正品吗", "保证正品吗"),
    ("产地是哪里", "哪里生产的"),
    ("保质期多久", "能放多久"),
    ("怎么使用", "使用方法"),
    ("有什么颜色", "颜色有哪些"),
    ("重量是多少", "有多重"),
    ("包装有几件", "一箱几个"),
    ("能开发票吗", "发票怎么开"),
    ("坏了怎么办", "出故障了怎么处理"),
    ("噪音大吗", "声音大不大"),
    ("耗电吗", "费电吗"),
    ("适合几岁", "多大能用"),
    ("能送货上门吗", "送到家吗"),
    ("可以定制吗", "能不能定做"),
    ("有赠品吗", "送什么东西"),
    ("多久能到", "几天到货"),
    ("能退吗", "可以退货吗"),
    ("怎么保存", "如何存放"),
];

fn entries(n: usize) -> Vec<KnowledgeEntry> {
    let mut out = Vec::with_capacity(n);
    'all: for model in 0.. {
        for brand in BRANDS {
            for product in PRODUCTS {
                for (topic, other) in TOPICS {
                    if out.len() == n {
                        break 'all;
                    }
                    let name =
                        if model == 0 { format!("{brand}{product}") } else { format!("{brand}{product}{model}代") };
                    out.push(KnowledgeEntry {
                        id: KnowledgeId::from_uuid(uuid::Uuid::from_u128(out.len() as u128)),
                        shop_id: ShopId::from_uuid(uuid::Uuid::nil()),
                        question: format!("{name}{topic}"),
                        alternates: vec![format!("{name}{other}"), format!("请问{name}{topic}")],
                        answer: format!("关于{name}{topic}：请以商品详情页为准。"),
                        category: None,
                        enabled: true,
                        updated_at: Timestamp(0),
                    });
                }
            }
        }
    }
    out
}

pub fn run(args: KbArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.entries > 0 && args.queries > 0, "--entries and --queries must be positive");
    let list = entries(args.entries);
    let phrases: Vec<String> = kefu_nlu::builtin::intent_examples().into_iter().map(|e| e.text).collect();
    let queries: Vec<String> = (0..args.queries)
        .map(|i| {
            if i % 2 == 0 {
                phrases[i % phrases.len()].clone()
            } else {
                let (b, p, (_, other)) =
                    (BRANDS[i % BRANDS.len()], PRODUCTS[(i / 7) % PRODUCTS.len()], TOPICS[(i / 3) % TOPICS.len()]);
                format!("亲，{b}的{p}{other}呀")
            }
        })
        .collect();
    if let Some(dir) = &args.dump {
        dump(dir, &list, &queries)?;
    }
    // The background document frequencies are built once per process; not part of a shop's build.
    kefu_nlu::faq::DocFreq::background();
    let started = Instant::now();
    let kb = Knowledge::new(list);
    let build_s = started.elapsed().as_secs_f64();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3)?;
    let mut sink = 0usize;
    let started = Instant::now();
    for q in &queries {
        let one = Instant::now();
        sink += kb.search(q, 5).len();
        hist.record((one.elapsed().as_nanos() as u64).max(1))?;
    }
    let qps = queries.len() as f64 / started.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1e6;
    let report = json!({
        "entries": args.entries,
        "questions": args.entries * 3,
        "build_seconds": build_s,
        "build_entries_per_sec": args.entries as f64 / build_s,
        "search_top5_per_sec": qps,
        "search_p50_ms": ms(0.5),
        "search_p99_ms": ms(0.99),
        "search_p999_ms": ms(0.999),
    });
    if args.json {
        println!("{report}");
    } else {
        println!("entries                  {} ({} questions)", args.entries, args.entries * 3);
        println!("index build              {build_s:.2} s ({:.0} entries/s)", args.entries as f64 / build_s);
        println!(
            "top-5 search, one thread {qps:.0} queries/s; p50 {:.3} ms, p99 {:.3} ms, p999 {:.3} ms",
            ms(0.5),
            ms(0.99),
            ms(0.999)
        );
    }
    Ok(())
}

/// The same questions and queries as JSONL, for a peer (bench/peers/tantivy_kb).
fn dump(dir: &std::path::Path, list: &[KnowledgeEntry], queries: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut questions = String::new();
    for (i, e) in list.iter().enumerate() {
        for q in e.questions() {
            questions.push_str(&format!("{}\n", json!({"entry": i, "text": q})));
        }
    }
    std::fs::write(dir.join("questions.jsonl"), questions)?;
    let lines: String = queries.iter().map(|q| format!("{}\n", json!({"text": q}))).collect();
    std::fs::write(dir.join("queries.jsonl"), lines)?;
    Ok(())
}
