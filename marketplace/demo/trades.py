"""What each demo organisation does, so that the demo pairs it with its own trade.

The CSL disciplines come from data/csl_disciplines.json: the technology field of
each, and whether its records are technology a firm could adopt (only those go
into the demo catalogue). The contract subjects (TOPICS) each belong to one
discipline. Every enterprise, on the platform or not, has a trade: the
disciplines whose results it would adopt, the subjects it would buy and the
ones it sells. Research organisations sell in their fields (SPECIALTIES, any
field when absent). seed-demo's deals, contracts and adoption applications only
pair an enterprise with a listing or subject of its trade.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from marketplace.reference import DISCIPLINES_FILE


class Discipline(NamedTuple):
    """One CSL discipline of the reference file."""

    name: str
    category: str
    field: str  # technology field code (tech_fields.json)
    technology: bool  # records a firm could adopt: in the demo catalogue


def read_disciplines() -> dict[str, Discipline]:
    """The reference file's disciplines by name."""
    data = json.loads(DISCIPLINES_FILE.read_text(encoding="utf-8"))
    return {
        row["discipline"]: Discipline(
            row["discipline"], row["category"], row["field"], bool(row["technology"])
        )
        for row in data["disciplines"]
    }


DISCIPLINES = read_disciplines()
TECHNOLOGY = frozenset(d.name for d in DISCIPLINES.values() if d.technology)

# Contract subjects by technology field code: how often the field is contracted,
# and each subject with the CSL discipline it belongs to.
TOPICS: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {
    "agriculture": (22, (
        ("高油酸花生品种繁育", "作物学"), ("小麦赤霉病绿色防控", "植物保护"),
        ("夏南牛高效繁育", "畜牧学/兽医学"), ("食用菌工厂化栽培", "园艺学"),
        ("芝麻机械化收获", "农业工程"), ("速冻面米制品品质改良", "食品科学与工程"),
        ("花生蛋白与花生油精深加工", "食品科学与工程"),
    )),
    "advanced_manufacturing": (16, (
        ("专用车底盘轻量化设计", "机械工程"), ("农机装备智能控制", "机械工程"),
        ("数控机床精度补偿", "机械工程"), ("乐器数控精密加工", "机械工程"),
    )),
    "biomedicine": (12, (
        ("中药配方颗粒质量标准", "中医学/中药学"),
        ("兽用疫苗佐剂工艺", "生物学/生物科学与工程"),
        ("医用敷料抗菌涂层", "基础医学/临床医学"),
        ("中药饮片智能炮制", "中医学/中药学"),
    )),
    "electronic_information": (12, (
        ("智慧农业物联网监测平台", "信息与通信工程"),
        ("工业设备远程运维系统", "控制科学与工程"),
        ("数字化车间制造执行系统", "计算机科学与技术"),
        ("机器视觉缺陷检测", "计算机科学与技术"),
    )),
    "new_materials": (11, (
        ("高导热环氧灌封材料", "材料科学与工程"),
        ("改性沥青防水卷材配方", "化学/化学工程与技术"),
        ("生物基可降解包装材料", "材料科学与工程"),
        ("超细碳酸钙表面改性", "化学/化学工程与技术"),
    )),
    "environment": (9, (
        ("畜禽粪污资源化利用", "环境科学与工程"),
        ("食品废水厌氧处理", "环境科学与工程"),
        ("秸秆综合利用", "环境科学与工程"),
        ("工业固废制备建材", "环境科学与工程"),
    )),
    "new_energy": (7, (
        ("光伏储能微电网控制", "电气工程"),
        ("生物质锅炉节能改造", "动力工程及工程热物理"),
        ("锂电池硅碳负极制备", "电气工程"),
    )),
    "urban_social": (6, (
        ("装配式建筑构件生产", "土木工程"), ("农村生活污水一体化处理", "土木工程"),
        ("建筑节能围护结构设计", "建筑学"), ("农田节水灌溉工程", "水利工程"),
    )),
    "modern_transport": (3, (
        ("冷链物流车温控系统", "交通运输工程"),
        ("新能源专用车电驱总成", "交通运输工程"),
    )),
    "aerospace": (1.5, (
        ("植保无人机飞控系统", "航空宇航科学与技术"),
        ("航空复合材料构件检测", "航空宇航科学与技术"),
    )),
    "nuclear": (0.5, (
        ("农产品辐照保鲜加工", "核科学与技术"), ("工业射线无损检测", "核科学与技术"),
    )),
}  # fmt: skip
TOPIC_FIELDS = {t: code for code, (_, topics) in TOPICS.items() for t, _ in topics}
TOPIC_DISCIPLINES = {t: d for _, topics in TOPICS.values() for t, d in topics}


class Trade(NamedTuple):
    """An enterprise's line of business, in the demo's terms."""

    # CSL disciplines of the results it would adopt, each with the words one of
    # which the title must have (none: any result of the discipline).
    disciplines: dict[str, tuple[str, ...]]
    buys: tuple[str, ...]  # contract subjects it would buy
    sells: tuple[str, ...] = ()  # subjects of its own it would sell


# Platform enterprises first (demo.ORGS), then the parties off the platform.
TRADES: dict[str, Trade] = {
    "西平县嫘祖食品科技有限公司": Trade(
        {"食品科学与工程": ()},
        ("速冻面米制品品质改良", "食品废水厌氧处理", "农产品辐照保鲜加工",
         "生物基可降解包装材料", "冷链物流车温控系统", "生物质锅炉节能改造",
         "数字化车间制造执行系统", "机器视觉缺陷检测"),
        ("速冻面米制品品质改良",),
    ),
    "驻马店恒拓新材料科技有限公司": Trade(
        {"材料科学与工程": (),
         "化学/化学工程与技术": ("聚", "树脂", "复合", "材料", "改性", "涂", "乳液",
                           "阻燃", "纳米", "填料", "粉")},
        ("高导热环氧灌封材料", "超细碳酸钙表面改性", "生物基可降解包装材料",
         "锂电池硅碳负极制备", "航空复合材料构件检测", "工业固废制备建材",
         "工业设备远程运维系统", "工业射线无损检测"),
        ("高导热环氧灌封材料", "超细碳酸钙表面改性"),
    ),
    "上蔡县沃丰农业机械有限公司": Trade(
        {"农业工程": ("机", "装置", "收获", "播种", "排种", "脱粒", "耕", "施肥", "喷",
                  "采摘", "切碎", "捡拾", "分级", "开沟", "茬"),
         "机械工程": ("齿轮", "轴承", "减速器", "传动", "刀具", "机构", "机床",
                  "粉碎")},
        ("芝麻机械化收获", "农机装备智能控制", "数控机床精度补偿",
         "专用车底盘轻量化设计", "植保无人机飞控系统", "机器视觉缺陷检测",
         "数字化车间制造执行系统", "工业射线无损检测"),
        ("芝麻机械化收获", "农机装备智能控制"),
    ),
    "驻马店康嘉药业有限公司": Trade(
        {"中医学/中药学": ("胶囊", "颗粒", "注射液", "浸膏", "提取", "生物碱", "质量",
                      "含量", "炮制", "制剂", "合剂"),
         "药学": ("制备", "制剂", "胶囊", "片", "颗粒", "注射液", "质量", "含量",
                "测定", "提取", "工艺", "合成", "缓释", "乳剂", "生物等效")},
        ("中药配方颗粒质量标准", "中药饮片智能炮制", "医用敷料抗菌涂层",
         "数字化车间制造执行系统", "工业设备远程运维系统", "食品废水厌氧处理"),
        ("中药配方颗粒质量标准", "中药饮片智能炮制"),
    ),
    "泌阳县盘古牧业科技有限公司": Trade(
        {"畜牧学/兽医学": ("牛", "羊", "猪", "鸡", "鹅", "饲料", "养殖", "畜", "奶",
                       "草", "粪", "病")},
        ("夏南牛高效繁育", "畜禽粪污资源化利用", "秸秆综合利用", "兽用疫苗佐剂工艺",
         "智慧农业物联网监测平台", "生物质锅炉节能改造"),
        ("夏南牛高效繁育",),
    ),
    "确山县琴韵乐器制造有限公司": Trade(
        {"林学/林业工程": ("木", "单板", "涂料", "竹材"),
         "机械工程": ("加工", "刀具", "切削", "数控", "振动")},
        ("乐器数控精密加工", "数控机床精度补偿", "机器视觉缺陷检测",
         "数字化车间制造执行系统", "生物质锅炉节能改造"),
        ("乐器数控精密加工",),
    ),
    "正阳县丰润花生制品有限公司": Trade(
        {"食品科学与工程": ("花生", "大豆", "豆", "油", "蛋白", "肽", "坚果", "黄曲霉",
                       "霉菌", "烘", "膳食纤维", "保鲜", "淀粉"),
         "作物学": ("花生", "油菜", "大豆", "油料", "种子质量")},
        ("花生蛋白与花生油精深加工", "高油酸花生品种繁育", "农产品辐照保鲜加工",
         "食品废水厌氧处理", "机器视觉缺陷检测", "生物质锅炉节能改造",
         "生物基可降解包装材料"),
        ("花生蛋白与花生油精深加工",),
    ),
    "汝南县智农电子科技有限公司": Trade(
        {"计算机科学与技术": (), "信息与通信工程": (), "控制科学与工程": ()},
        ("智慧农业物联网监测平台", "机器视觉缺陷检测"),
        ("智慧农业物联网监测平台",),
    ),
    # Firms off the platform, a buyer and seller in every county and zone.
    "驻马店市天中建筑设计院有限公司": Trade(
        {"土木工程": (), "建筑学": ()},
        ("装配式建筑构件生产", "建筑节能围护结构设计", "农村生活污水一体化处理",
         "光伏储能微电网控制"),
        ("建筑节能围护结构设计", "农村生活污水一体化处理"),
    ),
    "西平县华鑫机械制造有限公司": Trade(
        {"机械工程": ()},
        ("数控机床精度补偿", "工业设备远程运维系统", "机器视觉缺陷检测",
         "数字化车间制造执行系统", "专用车底盘轻量化设计", "工业射线无损检测"),
        ("数控机床精度补偿", "专用车底盘轻量化设计"),
    ),
    "上蔡县金穗面业有限公司": Trade(
        {"食品科学与工程": ()},
        ("速冻面米制品品质改良", "小麦赤霉病绿色防控", "农产品辐照保鲜加工",
         "食品废水厌氧处理", "数字化车间制造执行系统", "生物质锅炉节能改造",
         "冷链物流车温控系统"),
        ("速冻面米制品品质改良",),
    ),
    "平舆县蓝天防水材料有限公司": Trade(
        {"化学/化学工程与技术": ()},
        ("改性沥青防水卷材配方", "超细碳酸钙表面改性", "工业固废制备建材",
         "生物质锅炉节能改造"),
        ("改性沥青防水卷材配方",),
    ),
    "正阳县丰源种业有限公司": Trade(
        {"作物学": ()},
        ("高油酸花生品种繁育", "小麦赤霉病绿色防控", "智慧农业物联网监测平台",
         "植保无人机飞控系统", "农田节水灌溉工程"),
        ("高油酸花生品种繁育", "小麦赤霉病绿色防控"),
    ),
    "确山县铜山新型建材有限公司": Trade(
        {"材料科学与工程": (), "土木工程": ()},
        ("工业固废制备建材", "装配式建筑构件生产", "超细碳酸钙表面改性",
         "秸秆综合利用"),
        ("工业固废制备建材", "装配式建筑构件生产"),
    ),
    "泌阳县花菇产业发展有限公司": Trade(
        {"园艺学": ()},
        ("食用菌工厂化栽培", "秸秆综合利用", "农产品辐照保鲜加工",
         "冷链物流车温控系统", "智慧农业物联网监测平台"),
        ("食用菌工厂化栽培",),
    ),
    "汝南县天中中药材种植有限公司": Trade(
        {"中医学/中药学": (), "作物学": ()},
        ("中药饮片智能炮制", "中药配方颗粒质量标准", "植保无人机飞控系统",
         "智慧农业物联网监测平台"),
        ("中药饮片智能炮制",),
    ),
    "遂平县恒丰面粉机械有限公司": Trade(
        {"机械工程": (), "农业工程": ()},
        ("农机装备智能控制", "数控机床精度补偿", "机器视觉缺陷检测",
         "工业设备远程运维系统", "工业射线无损检测"),
        ("农机装备智能控制",),
    ),
    "新蔡县绿源生态农业有限公司": Trade(
        {"农业资源利用": (), "环境科学与工程": ()},
        ("秸秆综合利用", "畜禽粪污资源化利用", "农村生活污水一体化处理",
         "农田节水灌溉工程", "食用菌工厂化栽培", "智慧农业物联网监测平台"),
        ("秸秆综合利用", "畜禽粪污资源化利用"),
    ),
    "驻马店中原智谷信息技术有限公司": Trade(
        {"计算机科学与技术": (), "信息与通信工程": ()},
        ("机器视觉缺陷检测", "光伏储能微电网控制"),
        ("智慧农业物联网监测平台", "工业设备远程运维系统", "数字化车间制造执行系统",
         "机器视觉缺陷检测"),
    ),
    "驻马店华通专用汽车有限公司": Trade(
        {"交通运输工程": (), "机械工程": ()},
        ("专用车底盘轻量化设计", "新能源专用车电驱总成", "冷链物流车温控系统",
         "工业射线无损检测", "数控机床精度补偿"),
        ("冷链物流车温控系统", "新能源专用车电驱总成"),
    ),
    "驻马店豫康生物科技有限公司": Trade(
        {"生物学/生物科学与工程": (), "药学": ()},
        ("兽用疫苗佐剂工艺", "医用敷料抗菌涂层", "中药配方颗粒质量标准"),
        ("兽用疫苗佐剂工艺", "医用敷料抗菌涂层"),
    ),
    "许昌远航电气设备有限公司": Trade(
        {"电气工程": ()},
        ("光伏储能微电网控制", "工业设备远程运维系统", "高导热环氧灌封材料",
         "锂电池硅碳负极制备", "工业射线无损检测", "新能源专用车电驱总成"),
    ),
    "信阳茗香茶业有限公司": Trade(
        {"园艺学": (), "食品科学与工程": ()},
        ("农产品辐照保鲜加工", "智慧农业物联网监测平台", "生物基可降解包装材料",
         "生物质锅炉节能改造", "航空复合材料构件检测"),
    ),
}  # fmt: skip
# Research organisations, on the platform or not, that only sell in some fields;
# the others (universities, 郑州中原工研) sell in any.
SPECIALTIES: dict[str, tuple[str, ...]] = {
    "驻马店市农业科学院": ("agriculture", "environment"),
    "驻马店天中产业技术研究院": ("biomedicine", "new_materials", "new_energy",
                           "advanced_manufacturing", "electronic_information"),
    "武汉光谷启明光电科技有限公司": ("electronic_information", "aerospace", "nuclear",
                              "new_energy"),
    "北京中科智农技术研究院有限公司": ("agriculture", "environment"),
    "西安秦川航空材料研究所有限公司": ("aerospace", "new_materials",
                               "modern_transport", "nuclear"),
}  # fmt: skip


def buys(name: str, topic: str) -> bool:
    """Whether the enterprise of this name would buy technology on the subject."""
    trade = TRADES.get(name)
    return trade is not None and topic in trade.buys


def sells(name: str, topic: str) -> bool:
    """Whether the party sells on the subject: its own, or one of its fields."""
    if name in TRADES:
        return topic in TRADES[name].sells
    return researches(name, TOPIC_FIELDS[topic])


def researches(name: str, field_code: str | None) -> bool:
    """Whether a research organisation works in the field (SPECIALTIES, else any)."""
    fields = SPECIALTIES.get(name)
    return not fields or field_code in fields


def adopts(name: str, discipline: str | None, title: str) -> bool:
    """Whether the enterprise would apply to adopt this result (by its discipline)."""
    trade = TRADES.get(name)
    if trade is None or discipline not in trade.disciplines:
        return False
    words = trade.disciplines[discipline]
    return not words or any(word in title for word in words)


def trade_fields(name: str) -> set[str]:
    """The technology fields of everything the enterprise would adopt or buy."""
    trade = TRADES[name]
    return {DISCIPLINES[d].field for d in trade.disciplines} | {
        TOPIC_FIELDS[t] for t in trade.buys
    }
