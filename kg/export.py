"""`kg export`: the live graph as RDF (Turtle, N-Triples, JSON-LD), Parquet or CSV; the schema as OWL."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kg.errors import ConfigError
from kg.workspace import Workspace

RDF_FORMATS = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}


def export_workspace(ws: Workspace, output: str | Path, fmt: str) -> list[Path]:
    """Export the workspace's live graph (or its schema for ``fmt == "owl"``).

    Args:
        ws: an opened workspace.
        output: a file for RDF/OWL formats, a folder for ``parquet``/``csv`` (one file per table).
        fmt: turtle, ntriples, jsonld, parquet, csv or owl.

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
    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"unknown export format {fmt!r}; use turtle, ntriples, jsonld, parquet, csv, owl")
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
