"""The demo's fictional firms, people, findings and targets."""

# B105: The published password of the demo.
DEMO_PASSWORD = "pilot-demo-2026"  # nosec B105

#: name, district, GB/T 4754 division, employees, revenue (10k RMB), land (mu), certifications
FIRMS = [
    ("郑州华岳耐火材料有限公司", "410183", "30", 420, "38600", "126", ["ISO9001", "ISO14001"]),
    ("巩义市恒通铝箔科技有限公司", "410181", "32", 860, "152000", "310", ["ISO9001", "IATF16949"]),
    ("郑州中研磨料磨具有限公司", "410103", "30", 380, "27500", "88", ["ISO9001"]),
    ("郑州金穗速冻食品有限公司", "410108", "14", 1250, "96400", "205", ["ISO9001", "ISO22000"]),
    ("郑州宏远矿山机械有限公司", "410106", "35", 540, "61800", "150", ["ISO9001", "ISO45001"]),
    ("郑州瑞驰汽车零部件有限公司", "410173", "36", 690, "83200", "172", ["IATF16949", "ISO14001"]),
    (
        "郑州航港智能电子科技有限公司",
        "410171",
        "39",
        1480,
        "210500",
        "260",
        ["ISO9001", "ISO14001", "ISO45001"],
    ),
    ("登封市嵩阳耐材有限公司", "410185", "30", 310, "22800", "95", ["ISO9001"]),
    ("荥阳市豫通阀门有限公司", "410182", "34", 260, "18900", "60", ["ISO9001"]),
    ("新郑市好禾枣业食品有限公司", "410184", "13", 450, "35200", "110", ["ISO9001", "GBT27925"]),
    ("郑州上街精密铝型材有限公司", "410106", "32", 720, "118000", "230", ["ISO9001", "ISO14001"]),
    ("郑州中原特种电缆有限公司", "410104", "38", 520, "74300", "140", ["ISO9001", "CCC"]),
    ("郑州德润智能仪表有限公司", "410172", "40", 280, "21600", "45", ["ISO9001", "GBT29490"]),
    ("郑州康宁药业有限公司", "410173", "27", 610, "68900", "130", ["ISO9001", "ISO14001"]),
    ("中牟县宇丰汽车配件有限公司", "410122", "36", 390, "41700", "98", ["IATF16949"]),
    ("郑州恒力起重设备有限公司", "410103", "34", 470, "52600", "120", ["ISO9001", "ISO45001"]),
    ("郑州卓立超硬材料有限公司", "410172", "30", 350, "46800", "70", ["ISO9001", "GBT29490"]),
    ("郑州金水锦绣服饰有限公司", "410105", "18", 830, "39500", "55", ["ISO9001"]),
    ("郑州雅美塑胶制品有限公司", "410108", "29", 300, "24300", "66", ["ISO9001", "ISO14001"]),
    ("巩义市永固耐火材料有限公司", "410181", "30", 340, "29800", "105", ["ISO9001"]),
]

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["建华", "秀英", "志强", "海燕", "国庆", "丽娟", "卫东", "晓明", "红梅", "振宇"]

EXPERTS = [
    (
        "expert1",
        "张建国",
        "河南中质卓越质量管理咨询有限公司",
        "卓越绩效评价；过程管理",
        "全国质量奖评审员",
    ),
    ("expert2", "李敏", "郑州大学管理学院", "品牌培育；顾客与市场", "品牌培育管理体系评价师"),
    (
        "expert3",
        "赵卫东",
        "河南中质卓越质量管理咨询有限公司",
        "质量管理体系；测量分析与改进",
        "ISO 9001 高级审核员",
    ),
    ("expert4", "陈晓燕", "郑州市质量技术服务中心", "标准化；计量；检验检测", "注册质量工程师"),
]

#: How many stages each demo case has done, in stage order (stages 5–6 by staff's marks until
#: their records exist). Cases with 1 done show the diagnosis under way in different states.
DONE_STAGES = [6, 6, 6, 5, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 0, 0]
#: Cases whose evaluation is done and that staff closed (结案).
CLOSED = {0, 1, 2}
#: For cases whose plan is not approved yet: the state their follow-up plan is in.
PLAN_UNDER_WAY = {5: "submitted", 6: "returned", 7: "draft"}
#: For cases with only the survey done: the state their baseline diagnosis is in.
DIAGNOSIS_UNDER_WAY = {15: "submitted", 16: "returned", 17: "draft"}

#: (framework item code, severity, description): the findings experts write.
FINDINGS = [
    ("4.5.3", "severe", "关键工序（烧成、熔炼）工艺参数记录不完整，未开展过程能力（CPK）分析"),
    ("4.1.2", "general", "质量方针和目标未分解到车间班组，一线员工对质量目标知晓率低"),
    ("4.6.2", "general", "质量数据分散在各部门台账中，缺少统计分析和趋势跟踪"),
    ("4.3.3", "severe", "顾客投诉处理未形成闭环，缺少原因分析和纠正措施有效性验证"),
    ("4.4.5", "severe", "部分计量器具超期未检定，检定台账与实物不一致"),
    ("4.4.2", "general", "质量岗位人员培训计划未按期实施，缺少培训效果评价"),
    ("4.7.2", "observation", "产品一次交检合格率低于同行业先进水平，缺少对标数据"),
    ("5.1", "general", "尚未制定品牌战略规划，品牌定位和核心价值不清晰"),
    ("7.3", "general", "品牌培育关键过程未识别，商标使用和许可无管理制度"),
    ("8.1", "observation", "未开展品牌知名度、美誉度测量"),
]
#: (KPI code, baseline, target) per work target; varied per firm below.
TARGETS = [
    ("first_pass_yield", "95.2", "97.5"),
    ("quality_loss_rate", "2.80", "2.00"),
    ("customer_satisfaction", "84", "90"),
    ("complaints", "18", "10"),
]

#: (weeks after the batch's start, topic, trainer, areas): the batch's centralised training.
SESSIONS = [
    (9, "卓越绩效评价准则解读与自评方法", "张建国", ["leadership", "strategy", "results"]),
    (12, "过程能力分析（SPC/CPK）与质量数据统计", "赵卫东", ["process", "measurement"]),
    (17, "品牌培育管理体系建设与商标管理", "李敏", ["brand", "ip"]),
    (21, "质量文化建设与首席质量官履职", "陈晓燕", ["culture", "leadership"]),
]

#: What the firm writes on an item, and what it uploads as evidence.
ROOT_CAUSE = "制度要求未落实到岗位，缺少检查考核机制"
MEASURE = "修订管理制度，明确岗位职责；开展专项培训；纳入月度质量考核"
EVIDENCE_TEXT = "整改佐证材料：修订后的管理制度、培训签到表、整改前后对比照片。"
