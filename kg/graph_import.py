"""`kg import`: bring an existing graph (RDF file, SPARQL endpoint, Neo4j) into the bundle.

Users with a curated graph start from it: imported entities get the same ids as extracted ones
(type + normalized name), so text extraction later adds facts to them instead of duplicating them.

Every import is recorded as one document (``source`` = ``import:<what>``, no text) that its facts cite
as evidence with ``source = "imported"``. So an import is idempotent (an unchanged source is skipped),
and re-importing a changed source replaces what the previous import of that source contributed.

Mapping from RDF:

* kg's own RDF (``kg export``) maps back exactly: entity IRIs, ``rdfs:label``/``skos:altLabel``,
  classes under ``<base>schema/``, predicates under ``<base>schema/`` (schema relations) and
  ``<base>open/`` (open relations); fact confidences come from their reification.
* Other RDF: a subject or object IRI is an entity named by ``rdfs:label``, ``skos:prefLabel``,
  ``schema:name`` or ``foaf:name`` (else the IRI's local name), typed by the local name of its first
  ``rdf:type`` class (else ``Thing``); every triple between two entity IRIs is a fact whose predicate is
  the property's local name (a schema relation when the schema has that name, else open). Literal
  attributes other than names/aliases/descriptions, blank nodes and RDF/RDFS/OWL vocabulary triples are
  skipped and counted in the summary.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyoxigraph as ox

from kg import model
from kg.errors import InputError
from kg.ids import entity_id, fact_id, stable_id
from kg.rdf import OWL, RDF, RDFS, SKOS, RdfMapping
from kg.schema import Schema
from kg.workspace import Workspace

EXTRACTOR = "import"
_NAME_PREDICATES = (RDFS + "label", SKOS + "prefLabel", "http://schema.org/name", "https://schema.org/name",
                    "http://xmlns.com/foaf/0.1/name")
_ALIAS_PREDICATES = (SKOS + "altLabel",)
_DESCRIPTION_PREDICATES = (RDFS + "comment", "http://schema.org/description", "https://schema.org/description")
# vocabulary namespaces whose triples describe the data model, not facts between entities
_MODEL_NAMESPACES = (RDF, RDFS, OWL, SKOS, "http://www.w3.org/ns/prov#", "http://www.w3.org/2001/XMLSchema#")
_DESCRIBING = frozenset((*_NAME_PREDICATES, *_ALIAS_PREDICATES, *_DESCRIPTION_PREDICATES, RDF + "type"))
_GENERIC_CLASSES = frozenset({OWL + "Thing", OWL + "NamedIndividual", RDFS + "Resource"})


@dataclass
class ImportSummary:
    """What an import did.

    Attributes:
        source: the ``import:...`` source recorded for it.
        entities: entities read.
        facts: facts read.
        skipped: reason -> count of triples/records that were not imported.
        batch: the committed batch id ('' when nothing changed).
        unchanged: the same source with the same content was already imported.
    """

    source: str
    entities: int = 0
    facts: int = 0
    skipped: Counter = field(default_factory=Counter)
    batch: str = ""
    unchanged: bool = False


@dataclass
class _Entity:
    name: str
    type: str
    aliases: list[str] = field(default_factory=list)
    lang: str = "und"
    description: str = ""


class GraphCollector:
    """Collects entities and facts from any source, keyed by the source's own node keys.

    Args:
        schema: the workspace schema; predicates named like one of its relations are not open.
    """

    def __init__(self, schema: Schema | None = None) -> None:
        self.relations = set(schema.relation_types) if schema else set()
        self.entities: dict[str, _Entity] = {}
        self.facts: dict[tuple[str, str, str], tuple[bool, float]] = {}
        self.skipped: Counter = Counter()

    def entity(self, key: str, name: str, type_: str, *, aliases: Iterable[str] = (), lang: str = "und",
               description: str = "") -> None:
        """Add (or complete) the entity known to the source as ``key``."""
        entity = self.entities.get(key)
        if entity is None:
            self.entities[key] = _Entity(name, type_ or "Thing", list(dict.fromkeys(aliases)), lang or "und",
                                         description)
            return
        entity.aliases = list(dict.fromkeys([*entity.aliases, *aliases]))

    def fact(self, subject: str, predicate: str, obj: str, *, open_: bool | None = None,
             confidence: float = 1.0) -> None:
        """Add a fact between two entity keys (entities must be added before :meth:`tables`)."""
        if open_ is None:
            open_ = predicate not in self.relations
        self.facts[(subject, predicate, obj)] = (open_, confidence)

    def tables(self, doc_id: str, batch: str) -> dict[str, pa.Table]:
        """Bundle tables (entities, mentions, evidence) for the import document ``doc_id``.

        Each entity gets a mention in the import document: that keeps entities without facts alive
        and lets a re-import retract what this one brought.
        """
        ids = {key: entity_id(e.type, e.name) for key, e in self.entities.items()}
        entities: dict[str, dict] = {}
        for key, e in sorted(self.entities.items()):
            row = entities.setdefault(ids[key], {
                "id": ids[key], "name": e.name, "type": e.type, "aliases": [], "lang": e.lang,
                "description": e.description, "batch": batch})
            # two source nodes with one name and type are one entity: keep every alias
            row["aliases"] = list(dict.fromkeys([*row["aliases"], *e.aliases]))
        mentions = [{"doc_id": doc_id, "sentence": 0, "start": 0, "end": 0, "text": row["name"],
                     "type": row["type"], "entity_id": row["id"], "extractor": EXTRACTOR, "confidence": 1.0,
                     "batch": batch} for row in entities.values()]
        evidence = []
        for (s, p, o), (open_, confidence) in sorted(self.facts.items()):
            if s not in ids or o not in ids:
                self.skipped["fact with an undescribed node"] += 1
                continue
            subject, obj = ids[s], ids[o]
            evidence.append({
                "fact_id": fact_id(subject, p, obj), "subject": subject, "predicate": p, "object": obj,
                "open": open_, "source": "imported", "doc_id": doc_id, "sentence": 0, "start": 0, "end": 0,
                "text": "", "extractor": EXTRACTOR, "confidence": confidence, "batch": batch})
        return {"entities": pa.Table.from_pylist(list(entities.values()), schema=model.ENTITIES),
                "mentions": pa.Table.from_pylist(mentions, schema=model.MENTIONS),
                "evidence": pa.Table.from_pylist(evidence, schema=model.EVIDENCE)}


# -- RDF ------------------------------------------------------------------------------------------


def local_name(iri: str) -> str:
    """The last path segment or fragment of an IRI, percent-decoded (the IRI itself if none)."""
    tail = iri.rstrip("/#")
    for sep in ("#", "/", ":"):
        if sep in tail:
            tail = tail.rsplit(sep, 1)[1]
            break
    return unquote(tail) or iri


def collect_rdf(triples: Iterable[ox.Triple | ox.Quad], mapping: RdfMapping,
                schema: Schema | None = None) -> GraphCollector:
    """Map RDF triples (any graph) to entities and facts (see the module docstring)."""
    triples = [t for t in triples]
    labels: dict[str, list[tuple[str, str]]] = {}
    aliases: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    classes: dict[str, list[str]] = {}
    statements: dict[str, dict[str, object]] = {}
    vocab = mapping.vocab_ns
    skip_types = {vocab + "Document", vocab + "Evidence", RDF + "Statement"}
    for t in triples:
        s, p, o = t.subject, t.predicate.value, t.object
        if not isinstance(s, ox.NamedNode):
            continue
        if p in _NAME_PREDICATES and isinstance(o, ox.Literal):
            labels.setdefault(s.value, []).append((o.value, o.language or "und"))
        elif p in _ALIAS_PREDICATES and isinstance(o, ox.Literal):
            aliases.setdefault(s.value, []).append(o.value)
        elif p in _DESCRIPTION_PREDICATES and isinstance(o, ox.Literal):
            descriptions.setdefault(s.value, o.value)
        elif p == RDF + "type" and isinstance(o, ox.NamedNode):
            classes.setdefault(s.value, []).append(o.value)
        elif p in (RDF + "subject", RDF + "predicate", RDF + "object", vocab + "confidence"):
            statements.setdefault(s.value, {})[p] = o
    skip_nodes = {node for node, types in classes.items() if skip_types & set(types)}
    confidence = {}
    for node, parts in statements.items():
        key = tuple(getattr(parts.get(RDF + part), "value", None) for part in ("subject", "predicate", "object"))
        value = parts.get(vocab + "confidence")
        if None not in key and isinstance(value, ox.Literal):
            confidence[key] = float(value.value)

    collector = GraphCollector(schema)

    def add_entity(iri: str) -> None:
        if iri in collector.entities:
            return
        names = sorted(labels.get(iri, []), key=lambda nl: (nl[1] not in ("en", "und"), nl))
        name, lang = names[0] if names else (local_name(iri), "und")
        typed = sorted(c for c in classes.get(iri, []) if c not in _GENERIC_CLASSES and c != vocab + "Entity")
        schema_typed = [c for c in typed if c.startswith(mapping.schema_ns)]
        type_ = local_name((schema_typed or typed)[0]) if typed else "Thing"
        collector.entity(iri, name, type_, aliases=[n for n, _ in names[1:]] + aliases.get(iri, []),
                         lang=lang, description=descriptions.get(iri, ""))

    for t in triples:
        s, p, o = t.subject, t.predicate.value, t.object
        if p in _DESCRIBING:
            continue  # read in the first pass
        if p.startswith(_MODEL_NAMESPACES) or p.startswith(vocab):
            ours = isinstance(s, ox.NamedNode) and s.value.startswith(mapping.base)
            if not ours:  # kg's own provenance triples are expected; others are worth reporting
                collector.skipped["model vocabulary triple"] += 1
            continue
        if not isinstance(s, ox.NamedNode) or not isinstance(o, ox.NamedNode):
            reason = "literal attribute" if isinstance(o, ox.Literal) else "blank node"
            collector.skipped[reason] += 1
            continue
        if s.value in skip_nodes or o.value in skip_nodes:
            continue  # kg's own documents, evidence and statements: provenance, not facts
        add_entity(s.value)
        add_entity(o.value)
        if p.startswith(mapping.schema_ns):
            predicate, open_ = p[len(mapping.schema_ns):], False
        elif p.startswith(mapping.open_ns):
            predicate, open_ = unquote(p[len(mapping.open_ns):]), True
        else:
            predicate, open_ = local_name(p), None
        collector.fact(s.value, predicate, o.value, open_=open_,
                       confidence=confidence.get((s.value, p, o.value), 1.0))
    # entities that only have names or types (no facts) are part of a curated graph too
    for iri in sorted(set(labels) | set(classes)):
        if iri not in skip_nodes and iri not in collector.entities and \
                not any(c.startswith(_MODEL_NAMESPACES) for c in classes.get(iri, [])) and \
                not iri.startswith((mapping.schema_ns, mapping.open_ns, vocab)):
            add_entity(iri)
    return collector


def read_rdf_file(path: Path) -> Iterator[ox.Triple | ox.Quad]:
    """Parse an RDF file in any format pyoxigraph knows from its extension.

    Raises:
        InputError: unknown extension or a syntax error (with its position).
    """
    fmt = ox.RdfFormat.from_extension(path.suffix.lstrip(".").lower())
    if fmt is None:
        raise InputError(f"cannot tell the RDF format of {path} from its extension; use .ttl, .nt, .nq, "
                         ".trig, .rdf or .jsonld")
    try:
        yield from ox.parse(path=str(path), format=fmt)
    except SyntaxError as exc:
        raise InputError(f"{path} is not valid {fmt.name}: {str(exc).splitlines()[0]}") from None


# -- commit ---------------------------------------------------------------------------------------


def commit_import(ws: Workspace, collector: GraphCollector, source: str, content_key: str) -> ImportSummary:
    """Commit the collected graph as one batch recorded under ``source``.

    Args:
        ws: an open workspace (locked by the caller).
        collector: what was read.
        source: ``import:<what>``; a later import of the same source replaces this one.
        content_key: a digest of the content; the same source and key is skipped as unchanged.
    """
    summary = ImportSummary(source=source, entities=len(collector.entities), facts=len(collector.facts),
                            skipped=collector.skipped)
    doc_id = stable_id("doc", source, content_key)
    ws.bundle.init()
    live = ws.bundle.live_documents()
    if doc_id in live:
        summary.unchanged = True
        return summary
    previous = [row["id"] for row in ws.bundle.live_table("documents").select(["id", "source"]).to_pylist()
                if row["source"] == source]
    batch = ws.bundle.next_batch_id()
    tables = collector.tables(doc_id, batch)
    tables["documents"] = pa.Table.from_pylist([{
        "id": doc_id, "source": source, "lang": "und", "text": "", "title": source,
        "meta": json.dumps({"imported": True, "entities": summary.entities, "facts": summary.facts}),
        "batch": batch}], schema=model.DOCUMENTS)
    tables["tombstones"] = pa.Table.from_pylist([{"doc_id": d, "batch": batch} for d in previous],
                                                schema=model.TOMBSTONES)
    ws.bundle.commit(batch, tables)
    summary.batch = batch
    return summary


def digest(data: bytes | str) -> str:
    """Content key of an import source."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()[:32]


# -- sources --------------------------------------------------------------------------------------

_KG_NODE_SKIP = frozenset({"Document", "Evidence"})
_KG_REL_SKIP = frozenset({"MENTIONED_IN", "FROM_DOCUMENT", "ABOUT"})
_NAME_PROPERTIES = ("name", "title", "label", "id")


def collect_neo4j(store, schema: Schema | None = None) -> GraphCollector:
    """Read every node and relationship of an opened Neo4j :class:`~kg.stores.base.GraphStore`.

    kg's own model (``Entity`` nodes, ``RELATION`` relationships with a ``predicate``) maps back
    exactly; in other graphs a node is named by its ``name``/``title``/``label``/``id`` property and
    typed by its first label, and a relationship's type is its predicate.
    """
    collector = GraphCollector(schema)
    skipped_nodes = set()
    nodes = store.query("MATCH (n) RETURN elementId(n) AS key, labels(n) AS labels, properties(n) AS props")
    for key, labels, props in nodes.rows:
        labels = sorted(labels or [])
        if _KG_NODE_SKIP & set(labels):
            skipped_nodes.add(key)
            continue
        name = next((str(props[p]) for p in _NAME_PROPERTIES if props.get(p) not in (None, "")), None)
        if name is None:
            collector.skipped["node without a name property"] += 1
            skipped_nodes.add(key)
            continue
        type_ = props.get("type") if "Entity" in labels and props.get("type") else \
            next((lab for lab in labels if lab != "Entity"), "Thing")
        aliases = props.get("aliases") or []
        collector.entity(key, props.get("name") or name, str(type_),
                         aliases=[str(a) for a in aliases] if isinstance(aliases, list) else [],
                         lang=str(props.get("lang") or "und"), description=str(props.get("description") or ""))
    rels = store.query("MATCH (a)-[r]->(b) RETURN elementId(a) AS s, type(r) AS t, properties(r) AS props, "
                       "elementId(b) AS o")
    for s, rel_type, props, o in rels.rows:
        if rel_type in _KG_REL_SKIP or s in skipped_nodes or o in skipped_nodes:
            continue
        if rel_type == "RELATION" and props.get("predicate"):
            collector.fact(s, str(props["predicate"]), o, open_=bool(props.get("open")),
                           confidence=float(props.get("confidence") or 1.0))
        else:
            collector.fact(s, rel_type, o)
    return collector


def fetch_sparql_ntriples(settings: dict, query_url: str = "") -> bytes:
    """Every triple of a SPARQL endpoint's default graph as N-Triples (a CONSTRUCT query).

    Raises:
        StoreError: the endpoint is unreachable, refuses the credentials or answers something else.
    """
    import httpx

    from kg.errors import StoreError

    url = query_url or settings.get("query_url", "")
    if not url:
        raise StoreError("no SPARQL endpoint: give its query URL or set [sparql] query_url in kg.toml")
    auth = (settings["user"], settings["password"]) if settings.get("user") else None
    try:
        response = httpx.post(url, data={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"},
                              headers={"Accept": "application/n-triples"}, auth=auth,
                              timeout=settings.get("timeout", 60.0))
    except httpx.HTTPError as exc:
        raise StoreError(f"cannot read from SPARQL endpoint {url} ({exc}); check that it runs and the URL "
                         "is its query endpoint") from None
    if response.status_code in (401, 403):
        raise StoreError(f"SPARQL endpoint {url} refused the credentials; set [sparql] user/password or "
                         "KG_SPARQL_USER/KG_SPARQL_PASSWORD")
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if response.status_code != 200 or kind not in ("application/n-triples", "text/plain"):
        raise StoreError(f"SPARQL endpoint {url} answered HTTP {response.status_code} ({kind or 'no type'}), "
                         "not N-Triples; check that the URL is its SPARQL query endpoint")
    return response.content


def import_graph(ws: Workspace, source: str, *, schema: Schema | None = None) -> ImportSummary:
    """Import ``source`` into the open, locked workspace ``ws``.

    Args:
        source: an RDF file path; ``sparql`` or an ``http(s)://`` SPARQL query URL; ``neo4j`` or a
            ``bolt://``/``neo4j://`` URI (other settings from ``[neo4j]``/``[sparql]`` and env).
        schema: the workspace schema (decides which predicates are schema relations).

    Raises:
        InputError: unreadable or invalid file. StoreError: the server cannot be read.
    """
    mapping = RdfMapping(ws.config.rdf.base_iri)
    if source == "sparql" or source.startswith(("http://", "https://")):
        settings = ws.config.backend_settings("sparql")
        url = "" if source == "sparql" else source
        data = fetch_sparql_ntriples(settings, url)
        collector = collect_rdf(ox.parse(data, format=ox.RdfFormat.N_TRIPLES), mapping, schema)
        return commit_import(ws, collector, f"import:sparql:{url or settings['query_url']}", digest(data))
    if source == "neo4j" or source.startswith(("bolt://", "neo4j://", "bolt+s://", "neo4j+s://")):
        from kg.stores import graph_store

        settings = ws.config.backend_settings("neo4j")
        if source != "neo4j":
            settings["uri"] = source
        with graph_store("neo4j", **{**settings, "read_only": True}) as store:
            collector = collect_neo4j(store, schema)
        return commit_import(ws, collector, f"import:neo4j:{settings['uri']}", _collector_digest(collector))
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source} is neither an RDF file nor 'sparql'/'neo4j' or an endpoint URL")
    collector = collect_rdf(read_rdf_file(path), mapping, schema)
    return commit_import(ws, collector, f"import:file:{path.resolve()}", digest(path.read_bytes()))


def _collector_digest(collector: GraphCollector) -> str:
    entities = sorted((k, e.name, e.type, tuple(e.aliases)) for k, e in collector.entities.items())
    return digest(json.dumps([entities, sorted(collector.facts.items())], default=str))
