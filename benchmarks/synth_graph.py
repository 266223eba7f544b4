"""A generated graph shaped like the example schema's domain, for the synthesis benchmark.

Vectorized (numpy + pyarrow): a million facts take seconds. The graph follows
``examples/schema.yaml``: Person / Organization / Location / Product entities with English names and,
for most of them, a Chinese alias; schema relations respect their domain and range; about 10% of the
facts use open relations (verb-like predicates, half of them written in Chinese, a few thousand in
all); entity and open-predicate popularity is Zipf-like, so a few hubs hold many facts and a long tail
holds one or two.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kg import model
from kg.graph import GraphView

TYPES: dict[str, float] = {"Person": 0.4, "Organization": 0.3, "Location": 0.15, "Product": 0.15}
"""Entity types and their shares of the entities."""

RELATIONS: dict[str, tuple[str, str, float]] = {
    "works_for": ("Person", "Organization", 15), "educated_at": ("Person", "Organization", 8),
    "born_in": ("Person", "Location", 8), "ceo_of": ("Person", "Organization", 3),
    "founded_by": ("Organization", "Person", 8), "headquartered_in": ("Organization", "Location", 8),
    "acquired": ("Organization", "Organization", 6), "subsidiary_of": ("Organization", "Organization", 6),
    "developed": ("Organization", "Product", 14), "located_in": ("Location", "Location", 8),
}
"""The example schema's relations: (domain, range, weight among schema facts)."""

OPEN_SHARE = 0.1
ZH_ALIAS_SHARE = 0.85
ZIPF = 0.9  # popularity exponent: weight of the entity of rank r is 1 / (r + 1) ** ZIPF

_SYL = ["ba", "ko", "ri", "sen", "ta", "vel", "mor", "lin", "dra", "qui", "zan", "fe", "gor", "hal", "ix",
        "jun", "ke", "lu", "mer", "nor", "pa", "ros", "sil", "tur", "ul", "vin", "wes", "yor", "zel", "cam"]
_ZH_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜")
_ZH_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲晶建国红云飞鑫波宁浩宇轩博文斌"
                 "龙凯俊帆雪梅琳思远")
_ZH_WORDS = list("华星辰腾飞锐达鼎盛宏远恒通博瑞凌云天成信诚卓越智创新源泰和金海东方北辰南山青蓝")
_ZH_VERBS = list("访问投资合作支持收购研发推出建立领导参与赞助培训评价批评发布设计管理")
_ORG_SUFFIX = [("Systems", "科技"), ("Labs", "实验室"), ("Group", "集团"), ("Technologies", "技术"),
               ("Networks", "网络"), ("Holdings", "控股"), ("Software", "软件"), ("Robotics", "机器人"),
               ("Energy", "能源"), ("Media", "传媒")]
_LOC_SUFFIX = ["市", "省", "县", "区"]
_PRODUCT_SUFFIX = [("Pro", "专业版"), ("Air", "轻薄版"), ("Max", "旗舰版"), ("One", "一号"), ("Go", "便携版"),
                   ("Cloud", "云"), ("OS", "系统"), ("Pay", "支付"), ("Chat", "聊天"), ("Chip", "芯片")]


def _take(values: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(values).take(pa.array(index))


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _syllables(rng: np.random.Generator, n: int, count: int, capital: bool = True) -> pa.Array:
    """``n`` words of ``count`` syllables each (first one capitalized)."""
    first = [s.capitalize() for s in _SYL] if capital else _SYL
    parts = [_take(first, rng.integers(0, len(_SYL), n))]
    parts += [_take(_SYL, rng.integers(0, len(_SYL), n)) for _ in range(count - 1)]
    return _join(*parts) if count > 1 else parts[0]


def _chars(rng: np.random.Generator, chars: list[str], n: int, count: int) -> pa.Array:
    return _join(*[_take(chars, rng.integers(0, len(chars), n)) for _ in range(count)])


def _names(rng: np.random.Generator, type_name: str, n: int) -> tuple[pa.Array, pa.Array]:
    """(English names, Chinese aliases) of ``n`` entities of a type; sparse name spaces, so few collide."""
    if type_name == "Person":
        en = _join(_syllables(rng, n, 2), " ", _syllables(rng, n, 3))
        zh = _join(_take(_ZH_SURNAMES, rng.integers(0, len(_ZH_SURNAMES), n)), _chars(rng, _ZH_GIVEN, n, 2))
    elif type_name == "Organization":
        suffix = rng.integers(0, len(_ORG_SUFFIX), n)
        en = _join(_syllables(rng, n, 3), " ", _take([s for s, _ in _ORG_SUFFIX], suffix))
        zh = _join(_chars(rng, _ZH_WORDS, n, 2), _take([s for _, s in _ORG_SUFFIX], suffix))
    elif type_name == "Location":
        en = _syllables(rng, n, 4)
        zh = _join(_chars(rng, _ZH_WORDS, n, 2), _take(_LOC_SUFFIX, rng.integers(0, len(_LOC_SUFFIX), n)))
    else:
        suffix = rng.integers(0, len(_PRODUCT_SUFFIX), n)
        en = _join(_syllables(rng, n, 3), " ", _take([s for s, _ in _PRODUCT_SUFFIX], suffix))
        zh = _join(_chars(rng, _ZH_WORDS, n, 2), _take([s for _, s in _PRODUCT_SUFFIX], suffix))
    return en, zh


def _zipf_draw(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """``n`` indexes into ``range(size)`` with Zipf-like weights over a random popularity order."""
    weights = 1.0 / np.arange(1, size + 1) ** ZIPF
    cumulative = np.cumsum(weights)
    ranks = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return rng.permutation(size)[np.minimum(ranks, size - 1)]


def open_predicates(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct open-relation predicates: half English verb-like words, half Chinese."""
    rng = np.random.default_rng(seed + 1)
    en = _syllables(rng, 4 * n, 2, capital=False).to_pylist()
    zh = _chars(rng, _ZH_VERBS, 4 * n, 2).to_pylist()
    return list(dict.fromkeys(en))[:n - n // 2] + list(dict.fromkeys(zh))[:n // 2]


def synthetic_graph(n_facts: int, seed: int = 0, n_open: int | None = None) -> GraphView:
    """A graph of about ``n_facts`` distinct facts over ``n_facts / 5`` entities.

    Args:
        n_facts: facts wanted (duplicates and self-loops are dropped, so a few percent fewer can remain).
        seed: numpy seed.
        n_open: distinct open predicates (default: one per 400 facts, at least 20).
    """
    rng = np.random.default_rng(seed)
    n_entities = max(n_facts // 5, 40)
    types = list(TYPES)
    counts = [int(n_entities * TYPES[t]) for t in types]
    ids: dict[str, pa.Array] = {}
    tables, offset = [], 0
    for type_name, count in zip(types, counts, strict=True):
        numbers = pc.utf8_lpad(pc.cast(pa.array(np.arange(offset, offset + count)), pa.string()), 9, "0")
        ids[type_name] = _join("ent:", numbers)
        en, zh = _names(rng, type_name, count)
        has_zh = rng.random(count) < ZH_ALIAS_SHARE
        lengths = has_zh.astype(np.int32)
        offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
        aliases = pa.ListArray.from_arrays(offsets, zh.filter(pa.array(has_zh)))
        tables.append(pa.table({"id": ids[type_name], "name": en, "type": pa.array([type_name] * count),
                                "aliases": aliases, "lang": pa.array(["en"] * count),
                                "description": pa.nulls(count, pa.string()),
                                "batch": pa.array(["b1"] * count)}, schema=model.ENTITIES))
        offset += count
    entities = pa.concat_tables(tables)

    wanted = int(n_facts * 1.06) + 10  # duplicates and self-loops are dropped below
    n_open_facts = int(wanted * OPEN_SHARE)
    relations = list(RELATIONS)
    weights = np.array([RELATIONS[r][2] for r in relations], dtype=float)
    relation_of = rng.choice(len(relations), size=wanted - n_open_facts, p=weights / weights.sum())
    subjects, objects, predicates = [], [], []
    for i, relation in enumerate(relations):
        domain, range_, _ = RELATIONS[relation]
        n = int((relation_of == i).sum())
        subjects.append(ids[domain].take(pa.array(_zipf_draw(rng, len(ids[domain]), n))))
        objects.append(ids[range_].take(pa.array(_zipf_draw(rng, len(ids[range_]), n))))
        predicates.append(pa.array([relation] * n))
    every = entities.column("id").combine_chunks()
    open_names = open_predicates(n_open if n_open is not None else max(20, n_facts // 400), seed)
    subjects.append(every.take(pa.array(_zipf_draw(rng, len(every), n_open_facts))))
    objects.append(every.take(pa.array(_zipf_draw(rng, len(every), n_open_facts))))
    predicates.append(_take(open_names, _zipf_draw(rng, len(open_names), n_open_facts)))
    is_open = np.concatenate([np.zeros(wanted - n_open_facts, bool), np.ones(n_open_facts, bool)])
    facts = pa.table({"subject": pa.concat_arrays(subjects), "predicate": pa.concat_arrays(predicates),
                      "object": pa.concat_arrays(objects), "open": pa.array(is_open)})
    # one row per distinct (subject, predicate, object), no self-loops, in random order
    facts = facts.filter(pc.not_equal(facts["subject"], facts["object"]))
    facts = facts.group_by(["subject", "predicate", "object"]).aggregate([("open", "any")])
    facts = facts.take(pa.array(rng.permutation(facts.num_rows)[:n_facts]))
    n = facts.num_rows
    numbers = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), 9, "0")
    facts = pa.table({"id": _join("fact:", numbers), "subject": facts["subject"],
                      "predicate": facts["predicate"], "object": facts["object"], "open": facts["open_any"],
                      "source": pa.array(["extracted"] * n), "confidence": pa.array(rng.random(n)),
                      "evidence_count": pa.array(np.ones(n, dtype=np.int64)),
                      "batch": pa.array(["b1"] * n), "plausibility": pa.nulls(n, pa.float64()),
                      "model": pa.nulls(n, pa.string())}, schema=model.FACTS)
    empty = GraphView.empty()
    return GraphView(documents=empty.documents, entities=entities, facts=facts, evidence=empty.evidence,
                     mentions=empty.mentions)


__all__ = ["OPEN_SHARE", "RELATIONS", "TYPES", "open_predicates", "synthetic_graph"]
