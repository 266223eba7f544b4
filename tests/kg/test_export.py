"""`kg export --format neo4j-import`: CSV files and the command for ``neo4j-admin database import full``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from kg.export import NEO4J_ARRAY_DELIMITER, export_neo4j_import
from kg.graph import GraphView

try:  # tests may or may not be a package, depending on how pytest is configured
    from .stores.conformance import NASTY, NASTY_ID, nasty_view, sample_rows, sample_view
except ImportError:
    sys.path.insert(0, str(Path(__file__).parent / "stores"))
    from conformance import NASTY, NASTY_ID, nasty_view, sample_rows, sample_view

HEADERS = {
    "nodes-Entity.csv": [
        "id:ID(Entity)", ":LABEL", "name", "type", "aliases:string[]", "lang", "description",
    ],
    "nodes-Document.csv": ["id:ID(Document)", ":LABEL", "source", "lang", "title", "text", "batch"],
    "nodes-Evidence.csv": [
        "id:ID(Evidence)", ":LABEL", "fact_id", "doc_id", "sentence:long", "start_char:long", "end_char:long",
        "text", "extractor", "confidence:double",
    ],
    "rels-RELATION.csv": [
        ":START_ID(Entity)", ":END_ID(Entity)", ":TYPE", "id", "predicate", "open:boolean", "source",
        "confidence:double", "evidence_count:long", "batch", "plausibility:double", "model",
    ],
    "rels-MENTIONED_IN.csv": [
        ":START_ID(Entity)", ":END_ID(Document)", ":TYPE", "sentence:long", "start_char:long",
        "end_char:long", "text",
    ],
    "rels-FROM_DOCUMENT.csv": [":START_ID(Evidence)", ":END_ID(Document)", ":TYPE"],
    "rels-ABOUT.csv": [":START_ID(Evidence)", ":END_ID(Entity)", ":TYPE"],
}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_files_have_neo4j_admin_headers(tmp_path: Path) -> None:
    written = export_neo4j_import(sample_view(), tmp_path)
    assert [p.name for p in written] == [*HEADERS, "import.sh"]
    for name, header in HEADERS.items():
        with (tmp_path / name).open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == header, name
    assert len(_read(tmp_path / "nodes-Entity.csv")) == 6
    assert len(_read(tmp_path / "rels-RELATION.csv")) == 5
    assert len(_read(tmp_path / "rels-MENTIONED_IN.csv")) == 4  # the unresolved mention is no relationship


def test_values_are_typed_and_labelled(tmp_path: Path) -> None:
    export_neo4j_import(sample_view(), tmp_path)
    entities = {row["id:ID(Entity)"]: row for row in _read(tmp_path / "nodes-Entity.csv")}
    assert entities["libai"][":LABEL"] == "Entity"
    assert entities["libai"]["aliases:string[]"].split(NEO4J_ARRAY_DELIMITER) == ["李太白", "青莲居士"]
    relations = {row["id"]: row for row in _read(tmp_path / "rels-RELATION.csv")}
    assert relations["f5"][":TYPE"] == "RELATION"
    assert (relations["f5"][":START_ID(Entity)"], relations["f5"][":END_ID(Entity)"]) == ("ada", "babbage")
    assert relations["f5"]["open:boolean"] == "true" and relations["f1"]["open:boolean"] == "false"
    assert relations["f1"]["evidence_count:long"] == "2" and relations["f4"]["confidence:double"] == "0.4"


def test_nulls_are_empty_and_strings_are_quoted(tmp_path: Path) -> None:
    rows = sample_rows()
    rows["entities"][1]["description"] = ""  # an empty string, not a missing property
    export_neo4j_import(GraphView.from_pylist(**rows), tmp_path)
    lines = (tmp_path / "nodes-Entity.csv").read_text(encoding="utf-8").splitlines()
    ada = next(line for line in lines if line.startswith('"ada"'))
    babbage = next(line for line in lines if line.startswith('"babbage"'))
    assert ada.endswith('"en",')  # null description: empty field, the importer sets no property
    assert babbage.endswith('"en",""')  # empty string: quoted
    assert ',,"en"' in babbage  # empty alias list: no property (the importer has no empty arrays)


def test_nasty_names_round_trip_through_csv(tmp_path: Path) -> None:
    export_neo4j_import(nasty_view(), tmp_path)
    entities = {row["id:ID(Entity)"]: row for row in _read(tmp_path / "nodes-Entity.csv")}
    for i, name in enumerate(NASTY):
        assert entities[f"n{i}"]["name"] == name
        assert entities[f"n{i}"]["aliases:string[]"] == name
    assert entities[NASTY_ID]["name"] == NASTY[0]
    predicates = {row["predicate"] for row in _read(tmp_path / "rels-RELATION.csv")}
    assert predicates == set(NASTY)
    (document,) = _read(tmp_path / "nodes-Document.csv")
    assert document["text"] == "\n".join(NASTY)  # newlines and quotes inside one quoted field


def test_array_delimiter_inside_an_alias_becomes_a_space(tmp_path: Path) -> None:
    rows = sample_rows()
    rows["entities"][0]["aliases"] = [f"a{NEO4J_ARRAY_DELIMITER}b", "c"]
    export_neo4j_import(GraphView.from_pylist(**rows), tmp_path)
    ada = next(r for r in _read(tmp_path / "nodes-Entity.csv") if r["id:ID(Entity)"] == "ada")
    assert ada["aliases:string[]"].split(NEO4J_ARRAY_DELIMITER) == ["a b", "c"]


def test_import_script_has_the_exact_command(tmp_path: Path) -> None:
    export_neo4j_import(sample_view(), tmp_path)
    script = (tmp_path / "import.sh").read_text(encoding="utf-8")
    assert '"$ADMIN" database import full' in script
    assert "--multiline-fields=true" in script and "--array-delimiter=U+001F" in script
    for name in HEADERS:
        option = "--nodes" if name.startswith("nodes-") else "--relationships"
        assert f'{option}="$DIR/{name}"' in script
    assert "CREATE CONSTRAINT kg_entity_id IF NOT EXISTS" in script
    assert (tmp_path / "import.sh").stat().st_mode & 0o100


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_special_doubles_use_java_spelling(tmp_path: Path, value: float) -> None:
    rows = sample_rows()
    rows["facts"][0]["confidence"] = value
    export_neo4j_import(GraphView.from_pylist(**rows), tmp_path)
    f1 = next(r for r in _read(tmp_path / "rels-RELATION.csv") if r["id"] == "f1")
    assert f1["confidence:double"] == ("NaN" if value != value else "Infinity")
