"""The made-up listing terms of a demo result: maturity, IP, price, transfer modes.

A CSL record is a paper, so its terms follow what kind of paper it is, read
from the title: a review or discussion is early research (TRL 1–2, no IP of its
own), a modelling or simulation paper and a laboratory study stay before pilot
(TRL 2–5), and only a developed device, process, system or variety reaches
pilot or production (TRL 4–9). The IP follows the subject (a device a utility
model or patent, software a copyright, a variety a plant variety right), and the
asking price follows the maturity band and the IP: a few 万元 for an early
result with a utility model, 50–300 万元 for an invention patent in production;
some ask 面议. Every record costs the same number of draws, so skipping one that
is already loaded does not change the others.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta

from marketplace.results.services import MATURITY_BANDS

# What a title says about the paper; the first that matches decides.
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("review", re.compile(
        "进展|综述|述评|评述|概述|概况|浅谈|浅析|浅议|探讨|探析|展望|现状|对策|思考"
        "|回顾|体会|建议|初探|刍议|启示|问题|调查|状况|简介|介绍|概论|发展|市场|忽视")),
    ("model", re.compile("模型|仿真|模拟|数值|有限元|算法|理论|计算|预测")),
    ("developed", re.compile(
        "研制|研发|开发|设计|系统|装置|设备|机构|样机|生产线|示范|推广|品种|选育|品系"
        "|工艺|制备|配方|加工|栽培|育苗|养殖|防治|治理|处理技术|检测方法|测定方法")),
)  # fmt: skip
LAB = "lab"  # any other paper: a laboratory study
# TRL weights by kind (TRL: weight).
TRL_WEIGHTS = {
    "review": {1: 2, 2: 3},
    "model": {2: 3, 3: 4, 4: 2},
    LAB: {2: 2, 3: 4, 4: 3, 5: 1},
    "developed": {4: 2, 5: 3, 6: 4, 7: 4, 8: 3, 9: 2},
}
# The IP a subject is protected by, with weights; "" is none (a review).
SUBJECTS: tuple[tuple[re.Pattern[str], dict[str, int]], ...] = (
    (re.compile("品种|选育|品系|种质|杂交"), {"植物新品种": 7, "技术秘密": 3}),
    (re.compile("装置|设备|机构|样机|结构|总成|模具|部件|器$|机$|车$"),
     {"实用新型": 5, "发明专利": 4, "技术秘密": 1}),
    (re.compile("系统|平台|软件|算法|程序|数据库|模型|仿真|模拟"),
     {"软件著作权": 6, "发明专利": 3, "技术秘密": 1}),
)  # fmt: skip
OTHER_IP = {"发明专利": 6, "技术秘密": 3, "实用新型": 1}
# Asking price bands in 万元 by maturity band (results.services.MATURITY_BANDS)
# and IP, and how often a result of the band says 面议 instead.
PRICE_BANDS: dict[str, dict[str, tuple[int, int]]] = {
    "rd": {"发明专利": (3, 20), "植物新品种": (3, 15), "技术秘密": (2, 10),
           "软件著作权": (1, 8), "实用新型": (1, 5), "": (1, 3)},
    "lab": {"发明专利": (10, 50), "植物新品种": (10, 40), "技术秘密": (5, 30),
            "软件著作权": (5, 30), "实用新型": (3, 15)},
    "pilot": {"发明专利": (30, 120), "植物新品种": (20, 80), "技术秘密": (20, 80),
              "软件著作权": (10, 60), "实用新型": (10, 40)},
    "industry": {"发明专利": (50, 300), "植物新品种": (30, 150),
                 "技术秘密": (30, 150), "软件著作权": (20, 100),
                 "实用新型": (15, 80)},
}  # fmt: skip
NEGOTIABLE = {"rd": 0.5, "lab": 0.35, "pilot": 0.3, "industry": 0.25}
NICE_WAN = (1, 2, 3, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150,
            200, 250, 300)  # fmt: skip
# Transfer modes open at each band: no equity stake in early research.
MODES = {
    "rd": ("合作开发", "许可"),
    "lab": ("转让", "许可", "合作开发"),
    "pilot": ("转让", "许可", "作价投资", "合作开发"),
    "industry": ("转让", "许可", "作价投资", "合作开发"),
}
ALL_MODES = ("转让", "许可", "作价投资", "合作开发")
PUBLISHED_SPAN_DAYS = 548  # about 18 months


def kind_of(title: str) -> str:
    """review, model, developed or lab: what kind of paper the title is."""
    for kind, pattern in KINDS:
        if pattern.search(title):
            return kind
    return LAB


def band_of(trl: int) -> str:
    """The maturity band code of a TRL."""
    return next(
        code for code, (_, low, high) in MATURITY_BANDS.items() if low <= trl <= high
    )


def _weighted(weights: dict, u: float):
    """The key at cumulative share u of the weights (u in [0, 1))."""
    total = sum(weights.values())
    for key, weight in weights.items():
        u -= weight / total
        if u < 0:
            return key
    return key


def _ip_for(title: str, kind: str, u: float) -> str:
    if kind == "review":
        return ""
    for pattern, weights in SUBJECTS:
        if pattern.search(title):
            return _weighted(weights, u)
    return _weighted(OTHER_IP, u)


def price_wan(band: str, ip_type: str, u: float) -> int:
    """A round asking price in the band's range for this IP, at share u of it."""
    low, high = PRICE_BANDS[band].get(ip_type, PRICE_BANDS[band]["技术秘密"])
    choices = [p for p in NICE_WAN if low <= p <= high]
    return choices[min(int(u * len(choices)), len(choices) - 1)]


def draw_terms(rng: random.Random, title: str, today: date, now: datetime) -> dict:
    """The listing terms of one record; always the same number of draws."""
    u = [rng.random() for _ in range(6)]
    valid_days = rng.randint(700, 760)
    published = now - timedelta(seconds=rng.randint(0, PUBLISHED_SPAN_DAYS * 86_400))
    review_days = rng.randint(1, 10)
    draft_days = rng.randint(1, 30)
    kind = kind_of(title)
    trl = _weighted(TRL_WEIGHTS[kind], u[0])
    band = band_of(trl)
    ip_type = _ip_for(title, kind, u[1])
    price = None if u[2] < NEGOTIABLE[band] else price_wan(band, ip_type, u[3])
    open_modes = MODES[band]
    # One to all of the open modes, in the form's order.
    count = 1 + int(u[4] * len(open_modes))
    start = int(u[5] * len(open_modes))
    picked = {open_modes[(start + k) % len(open_modes)] for k in range(count)}
    submitted = published - timedelta(days=review_days)
    return {
        "trl": trl,
        "transfer_modes": [m for m in ALL_MODES if m in picked],
        "price_fen": None if price is None else price * 1_000_000,
        "ip_type": ip_type,
        "valid_until": today + timedelta(days=valid_days),
        "published_at": published,
        "submitted_at": submitted,
        "created_at": submitted - timedelta(days=draft_days),
        "updated_at": published,
    }
