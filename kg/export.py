"""`kg export`: the live graph as RDF (Turtle, N-Triples, JSON-LD), Parquet, CSV or CSV files for
``neo4j-admin database import``; the schema as OWL."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kg.errors import ConfigError
from kg.graph import GraphView
from kg.workspace import Workspace

RDF_FORMATS = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}


def export_workspace(ws: Workspace, output: str | Path, fmt: str) -> list[Path]:
    """Export the workspace's live graph (or its schema for ``fmt == "owl"``).

    Args:
        ws: an opened workspace.
        output: a file for RDF/OWL formats, a folder for ``parquet``/``csv`` (one file per table) and
            ``neo4j-import`` (see :func:`export_neo4j_import`).
        fmt: turtle, ntriples, jsonld, parquet, csv, neo4j-import or owl.

    Returns:
        The files written.
    """
    from kg.rdf import RdfMapping, schema_to_rdfs, serialize_view

    output = Path(output)
    mapping = RdfMapping(ws.config.rdf.base_iri)
    if fmt == "owl":
        from kg.build import load_workspace_schema

        output.parent.mkdir(parents=True, exist_ok=True)
        schema_to_rdfs(load_workspace_schema(ws), mapping).serialize(destination=output, format="turtle")
        return [output]
    view = ws.bundle.view()
    if fmt in RDF_FORMATS:
        return [serialize_view(view, output, RDF_FORMATS[fmt], mapping=mapping)]
    if fmt == "neo4j-import":
        return export_neo4j_import(view, output)
    if fmt not in ("parquet", "csv"):
        raise ConfigError(
            f"unknown export format {fmt!r}; use turtle, ntriples, jsonld, parquet, csv, neo4j-import, owl"
        )
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("documents", "entities", "facts", "evidence", "mentions"):
        table = getattr(view, name)
        path = output / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path)
        else:
            # CSV has no list type: aliases become one "|"-joined string
            if "aliases" in table.column_names:
                import pyarrow.compute as pc

                joined = pc.binary_join(table["aliases"], "|")
                table = table.set_column(table.column_names.index("aliases"), "aliases", joined)
            pacsv.write_csv(table, path)
        written.append(path)
    return written


# -- neo4j-admin database import ---------------------------------------------------------------------

# Between the elements of a list property (aliases). A unit separator, not the default ";", because
# names contain ";"; an alias holding it gets a space instead.
NEO4J_ARRAY_DELIMITER = "\x1f"
# (start label, end label) of each relationship type: the ID spaces of its :START_ID / :END_ID.
_NEO4J_ENDPOINTS = {
    "RELATION": ("Entity", "Entity"),
    "MENTIONED_IN": ("Entity", "Document"),
    "FROM_DOCUMENT": ("Evidence", "Document"),
    "ABOUT": ("Evidence", "Entity"),
}


def export_neo4j_import(view: GraphView, output: str | Path) -> list[Path]:
    """Write the graph as CSV files for ``neo4j-admin database import full``, plus ``import.sh``.

    The files hold the model of :mod:`kg.stores.ladybug` / :mod:`kg.stores.neo4j`, so a database built
    this way answers the same queries as one that ``kg sync`` filled. One node file per label
    (``nodes-Entity.csv`` …; header ``id:ID(Entity),:LABEL,name,…``, each label its own ID space) and
    one relationship file per type (``rels-RELATION.csv`` …; header
    ``:START_ID(Entity),:END_ID(Entity),:TYPE,…``).
    Typed headers (``:long``, ``:double``, ``:boolean``, ``:string[]``) keep property types. Every
    string is quoted with ``"`` doubled inside (RFC 4180) and may span lines (the command passes
    ``--multiline-fields=true``); an empty field is a missing (null) property, ``""`` an empty string.

    Args:
        view: the graph to write.
        output: folder for the files (created).

    Returns:
        The files written, ``import.sh`` last.
    """
    from kg.stores.base import normalize_view
    from kg.stores.cypher import arrow_tables

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in arrow_tables(normalize_view(view)).items():
        if name in _NEO4J_ENDPOINTS:
            start, end = _NEO4J_ENDPOINTS[name]
            ids = [f":START_ID({start})", f":END_ID({end})", ":TYPE"]
            path = output / f"rels-{name}.csv"
        else:
            ids = [f"id:ID({name})", ":LABEL"]
            path = output / f"nodes-{name}.csv"
        properties = table.column_names[2:] if name in _NEO4J_ENDPOINTS else table.column_names[1:]
        header = ids + [column + _neo4j_type(table.schema.field(column).type) for column in properties]
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write(",".join(header) + "\n")
            for batch in table.to_batches(max_chunksize=65_536):
                columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                for row in zip(*columns, strict=True):
                    key = row[:2] if name in _NEO4J_ENDPOINTS else row[:1]
                    fields = [*key, name, *row[len(key) :]]
                    out.write(",".join(_neo4j_field(value) for value in fields) + "\n")
        written.append(path)
    written.append(_neo4j_import_script(output, written))
    return written


def _neo4j_type(kind: pa.DataType) -> str:
    if pa.types.is_list(kind):
        return ":string[]"
    if pa.types.is_boolean(kind):
        return ":boolean"
    if pa.types.is_integer(kind):
        return ":long"
    if pa.types.is_floating(kind):
        return ":double"
    return ""


def _neo4j_field(value: object) -> str:
    """One CSV field: null -> empty (no property), strings always quoted (so "" is an empty string)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        # Java's Double.parseDouble spelling, which the importer uses.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        if not value:
            return ""  # the importer has no empty typed array: leave the property out
        value = NEO4J_ARRAY_DELIMITER.join(str(v).replace(NEO4J_ARRAY_DELIMITER, " ") for v in value)
    return '"' + str(value).replace('"', '""') + '"'


def _neo4j_import_script(output: Path, files: list[Path]) -> Path:
    from kg.stores.neo4j import SCHEMA_STATEMENTS

    nodes = " \\\n  ".join(f'--nodes="$DIR/{f.name}"' for f in files if f.name.startswith("nodes-"))
    rels = " \\\n  ".join(f'--relationships="$DIR/{f.name}"' for f in files if f.name.startswith("rels-"))
    schema = "\n".join(f"#   {statement};" for statement in SCHEMA_STATEMENTS)
    script = f"""#!/bin/sh
# Bulk-load this folder into a new Neo4j 5 database with neo4j-admin (written by `kg export
# --format neo4j-import`). Stop Neo4j (or use a database that does not exist yet), then run:
#
#   sh import.sh [database]          # database defaults to "neo4j"; NEO4J_HOME picks the install
#
# Add --overwrite-destination=true below to replace an existing database. After starting Neo4j
# (and `CREATE DATABASE <name>` for a new non-default one), kg creates its constraints and indexes
# the first time it opens the database for writing; or run these in cypher-shell:
{schema}
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
DATABASE=${{1:-neo4j}}
ADMIN=${{NEO4J_HOME:+$NEO4J_HOME/bin/}}neo4j-admin
"$ADMIN" database import full \\
  --id-type=string --multiline-fields=true --array-delimiter=U+001F \\
  {nodes} \\
  {rels} \\
  "$DATABASE"
"""
    path = output / "import.sh"
    path.write_text(script, encoding="utf-8")
    path.chmod(0o755)
    return path
