from extraction.analysis import Analysis
from extraction.resolve import EntityResolver, clean_name
from kg.ids import entity_id
from kg.model import Mention


def mentions(doc_id, items, text):
    out, cursor = [], 0
    for surface, etype in items:
        start = text.index(surface, cursor)
        out.append(Mention(doc_id, 0, start, start + len(surface), surface, etype))
        cursor = start + len(surface)
    return out


def resolve(resolver, text, items, doc_id="d", lang="en"):
    analysis = Analysis(doc_id=doc_id, lang=lang, mentions=mentions(doc_id, items, text))
    resolver.resolve(analysis, text)
    return [m.entity_id for m in analysis.mentions]


def test_clean_name():
    assert clean_name("the Alibaba Group's") == "Alibaba Group"
    assert clean_name("  “Huawei”, ") == "Huawei"


def test_gazetteer_aliases_across_languages_and_type_fix(small_schema):
    r = EntityResolver(small_schema)
    ids = resolve(r, "Alibaba and 阿里巴巴 and ALIBABA", [("Alibaba", "Person"), ("阿里巴巴", "Organization"),
                                                       ("ALIBABA", "Organization")])
    assert len(set(ids)) == 1
    assert ids[0] == entity_id("Organization", "Alibaba Group")  # type fixed by the gazetteer


def test_abbreviation_pair_and_fullwidth(small_schema):
    r = EntityResolver(small_schema)
    text = "International Business Machines (IBM) said IBM and ＩＢＭ grew."
    ids = resolve(r, text, [("International Business Machines", "Organization"), ("IBM", "Organization"),
                            ("ＩＢＭ", "Organization")])
    assert len(set(ids)) == 1
    # the abbreviation is remembered for later documents too
    assert resolve(r, "IBM rose.", [("IBM", "Organization")], doc_id="d2") == ids[:1]
    assert "IBM" in r.entities[ids[0]].aliases


def test_surname_and_fuzzy_within_type_only(small_schema):
    r = EntityResolver(small_schema)
    ids = resolve(r, "Satya Nadella spoke. Nadella left. Satya Nadela came.",
                  [("Satya Nadella", "Person"), ("Nadella", "Person"), ("Satya Nadela", "Person")])
    assert len(set(ids)) == 1
    other = resolve(r, "Satya Nadella Inc", [("Satya Nadella Inc", "Organization")], doc_id="d3")
    assert other[0] not in ids


def test_short_names_not_fuzzy_merged(small_schema):
    r = EntityResolver(small_schema)
    ids = resolve(r, "Intel and Intuit", [("Intel", "Organization"), ("Intuit", "Organization")])
    assert ids[0] != ids[1]


def test_known_entities_from_earlier_batches(small_schema):
    first = EntityResolver(small_schema)
    ids = resolve(first, "Satya Nadella", [("Satya Nadella", "Person")])
    second = EntityResolver(small_schema, known=first.changed_entities())
    assert resolve(second, "Satya Nadella", [("Satya Nadella", "Person")], doc_id="x") == ids
    assert second.changed_entities() == []
