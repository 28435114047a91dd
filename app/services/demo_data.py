"""The fixed part of the demo: real administrative regions, a product catalogue, people and problems."""

# (code, zh, en, level, parent code, latitude, longitude)
REGIONS = [
    ("110000", "北京市", "Beijing", "province", None, 39.904, 116.407),
    ("110100", "北京市辖区", "Beijing (city)", "city", "110000", 39.904, 116.407),
    ("110101", "东城区", "Dongcheng", "district", "110100", 39.928, 116.416),
    ("110102", "西城区", "Xicheng", "district", "110100", 39.912, 116.366),
    ("110105", "朝阳区", "Chaoyang", "district", "110100", 39.921, 116.443),
    ("110106", "丰台区", "Fengtai", "district", "110100", 39.858, 116.287),
    ("110108", "海淀区", "Haidian", "district", "110100", 39.959, 116.298),
    ("310000", "上海市", "Shanghai", "province", None, 31.230, 121.474),
    ("310100", "上海市辖区", "Shanghai (city)", "city", "310000", 31.230, 121.474),
    ("310104", "徐汇区", "Xuhui", "district", "310100", 31.188, 121.437),
    ("310106", "静安区", "Jing'an", "district", "310100", 31.229, 121.448),
    ("310115", "浦东新区", "Pudong", "district", "310100", 31.221, 121.544),
    ("440000", "广东省", "Guangdong", "province", None, 23.132, 113.266),
    ("440100", "广州市", "Guangzhou", "city", "440000", 23.129, 113.264),
    ("440104", "越秀区", "Yuexiu", "district", "440100", 23.129, 113.267),
    ("440106", "天河区", "Tianhe", "district", "440100", 23.125, 113.361),
    ("440300", "深圳市", "Shenzhen", "city", "440000", 22.543, 114.058),
    ("440304", "福田区", "Futian", "district", "440300", 22.541, 114.050),
    ("440305", "南山区", "Nanshan", "district", "440300", 22.533, 113.930),
]

STREETS = {
    "110101": ["东四北大街", "和平里东街", "建国门内大街"],
    "110102": ["西直门南大街", "阜成门外大街", "德胜门外大街"],
    "110105": ["望京西路", "朝阳北路", "建国路", "双井桥南"],
    "110106": ["丰台北路", "方庄路", "科技园富丰路"],
    "110108": ["中关村大街", "学院路", "五道口成府路", "西三旗建材城西路"],
    "310104": ["漕溪北路", "虹桥路", "田林路"],
    "310106": ["南京西路", "共和新路", "延长中路"],
    "310115": ["世纪大道", "张杨路", "金科路", "川沙路"],
    "440104": ["环市东路", "东风中路", "中山五路"],
    "440106": ["天河北路", "珠江新城花城大道", "体育西路"],
    "440304": ["深南中路", "福华三路", "景田路"],
    "440305": ["科技园南区高新南一道", "南海大道", "前海路"],
}

PRODUCT_LINES = [
    ("water_heater", "热水器", "Water heaters"),
    ("water_purifier", "净水器", "Water purifiers"),
    ("air_conditioner", "空调", "Air conditioners"),
    ("dishwasher", "洗碗机", "Dishwashers"),
    ("range_hood", "油烟机", "Range hoods"),
]

# (model, zh, en, product line, warranty months)
PRODUCTS = [
    ("JSQ30-16A", "燃气热水器 16升", "Gas water heater 16 L", "water_heater", 36),
    ("F80-D30", "电热水器 80升", "Electric water heater 80 L", "water_heater", 24),
    ("RO-600G", "RO反渗透净水器 600G", "RO water purifier 600G", "water_purifier", 12),
    ("UF-200", "超滤净水器", "Ultrafiltration purifier", "water_purifier", 12),
    ("KFR-35GW", "挂壁式空调 1.5匹", "Wall-mounted air conditioner 1.5 HP", "air_conditioner", 72),
    ("KFR-72LW", "立柜式空调 3匹", "Floor-standing air conditioner 3 HP", "air_conditioner", 72),
    ("WQP12-V6", "嵌入式洗碗机 12套", "Built-in dishwasher 12 sets", "dishwasher", 24),
    ("CXW-260", "侧吸式油烟机", "Side-draft range hood", "range_hood", 36),
]

# (sku, zh, en, unit, price, compatible models)
PARTS = [
    ("WH-PCB-16", "热水器主控板", "Water heater control board", "块", "268.00", ["JSQ30-16A"]),
    ("WH-IGN-01", "点火针", "Ignition electrode", "个", "35.00", ["JSQ30-16A"]),
    ("WH-TC-80", "温控器", "Thermostat", "个", "88.00", ["F80-D30"]),
    ("WH-ANODE", "镁棒", "Magnesium anode rod", "根", "59.00", ["F80-D30"]),
    ("WP-PP-10", "PP棉滤芯", "PP cotton filter", "支", "45.00", ["RO-600G", "UF-200"]),
    ("WP-RO-600", "RO膜滤芯 600G", "RO membrane 600G", "支", "399.00", ["RO-600G"]),
    ("AC-CAP-35", "压缩机启动电容", "Compressor start capacitor", "个", "65.00", ["KFR-35GW", "KFR-72LW"]),
    ("AC-RC-01", "空调遥控器", "Air conditioner remote control", "个", "49.00", ["KFR-35GW", "KFR-72LW"]),
    ("AC-FAN-72", "室外风机电机", "Outdoor fan motor", "台", "320.00", ["KFR-72LW"]),
    ("DW-PUMP-12", "洗碗机排水泵", "Dishwasher drain pump", "个", "156.00", ["WQP12-V6"]),
    ("RH-MOTOR", "油烟机电机", "Range hood motor", "台", "280.00", ["CXW-260"]),
]

SKILLS = [
    ("installation", "安装调试", "Installation"),
    ("hardware_repair", "硬件维修", "Hardware repair"),
    ("software_guidance", "软件指导", "Software guidance"),
] + [(code, zh, en) for code, zh, en in PRODUCT_LINES]

# (code, zh, en, city region code)
TEAMS = [
    ("bj_station", "北京服务站", "Beijing service station", "110100"),
    ("sh_station", "上海服务站", "Shanghai service station", "310100"),
    ("gz_station", "广州服务站", "Guangzhou service station", "440100"),
    ("sz_station", "深圳服务站", "Shenzhen service station", "440300"),
    ("remote_support", "远程技术支持组", "Remote support desk", None),
]

WAREHOUSES = [
    ("WH-BJ", "北京中心仓", "Beijing central warehouse", "110105", "北京市朝阳区东坝中路 18 号"),
    ("WH-SH", "上海中心仓", "Shanghai central warehouse", "310115", "上海市浦东新区川沙路 5001 号"),
    ("WH-GZ", "广州仓", "Guangzhou warehouse", "440106", "广州市天河区科韵路 16 号"),
    ("WH-SZ", "深圳仓", "Shenzhen warehouse", "440305", "深圳市南山区南海大道 1079 号"),
]

# The warehouse each station's engineers draw parts from.
TEAM_WAREHOUSE = {"bj_station": "WH-BJ", "sh_station": "WH-SH", "gz_station": "WH-GZ", "sz_station": "WH-SZ"}

# (name, team code, district codes, skill codes)
ENGINEERS = [
    ("张建国", "bj_station", ["110105", "110101"], ["hardware_repair", "installation", "water_heater", "range_hood"]),
    ("李志强", "bj_station", ["110108", "110102"], ["hardware_repair", "air_conditioner", "water_heater"]),
    ("王磊", "bj_station", ["110106", "110105"], ["installation", "water_purifier", "dishwasher"]),
    ("刘洋", "bj_station", ["110100"], ["hardware_repair", "installation", "air_conditioner"]),
    ("陈浩", "sh_station", ["310115"], ["hardware_repair", "water_heater", "dishwasher"]),
    ("杨帆", "sh_station", ["310104", "310106"], ["installation", "air_conditioner", "range_hood"]),
    ("赵敏", "sh_station", ["310100"], ["hardware_repair", "water_purifier"]),
    ("黄伟", "gz_station", ["440106"], ["hardware_repair", "installation", "air_conditioner"]),
    ("周杰", "gz_station", ["440104", "440106"], ["water_heater", "water_purifier", "installation"]),
    ("吴斌", "sz_station", ["440305"], ["hardware_repair", "dishwasher", "range_hood"]),
    ("郑凯", "sz_station", ["440304", "440305"], ["installation", "air_conditioner", "water_heater"]),
    ("孙丽", "remote_support", [], ["software_guidance", "water_purifier", "dishwasher"]),
    ("马超", "remote_support", [], ["software_guidance", "air_conditioner"]),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东", "海燕", "志明", "雪梅", "文博", "子涵", "浩然", "欣怡"]

# (product line, category, service type, subject, description, priority)
PROBLEMS = [
    ("water_heater", "fault", "hardware_repair", "热水器漏水", "热水器底部一直在滴水，地上积了一摊水，已经关了进水阀。", "urgent"),
    ("water_heater", "fault", "hardware_repair", "热水器无法点火", "打开热水龙头后热水器只听到咔咔声，不出热水，显示E1。", "high"),
    ("water_heater", "fault", "hardware_repair", "热水器水温忽冷忽热", "洗澡时水温不稳定，调了温度也没用。", "medium"),
    ("water_heater", "installation", "installation", "新购热水器预约安装", "刚买的热水器，需要上门安装，家里已经预留了燃气接口。", "medium"),
    ("water_purifier", "parts", "hardware_repair", "净水器滤芯到期更换", "净水器提示滤芯寿命到期，需要购买并更换PP棉和RO膜。", "low"),
    ("water_purifier", "fault", "hardware_repair", "净水器一直响不停机", "净水器制水一直不停，废水口一直排水，晚上噪音很大。", "high"),
    ("water_purifier", "inquiry", "software_guidance", "净水器APP无法绑定设备", "手机APP扫码后提示设备离线，无法绑定。", "low"),
    ("air_conditioner", "fault", "hardware_repair", "空调不制冷", "空调开了一个小时还是吹自然风，外机不转。", "high"),
    ("air_conditioner", "fault", "hardware_repair", "空调无法开机", "遥控器按了没有反应，空调指示灯不亮，插头已检查。", "urgent"),
    ("air_conditioner", "installation", "installation", "空调移机安装", "搬家了，需要把柜机从旧房子移到新房子安装。", "medium"),
    ("air_conditioner", "inquiry", "software_guidance", "空调定时功能怎么设置", "想设置晚上睡眠模式和定时关机，说明书看不懂。", "low"),
    ("dishwasher", "fault", "hardware_repair", "洗碗机不排水", "洗完后底部积水排不出去，显示E4故障码。", "high"),
    ("dishwasher", "installation", "installation", "洗碗机嵌入式安装", "橱柜已经做好，需要预约嵌入式洗碗机安装。", "medium"),
    ("range_hood", "fault", "hardware_repair", "油烟机噪音大", "油烟机开高速档时声音特别大，有异响。", "medium"),
    ("range_hood", "complaint", "hardware_repair", "维修师傅迟到两小时", "约好上午十点上门维修油烟机，师傅十二点才到，也没提前打电话，非常不满意。", "high"),
    ("water_heater", "complaint", "hardware_repair", "同一个问题修了三次还没好", "热水器漏水已经报修三次了，每次修完过几天又漏，要求换机。", "urgent"),
]

DEMO_NOTES = [
    "已电话联系客户，确认上门时间。",
    "客户要求下午两点以后上门。",
    "已告知客户所需配件及费用。",
    "远程指导客户重启设备后恢复正常。",
]

# Ratings customers give (stars, comment): what the Ratings and Low-score reviews pages start with.
DEMO_RATINGS = [
    (5, "师傅很专业，准时上门"),
    (5, None),
    (4, "处理及时，就是等配件有点久"),
    (2, "约好上午来，下午才到，也没提前打电话"),
]

# Preventive maintenance (code, zh, en, product model, every N days): filters wear out on a schedule.
MAINTENANCE_PLANS = [
    ("ro_filter_180", "RO净水器更换滤芯", "RO purifier filter change", "RO-600G", 180),
    ("ac_clean_365", "空调年度清洗保养", "Yearly air conditioner cleaning", "KFR-35GW", 365),
]

# Knowledge-base articles (language, title, body, category code, product models, published): what the ticket
# page and the portal's submit form suggest from the start.
KB_ARTICLES = [
    ("zh", "燃气热水器无法点火（E1）怎么办",
     "燃气热水器显示E1、只听到咔咔声不出热水，多数是点火失败。\n\n"
     "1. 确认燃气阀门已打开，家里其他燃气灶能正常点火。\n"
     "2. 更换热水器电池（部分机型在底部）。\n"
     "3. 冬季检查排烟管是否结冰堵塞。\n\n仍无法点火请报修，工程师将检查点火针和主控板。",
     "fault", ["JSQ30-16A"], True),
    ("zh", "空调不制冷、外机不转的自查方法",
     "空调只吹自然风、外机不转时，请先检查：\n\n"
     "1. 模式是否为“制冷”，设定温度是否低于室温。\n"
     "2. 外机电源和空气开关是否跳闸。\n"
     "3. 过滤网是否积灰严重。\n\n以上都正常仍不制冷，多为压缩机启动电容故障，请报修。",
     "fault", ["KFR-35GW", "KFR-72LW"], True),
    ("zh", "洗碗机显示E4、不排水的处理",
     "E4表示排水超时。请关机断电后取出底部过滤网清洗，检查排水管是否弯折或被橱柜压住。"
     "清理后重新运行“排水”程序；仍积水请报修。",
     "fault", ["WQP12-V6"], True),
    ("zh", "净水器滤芯更换周期",
     "PP棉滤芯约6个月、RO膜约24个月更换一次，APP或面板提示到期时即可预约更换。"
     "水质较差地区建议提前更换。",
     "parts", ["RO-600G", "UF-200"], True),
    ("en", "Gas water heater does not ignite (E1)",
     "E1 with clicking but no hot water usually means the ignition failed.\n\n"
     "1. Make sure the gas valve is open.\n2. Replace the batteries.\n"
     "3. In winter, check that the flue is not blocked by ice.\n\n"
     "If it still does not ignite, request service: an engineer will check the ignition electrode.",
     "fault", ["JSQ30-16A"], True),
    ("zh", "油烟机异响排查（草稿）", "高速档异响多为风轮积油不平衡，需上门清洗风轮。", "fault", ["CXW-260"], False),
]

