import pytest

from extraction.clean import HtmlToText, LanguageId, Normalize
from extraction.filters import BadEncoding, CharRatio, MinLength, Repetition
from extraction.steps import DropLog, run_steps
from kg.model import Document

GOOD_EN = ("Alibaba Group was founded by Jack Ma in Hangzhou in 1999. The company runs online "
           "marketplaces, cloud computing services and logistics networks across China and abroad, "
           "and it employs many thousands of engineers.")
GOOD_ZH = "阿里巴巴集团由马云于1999年在杭州创立，业务涵盖电子商务、云计算和物流，员工遍布全国各地。" * 2


def doc(text: str, **meta) -> Document:
    return Document(id="d", text=text, source="s", meta=meta)


@pytest.mark.parametrize("flt,bad,needle", [
    (MinLength(30), "Too short to matter.", "too short"),
    (Repetition(), "\n".join(["Buy cheap phones now!"] * 10 + ["ok"]), "duplicate lines"),
    (Repetition(), "click here " * 60, "top 2-gram"),
    (CharRatio(0.35), "| 12.5 | 13.7 | 99.1 | 42 | 77.0 | 12 | -- | 3.14 | 2.71 |", "digits/punctuation"),
    (BadEncoding(), "CafÃ© prÃ¨s de lâ€™Ã©cole " * 5, "bad encoding"),
])
def test_filter_drops_bad_and_keeps_good(flt, bad, needle):
    assert needle in flt.check(doc(bad))
    assert flt.check(doc(GOOD_EN)) is None
    assert flt.check(doc(GOOD_ZH)) is None


def test_filter_records_drops():
    drops = DropLog()
    kept = list(MinLength(30)([doc(GOOD_EN), doc("tiny")], drops))
    assert len(kept) == 1 and drops.counts["too_short"] == 1
    assert drops.drops[0].reason.startswith("too short")


def test_html_boilerplate_removed_and_malformed_html_survives():
    page = ("<html><head><title>t</title></head><body><nav><a href='/'>Home</a> | <a>Products</a></nav>"
            f"<article><p>{GOOD_EN}</p></article><footer>Copyright 2024 Example Inc. All rights "
            "reserved. Privacy policy.</footer></body></html>")
    drops = DropLog()
    (out,) = list(HtmlToText()([doc(page, format="html")], drops))
    assert "Alibaba Group was founded" in out.text
    assert "Privacy policy" not in out.text and "Products" not in out.text
    broken = f"<html><body><div><p>{GOOD_EN}<p><b>unclosed <i>tags"
    (out2,) = list(HtmlToText()([doc(broken, format="html")], DropLog()))
    assert "Jack Ma" in out2.text
    assert list(HtmlToText()([doc("<html><body><script>x=1</script></body></html>", format="html")], drops)) == []
    assert "no main text" in drops.drops[-1].reason


def test_normalize_and_language_id():
    drops = DropLog()
    docs = [doc("  Hello\r\n\r\n\r\n\x07world  "), doc(GOOD_ZH), doc(GOOD_EN),
            doc("Le chat est assis sur le tapis et regarde la fenêtre pendant que la pluie tombe.")]
    out = list(run_steps(docs, [Normalize(), LanguageId(["en", "zh"])], drops))
    assert out[0].text == "Hello\n\nworld"
    assert out[0].id.startswith("doc:")
    assert [d.lang for d in out[1:]] == ["zh", "en"]
    assert "language 'fr'" in drops.drops[0].reason
