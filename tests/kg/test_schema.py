from pathlib import Path

import pytest
import yaml

from kg.errors import SchemaError
from kg.schema import load_schema, parse_path
from tests.conftest import EXAMPLES, SMALL_SCHEMA


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_small_schema_loads(small_schema_file):
    schema = load_schema(small_schema_file)
    assert schema.relation_types["founded_by"].domain == "Organization"
    assert schema.alias_table[("Organization", "阿里巴巴")] == "Alibaba Group"
    assert schema.type_for_label("spacy", "GPE") == "Location"


def test_typo_in_field_name_is_named(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(SMALL_SCHEMA))
    data["relation_types"]["founded_by"]["domian"] = data["relation_types"]["founded_by"].pop("domain")
    with pytest.raises(SchemaError) as err:
        load_schema(_write(tmp_path, data))
    assert "relation_types.founded_by.domian" in str(err.value)


def test_unknown_type_suggests_close_match(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(SMALL_SCHEMA))
    data["relation_types"]["founded_by"]["range"] = "Persn"
    with pytest.raises(SchemaError, match="did you mean 'Person'"):
        load_schema(_write(tmp_path, data))


def test_bad_path_and_regex_are_rejected(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(SMALL_SCHEMA))
    data["relation_types"]["founded_by"]["patterns"]["en"][0]["subject"] = "nsubj"
    with pytest.raises(SchemaError, match=r"patterns\.en\.0\.subject"):
        load_schema(_write(tmp_path, data))
    data = yaml.safe_load(yaml.safe_dump(SMALL_SCHEMA))
    data["relation_types"]["founded_by"]["patterns"]["zh"][0]["regex"] = "{subject}由("
    with pytest.raises(SchemaError, match="object"):
        load_schema(_write(tmp_path, data))


def test_template_placeholders_checked(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(SMALL_SCHEMA))
    data["relation_types"]["founded_by"]["verbalizations"]["en"] = ["{subject} was founded."]
    with pytest.raises(SchemaError, match="verbalizations"):
        load_schema(_write(tmp_path, data))


def test_not_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(SchemaError, match="not valid YAML"):
        load_schema(bad)
    with pytest.raises(SchemaError, match="not found"):
        load_schema(tmp_path / "missing.yaml")


def test_parse_path():
    steps = parse_path("<attr >prep[of|at] >pobj")
    assert steps[0] == ("<", frozenset({"attr"}), None)
    assert steps[1] == (">", frozenset({"prep"}), frozenset({"of", "at"}))


def test_example_schema_has_required_templates():
    schema = load_schema(EXAMPLES / "schema.yaml")
    assert len(schema.relation_types) >= 10
    for name, rel in schema.relation_types.items():
        for lang in ("en", "zh"):
            assert len(rel.verbalizations.get(lang, [])) >= 3, (name, lang)
            assert len(rel.questions.get(lang, [])) >= 2, (name, lang)
            assert rel.labels.get(lang), (name, lang)
        assert rel.patterns.en and rel.patterns.zh, name
