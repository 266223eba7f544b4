import numpy as np

from extraction.dedup import ExactDedup, NearDedup
from extraction.steps import DropLog
from kg.ids import document_id
from kg.model import Document

BASE = ("Huawei was founded by Ren Zhengfei in Shenzhen in 1987. It makes telecom equipment, "
        "smartphones and cloud services, and it invests heavily in research and development. The "
        "company grew from a small reseller of telephone switches into one of the largest suppliers "
        "of network gear in the world, with customers in more than one hundred and seventy countries. "
        "Its consumer business sells phones, laptops, watches and tablets, while its enterprise unit "
        "builds data centres and software for governments, banks and manufacturers everywhere.")


def mk(text: str, source: str) -> Document:
    return Document(id=document_id(text), text=text, source=source)


def test_exact_and_near_duplicates_dropped():
    near_copy = BASE.replace("heavily", "a lot")
    other = "Tencent is headquartered in Shenzhen and develops WeChat, a messaging app used daily " * 3
    drops = DropLog()
    docs = [mk(BASE, "a"), mk(BASE, "b"), mk(near_copy, "c"), mk(other, "d")]
    out = list(NearDedup(threshold=0.8)(ExactDedup()(docs, drops), drops))
    assert [d.source for d in out] == ["a", "d"]
    assert drops.drops[0].reason == "exact duplicate of a"
    assert drops.drops[1].reason == "near duplicate of a"


def test_near_dedup_knows_earlier_batches():
    first = NearDedup()
    list(first([mk(BASE, "old")], DropLog()))
    known = [(doc_id, "old", sig.astype(np.uint64)) for doc_id, sig in first.signatures.items()]
    drops = DropLog()
    out = list(NearDedup(known=known)([mk(BASE.replace("1987", "1988"), "new")], drops))
    assert out == [] and "near duplicate of old" in drops.drops[0].reason
