"""Shared fixtures: a small schema, the example schema, and a helper to write corpora."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.schema import Schema

# session fixtures that start real servers on 127.0.0.1 (see tests/servers/__init__.py)
pytest_plugins = ["tests.servers.arcadedb", "tests.servers.oxigraph_http", "tests.servers.jena"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

SMALL_SCHEMA = {
    "name": "test",
    "entity_types": {
        "Person": {"labels": {"en": "person", "zh": "人物"}, "ner": {"spacy": ["PERSON"], "jieba": ["nr"]},
                   "gazetteer": [{"name": "Jack Ma", "aliases": ["马云"]}]},
        "Organization": {"labels": {"en": "organization", "zh": "机构"},
                         "ner": {"spacy": ["ORG"], "jieba": ["nt"]},
                         "gazetteer": [{"name": "Alibaba Group", "aliases": ["Alibaba", "阿里巴巴"]},
                                       {"name": "Huawei", "aliases": ["华为", "华为公司"]}]},
        "Location": {"labels": {"en": "location", "zh": "地点"}, "ner": {"spacy": ["GPE", "LOC"],
                                                                         "jieba": ["ns"]}},
    },
    "relation_types": {
        "founded_by": {
            "labels": {"en": "founded by", "zh": "创始人"}, "domain": "Organization", "range": "Person",
            "patterns": {
                "en": [{"trigger": ["found", "establish"], "subject": ">nsubjpass", "object": ">agent >pobj"},
                       {"trigger": ["found", "establish"], "subject": ">dobj", "object": ">nsubj"}],
                "zh": [{"regex": "{subject}由{object}(?:于[^，。]{0,12})?(?:创立|创办|创建)"},
                       {"regex": "{object}(?:创立|创办|创建)了{subject}"}],
            },
            "verbalizations": {"en": ["{subject} was founded by {object}."]},
            "questions": {"en": ["Who founded {subject}?"]},
        },
        "headquartered_in": {
            "labels": {"en": "headquartered in", "zh": "总部位于"}, "domain": "Organization",
            "range": "Location", "functional": True,
            "patterns": {
                "en": [{"trigger": ["headquarter", "base"], "subject": ">nsubjpass", "object": ">prep[in] >pobj"}],
                "zh": [{"regex": "{subject}的?总部(?:位于|设在){object}"}],
            },
        },
    },
}


@pytest.fixture(scope="session")
def small_schema() -> Schema:
    """A tiny schema exercising gazetteers, en dependency patterns and zh regex patterns."""
    return Schema.model_validate(SMALL_SCHEMA)


@pytest.fixture(scope="session")
def small_schema_file(tmp_path_factory) -> Path:
    """The small schema written to YAML."""
    import yaml

    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    path.write_text(yaml.safe_dump(SMALL_SCHEMA, allow_unicode=True), encoding="utf-8")
    return path


def write_corpus(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``name -> text/bytes`` files into ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder
