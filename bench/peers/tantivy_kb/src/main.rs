//! Raw tantivy on the knowledge base `kefu bench kb` builds: the same entries
//! (brand × product × topic, three phrasings each, as one document per
//! phrasing), Chinese character 1–2-grams (tantivy's NgramTokenizer), and
//! the same queries, top-5 by BM25 (an OR of the query's n-grams).

use std::time::Instant;

use hdrhistogram::Histogram;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{NgramTokenizer, TextAnalyzer, TokenStream};
use tantivy::{Index, TantivyDocument, Term, doc};

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
const PRODUCTS: [&str; 25] = [
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
const TOPICS: [(&str, &str); 25] = [
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

fn questions(n: usize) -> Vec<(u64, String)> {
    let mut out = Vec::with_capacity(n * 3);
    let mut entries = 0;
    'all: for model in 0.. {
        for brand in BRANDS {
            for product in PRODUCTS {
                for (topic, other) in TOPICS {
                    if entries == n {
                        break 'all;
                    }
                    let name =
                        if model == 0 { format!("{brand}{product}") } else { format!("{brand}{product}{model}代") };
                    let id = entries as u64;
                    out.push((id, format!("{name}{topic}")));
                    out.push((id, format!("{name}{other}")));
                    out.push((id, format!("请问{name}{topic}")));
                    entries += 1;
                }
            }
        }
    }
    out
}

fn main() -> tantivy::Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let queries_n = 5_000;
    let docs = questions(n);
    let mut builder = Schema::builder();
    let indexing = TextFieldIndexing::default().set_tokenizer("ng12").set_index_option(IndexRecordOption::WithFreqs);
    let text = builder.add_text_field("q", TextOptions::default().set_indexing_options(indexing));
    let id = builder.add_u64_field("id", STORED);
    let index = Index::create_in_ram(builder.build());
    let analyzer = || TextAnalyzer::builder(NgramTokenizer::new(1, 2, false).expect("ngram")).build();
    index.tokenizers().register("ng12", analyzer());

    let started = Instant::now();
    let mut writer = index.writer_with_num_threads(1, 100_000_000)?;
    for (i, q) in &docs {
        writer.add_document(doc!(text => q.as_str(), id => *i))?;
    }
    writer.commit()?;
    let build = started.elapsed().as_secs_f64();
    let searcher = index.reader()?.searcher();

    let queries: Vec<String> = (0..queries_n)
        .map(|i| {
            let (b, p, (_, other)) =
                (BRANDS[i % BRANDS.len()], PRODUCTS[(i / 7) % PRODUCTS.len()], TOPICS[(i / 3) % TOPICS.len()]);
            format!("亲，{b}的{p}{other}呀")
        })
        .collect();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 10_000_000_000, 3).expect("histogram");
    let mut tokenizer = analyzer();
    let mut found = 0usize;
    let started = Instant::now();
    for q in &queries {
        let one = Instant::now();
        let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut stream = tokenizer.token_stream(q);
        while stream.advance() {
            let term = Term::from_field_text(text, &stream.token().text);
            terms.push((Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))));
        }
        let top = searcher.search(&BooleanQuery::new(terms), &TopDocs::with_limit(5))?;
        for (_, addr) in &top {
            let d: TantivyDocument = searcher.doc(*addr)?;
            found += d.get_first(id).and_then(|v| v.as_u64()).is_some() as usize;
        }
        hist.record((one.elapsed().as_nanos() as u64).max(1)).expect("record");
    }
    let qps = queries.len() as f64 / started.elapsed().as_secs_f64();
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1e6;
    println!(
        "{{\"peer\":\"tantivy\",\"entries\":{n},\"questions\":{},\"build_seconds\":{build:.3},\"build_entries_per_sec\":{:.0},\"search_top5_per_sec\":{qps:.0},\"search_p50_ms\":{:.3},\"search_p99_ms\":{:.3},\"found\":{found}}}",
        docs.len(),
        n as f64 / build,
        ms(0.5),
        ms(0.99)
    );
    Ok(())
}
