//! Provinces and major cities of mainland China, for delivery questions
//! (到乌鲁木齐要几天, 发往西藏吗). Written from public administrative
//! divisions; a city maps to its province.

use aho_corasick::{AhoCorasick, MatchKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceMention {
    pub start: usize,
    pub end: usize,
    pub province: &'static str,
    /// `None` when only the province was named.
    pub city: Option<&'static str>,
}

/// (province, its short name, major cities).
const PLACES: &[(&str, &str, &[&str])] = &[
    ("北京", "京", &["北京"]),
    ("天津", "津", &["天津"]),
    ("上海", "沪", &["上海"]),
    ("重庆", "渝", &["重庆"]),
    ("河北", "冀", &["石家庄", "唐山", "保定", "邯郸", "廊坊", "秦皇岛", "沧州", "邢台", "张家口", "承德", "衡水"]),
    ("山西", "晋", &["太原", "大同", "运城", "临汾", "长治", "晋中"]),
    ("内蒙古", "蒙", &["呼和浩特", "包头", "鄂尔多斯", "赤峰"]),
    ("辽宁", "辽", &["沈阳", "大连", "鞍山", "抚顺", "锦州", "营口"]),
    ("吉林", "吉", &["长春", "吉林市", "四平", "延边"]),
    ("黑龙江", "黑", &["哈尔滨", "齐齐哈尔", "大庆", "牡丹江", "佳木斯"]),
    (
        "江苏",
        "苏",
        &[
            "南京",
            "苏州",
            "无锡",
            "常州",
            "南通",
            "徐州",
            "扬州",
            "镇江",
            "盐城",
            "连云港",
            "泰州",
            "淮安",
            "宿迁",
            "昆山",
        ],
    ),
    ("浙江", "浙", &["杭州", "宁波", "温州", "绍兴", "嘉兴", "金华", "台州", "湖州", "义乌", "舟山", "丽水", "衢州"]),
    ("安徽", "皖", &["合肥", "芜湖", "蚌埠", "安庆", "阜阳", "马鞍山", "黄山"]),
    ("福建", "闽", &["福州", "厦门", "泉州", "漳州", "莆田", "龙岩"]),
    ("江西", "赣", &["南昌", "赣州", "九江", "上饶", "宜春", "景德镇"]),
    (
        "山东",
        "鲁",
        &["济南", "青岛", "烟台", "潍坊", "临沂", "淄博", "济宁", "威海", "泰安", "日照", "德州", "聊城", "菏泽"],
    ),
    ("河南", "豫", &["郑州", "洛阳", "开封", "新乡", "南阳", "许昌", "安阳", "商丘", "信阳", "周口"]),
    ("湖北", "鄂", &["武汉", "宜昌", "襄阳", "荆州", "十堰", "黄冈", "孝感"]),
    ("湖南", "湘", &["长沙", "株洲", "湘潭", "衡阳", "岳阳", "常德", "郴州", "张家界"]),
    (
        "广东",
        "粤",
        &[
            "广州", "深圳", "东莞", "佛山", "珠海", "中山", "惠州", "汕头", "江门", "湛江", "肇庆", "茂名", "揭阳",
            "潮州", "清远", "韶关",
        ],
    ),
    ("广西", "桂", &["南宁", "柳州", "桂林", "北海", "玉林", "梧州"]),
    ("海南", "琼", &["海口", "三亚", "儋州"]),
    ("四川", "川", &["成都", "绵阳", "德阳", "宜宾", "南充", "泸州", "乐山", "达州"]),
    ("贵州", "黔", &["贵阳", "遵义", "六盘水", "毕节"]),
    ("云南", "滇", &["昆明", "大理", "丽江", "曲靖", "玉溪", "西双版纳"]),
    ("西藏", "藏", &["拉萨", "日喀则", "林芝"]),
    ("陕西", "陕", &["西安", "咸阳", "宝鸡", "渭南", "榆林", "延安", "汉中"]),
    ("甘肃", "甘", &["兰州", "天水", "酒泉", "嘉峪关", "张掖"]),
    ("青海", "青", &["西宁", "海东", "格尔木"]),
    ("宁夏", "宁", &["银川", "石嘴山", "吴忠"]),
    ("新疆", "新", &["乌鲁木齐", "喀什", "伊犁", "克拉玛依", "库尔勒", "哈密", "阿克苏"]),
    ("香港", "港", &["香港"]),
    ("澳门", "澳", &["澳门"]),
    ("台湾", "台", &["台北", "高雄", "台中"]),
];

pub struct PlaceFinder {
    automaton: AhoCorasick,
    /// Per pattern: (province, city).
    targets: Vec<(&'static str, Option<&'static str>)>,
}

impl PlaceFinder {
    pub fn new() -> PlaceFinder {
        let mut patterns: Vec<String> = Vec::new();
        let mut targets = Vec::new();
        for (province, _short, cities) in PLACES {
            // A municipality (北京, 上海…) is found as its city below.
            let suffixes: &[&str] = if cities.contains(province) { &[] } else { &["省", "自治区", ""] };
            for suffix in suffixes {
                patterns.push(format!("{province}{suffix}"));
                targets.push((*province, None));
            }
            for city in *cities {
                // A municipality is both; report it as the city of itself.
                for suffix in ["市", ""] {
                    patterns.push(format!("{city}{suffix}"));
                    targets.push((*province, Some(*city)));
                }
            }
        }
        // Longest match first: 吉林市 (the city) over 吉林 (the province).
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .unwrap_or_else(|e| unreachable!("constant patterns: {e}"));
        PlaceFinder { automaton, targets }
    }

    pub fn find(&self, text: &str) -> Vec<PlaceMention> {
        self.automaton
            .find_iter(text)
            .map(|m| {
                let (province, city) = self.targets[m.pattern().as_usize()];
                PlaceMention { start: m.start(), end: m.end(), province, city }
            })
            .collect()
    }
}

impl Default for PlaceFinder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&'static str, Option<&'static str>)> {
        PlaceFinder::new().find(text).into_iter().map(|m| (m.province, m.city)).collect()
    }

    #[test]
    fn provinces_and_cities() {
        assert_eq!(found("到乌鲁木齐要几天"), [("新疆", Some("乌鲁木齐"))]);
        assert_eq!(found("发往西藏吗"), [("西藏", None)]);
        assert_eq!(found("广东省深圳市南山区"), [("广东", None), ("广东", Some("深圳"))]);
        assert_eq!(found("寄到吉林市"), [("吉林", Some("吉林市"))]);
        assert_eq!(found("北京能到吗"), [("北京", Some("北京"))]);
        assert!(found("什么时候发货").is_empty());
    }
}
