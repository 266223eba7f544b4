"""Graph -> tensors for link prediction: id maps, splits with leakage checks, type pools, benchmark sets.

A :class:`KGData` holds everything a model, the trainer and the evaluator need:

* deterministic id maps: ``entities`` (sorted entity ids), ``relations`` (sorted predicates),
  ``types`` (sorted entity type names) and ``entity_type[e]``;
* ``train`` / ``valid`` / ``test`` triples as ``LongTensor[T, 3]`` of ``(head, relation, tail)``;
* inverse relations: relation ``r + R`` is the inverse of ``r``. Message passing runs over both
  directions (:meth:`KGData.message_graph`), and reciprocal models answer a head query ``(?, r, t)``
  as the tail query ``(t, r + R, ?)``;
* optional per-entity text features (``text_features[N, F]``) from a caller-supplied embedder;
* optional relation signatures (domain/range entity types) for type-constrained negative sampling;
* a :class:`SplitReport` saying what the split did: leaks, entities unseen in training, isolated
  entities, self-loops, relations with a single triple.

Only facts read from text or imported train a model; ``source == "inferred"`` facts (written by an
earlier ``kg complete``) are never training data, so a model cannot learn its own guesses.

Splits hold out whole *groups*: a triple, its reverse ``(t, r, h)`` and, for relation pairs that
behave as inverses of each other (``(t, r2, h)`` exists for most ``(h, r, t)``), the inverse triple.
So no validation/test triple or its inverse is in train (the WN18/FB15k test-leakage problem), and
a held-out group is only taken when every entity and relation keeps a training triple.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from kg.errors import GraphDataError

MIN_SPLIT_FACTS = 10
"""Fewest distinct training facts a graph needs before it can be split into train/valid/test."""

UNKNOWN_TYPE = "Unknown"
PYKEEN_DATASETS = ("nations", "kinships", "umls")

TextEmbedder = Callable[[list[str]], "np.ndarray | Tensor"]
"""Maps entity texts (``"name: description"``) to an array ``[len(texts), F]``."""


@dataclass
class SplitReport:
    """What building and splitting the data found (every list is of entity/relation *labels*).

    Attributes:
        facts_total: fact rows in the input.
        facts_used: distinct (subject, predicate, object) triples used (inferred facts and
            duplicates removed).
        inferred_skipped: rows with ``source == "inferred"`` that were left out.
        leaks: held-out triples whose duplicate, reverse ``(t, r, h)`` or inverse-relation triple
            is in train, as ``(split, head, relation, tail)``. Empty for splits made here; fixed
            benchmark splits may have some (reported, not fixed).
        unseen_entities: split -> entities in that split that never occur in train.
        isolated_entities: entities with no fact at all (kept in the id map, never in a triple).
        self_loops: number of ``(e, r, e)`` triples.
        single_triple_relations: relations with exactly one triple (always kept in train).
        inverse_relations: detected ``(r, r2)`` pairs where r2 behaves as the inverse of r.
    """

    facts_total: int = 0
    facts_used: int = 0
    inferred_skipped: int = 0
    leaks: list[tuple[str, str, str, str]] = field(default_factory=list)
    unseen_entities: dict[str, list[str]] = field(default_factory=dict)
    isolated_entities: list[str] = field(default_factory=list)
    self_loops: int = 0
    single_triple_relations: list[str] = field(default_factory=list)
    inverse_relations: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines (for the CLI)."""
        out = [(f"facts: {self.facts_used} distinct used of {self.facts_total} rows "
                f"({self.inferred_skipped} inferred skipped)")]
        if self.leaks:
            out.append(f"leaks: {len(self.leaks)} held-out triples have their reverse/inverse in train")
        for split, ents in self.unseen_entities.items():
            if ents:
                out.append(f"{split}: {len(ents)} entities never seen in train (e.g. {ents[:3]})")
        if self.isolated_entities:
            out.append(f"isolated entities (no facts, cannot be predicted): {len(self.isolated_entities)}")
        if self.self_loops:
            out.append(f"self-loops: {self.self_loops}")
        if self.single_triple_relations:
            out.append(f"relations with one triple (train only): {len(self.single_triple_relations)}")
        if self.inverse_relations:
            out.append(f"inverse relation pairs kept in the same split: {len(self.inverse_relations)}")
        return out


@dataclass
class KGData:
    """Link-prediction data of one graph (see the module docstring).

    Attributes:
        entities: ``[N]`` entity ids (sorted); index = entity id in tensors.
        relations: ``[R]`` relation names (sorted); ``r + R`` is the inverse of ``r``.
        types: sorted entity type names.
        entity_type: ``LongTensor[N]`` index into ``types``.
        train, valid, test: ``LongTensor[T, 3]`` of ``(head, relation, tail)`` with ``relation < R``.
        relation_domain, relation_range: per relation, a list of allowed entity-type indices
            (empty = unconstrained), or None when no signatures are known.
        text_features: optional ``FloatTensor[N, F]``.
        entity_names: optional display names aligned with ``entities``.
        name: a label for reports.
        report: what the split found.
    """

    entities: list[str]
    relations: list[str]
    types: list[str]
    entity_type: Tensor
    train: Tensor
    valid: Tensor
    test: Tensor
    relation_domain: list[list[int]] | None = None
    relation_range: list[list[int]] | None = None
    text_features: Tensor | None = None
    entity_names: list[str] | None = None
    name: str = "graph"
    report: SplitReport = field(default_factory=SplitReport)

    # --- sizes and ids -------------------------------------------------------------------------------
    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        """Number of base relations R (the model sees 2R with inverses)."""
        return len(self.relations)

    @property
    def num_types(self) -> int:
        return len(self.types)

    @property
    def fingerprint(self) -> str:
        """Hash of the entity and relation id maps: a model only fits data with the same one."""
        digest = hashlib.sha256()
        for part in (self.entities, self.relations):
            digest.update(str(len(part)).encode())
            for label in part:
                digest.update(b"\x1f" + label.encode("utf-8"))
        return digest.hexdigest()[:16]

    def entity_index(self) -> dict[str, int]:
        return {e: i for i, e in enumerate(self.entities)}

    def relation_index(self) -> dict[str, int]:
        return {r: i for i, r in enumerate(self.relations)}

    def encode_triples(self, triples: Iterable[tuple[str, str, str]]) -> Tensor:
        """Map ``(subject, predicate, object)`` labels to a ``LongTensor[T, 3]``.

        Raises:
            GraphDataError: a label is not in the id maps (the message names the first few).
        """
        ents, rels = self.entity_index(), self.relation_index()
        rows, missing = [], []
        for s, p, o in triples:
            try:
                rows.append((ents[s], rels[p], ents[o]))
            except KeyError:
                missing.append((s, p, o))
        if missing:
            raise GraphDataError(
                f"{len(missing)} triples use entities or relations this model does not know "
                f"(e.g. {missing[:3]}); retrain on the current graph (`kg complete` without --model)")
        return torch.tensor(rows, dtype=torch.long).view(-1, 3)

    def decode_triples(self, triples: Tensor) -> list[tuple[str, str, str]]:
        """Inverse of :meth:`encode_triples` (relations must be base relations ``< R``)."""
        return [(self.entities[h], self.relations[r], self.entities[t]) for h, r, t in triples.tolist()]

    # --- graph views ---------------------------------------------------------------------------------
    def all_triples(self) -> Tensor:
        """``LongTensor[T, 3]``: train + valid + test (the known-true set for filtering)."""
        return torch.cat([self.train, self.valid, self.test])

    def message_graph(self) -> tuple[Tensor, Tensor]:
        """Training edges in both directions for message passing.

        Returns:
            ``edge_index[2, 2T]`` (row 0 = source, row 1 = target) and ``edge_type[2T]`` where a
            fact ``(h, r, t)`` gives ``h -> t`` typed ``r`` and ``t -> h`` typed ``r + R``.
        """
        h, r, t = self.train.t()
        edge_index = torch.stack([torch.cat([h, t]), torch.cat([t, h])])
        edge_type = torch.cat([r, r + self.num_relations])
        return edge_index, edge_type

    def with_reciprocals(self, triples: Tensor) -> Tensor:
        """``[T, 3] -> [2T, 3]``: each ``(h, r, t)`` plus ``(t, r + R, h)``."""
        inv = torch.stack([triples[:, 2], triples[:, 1] + self.num_relations, triples[:, 0]], dim=1)
        return torch.cat([triples, inv])

    def seen_in_train(self) -> Tensor:
        """``BoolTensor[N]``: entities that occur in a training triple."""
        seen = torch.zeros(self.num_entities, dtype=torch.bool)
        seen[self.train[:, 0]] = True
        seen[self.train[:, 2]] = True
        return seen

    def candidate_pools(self, *, source: str = "schema") -> tuple[Tensor, Tensor] | None:
        """Allowed tail entities per query relation, for type-constrained negatives and proposals.

        Args:
            source: ``"schema"`` uses ``relation_domain``/``relation_range`` (None when unknown);
                ``"observed"`` allows, per relation, the entity types seen in that role in train.

        Returns:
            ``(ptr[2R + 1], ids[M])`` in CSR form: the allowed tails of query relation ``q``
            (``q < R``: range of ``q``; ``q >= R``: domain of ``q - R``) are
            ``ids[ptr[q]:ptr[q + 1]]``. An unconstrained relation lists every entity.
        """
        R = self.num_relations
        if source == "schema":
            if self.relation_domain is None or self.relation_range is None:
                return None
            ranges, domains = self.relation_range, self.relation_domain
        elif source == "observed":
            ranges, domains = [set() for _ in range(R)], [set() for _ in range(R)]
            etype = self.entity_type
            for h, r, t in torch.stack([etype[self.train[:, 0]], self.train[:, 1],
                                        etype[self.train[:, 2]]], 1).unique(dim=0).tolist():
                domains[r].add(h)
                ranges[r].add(t)
            ranges, domains = [sorted(s) for s in ranges], [sorted(s) for s in domains]
        else:
            raise GraphDataError(f"unknown candidate source {source!r}; use 'schema' or 'observed'")
        by_type = [torch.nonzero(self.entity_type == k).view(-1) for k in range(self.num_types)]
        everyone = torch.arange(self.num_entities)
        pools = []
        for allowed in [*ranges, *domains]:
            pool = torch.cat([by_type[k] for k in allowed]) if allowed else everyone
            pools.append(pool if pool.numel() else everyone)
        ptr = torch.tensor([0, *np.cumsum([p.numel() for p in pools]).tolist()], dtype=torch.long)
        return ptr, torch.cat(pools)

    def summary(self) -> dict[str, int | str]:
        return {"name": self.name, "entities": self.num_entities, "relations": self.num_relations,
                "types": self.num_types, "train": len(self.train), "valid": len(self.valid),
                "test": len(self.test)}


# --- building from a graph ---------------------------------------------------------------------------


def from_graph(
    view,
    *,
    schema=None,
    seed: int = 0,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    text_embedder: TextEmbedder | None = None,
    inverse_threshold: float = 0.9,
    name: str = "graph",
) -> KGData:
    """Turn a :class:`kg.graph.GraphView` into split link-prediction data.

    Args:
        view: the live graph (``facts`` with subject/predicate/object/source, ``entities`` with type).
        schema: optional :class:`kg.schema.Schema`; its relation domain/range give type constraints.
        seed: split seed; the same graph and seed always give the same split.
        valid_fraction, test_fraction: target share of triples held out for each.
        text_embedder: optional hook mapping ``"name: description"`` texts to features ``[N, F]``.
        inverse_threshold: share of a relation's triples whose inverse must exist under another
            relation for the pair to be treated as inverses (kept in the same split).
        name: label for reports.

    Raises:
        GraphDataError: fewer than :data:`MIN_SPLIT_FACTS` usable facts, or no triple can be held out
            without leaving an entity or relation out of train.
    """
    facts = view.facts.select(["subject", "predicate", "object", "source"]).to_pydict()
    total = len(facts["subject"])
    keep = [src != "inferred" for src in facts["source"]]
    rows = sorted({(s, p, o) for s, p, o, k in zip(facts["subject"], facts["predicate"], facts["object"], keep)
                   if k and s is not None and p is not None and o is not None})
    if len(rows) < MIN_SPLIT_FACTS:
        raise GraphDataError(
            f"the graph has {len(rows)} distinct extracted/imported facts; link prediction needs at least "
            f"{MIN_SPLIT_FACTS} to hold out validation and test facts — build from a larger corpus first")

    ent_rows = view.entities.select(["id", "name", "type", "description"]).to_pylist()
    info = {row["id"]: row for row in ent_rows}
    entities = sorted(set(info) | {s for s, _, _ in rows} | {o for _, _, o in rows})
    relations = sorted({p for _, p, _ in rows})
    type_of = [(info.get(e) or {}).get("type") or UNKNOWN_TYPE for e in entities]
    types = sorted(set(type_of) | ({*schema.entity_types} if schema is not None else set()))
    type_index = {t: i for i, t in enumerate(types)}
    ent_index = {e: i for i, e in enumerate(entities)}
    rel_index = {r: i for i, r in enumerate(relations)}
    triples = np.array([(ent_index[s], rel_index[p], ent_index[o]) for s, p, o in rows], dtype=np.int64)

    domain = range_ = None
    if schema is not None:
        domain, range_ = [], []
        for rel in relations:
            sig = schema.relation_types.get(rel)
            domain.append([type_index[sig.domain]] if sig else [])
            range_.append([type_index[sig.range]] if sig else [])

    inverse_pairs = detect_inverse_relations(triples, inverse_threshold)
    train, valid, test = split_triples(triples, num_entities=len(entities), seed=seed,
                                       valid_fraction=valid_fraction, test_fraction=test_fraction,
                                       inverse_pairs=inverse_pairs)
    names = [(info.get(e) or {}).get("name") or e for e in entities]
    text = None
    if text_embedder is not None:
        texts = [n + (f": {d}" if (d := (info.get(e) or {}).get("description")) else "")
                 for e, n in zip(entities, names)]
        text = torch.as_tensor(np.asarray(text_embedder(texts)), dtype=torch.float32)
        if text.shape[0] != len(entities):
            raise GraphDataError(f"text_embedder returned {text.shape[0]} rows for {len(entities)} "
                                 "entities; it must return one feature row per input text")
    data = KGData(
        entities=entities, relations=relations, types=types,
        entity_type=torch.tensor([type_index[t] for t in type_of], dtype=torch.long),
        train=torch.from_numpy(train), valid=torch.from_numpy(valid), test=torch.from_numpy(test),
        relation_domain=domain, relation_range=range_, text_features=text, entity_names=names, name=name,
    )
    data.report = build_report(data, inverse_pairs)
    data.report.facts_total = total
    data.report.inferred_skipped = sum(not k for k in keep)
    if data.report.leaks:  # the split above guarantees none; anything else is a bug
        raise AssertionError(f"split leaked {len(data.report.leaks)} triples")
    return data


def detect_inverse_relations(triples: np.ndarray, threshold: float = 0.9) -> list[tuple[int, int]]:
    """Relation pairs ``(r, r2)``, ``r != r2``, where ``(t, r2, h)`` exists for at least ``threshold`` of
    the triples ``(h, r, t)`` (and vice versa). Returned in both orders.

    Args:
        triples: ``[T, 3]`` int array.
    """
    if threshold > 1 or len(triples) == 0:
        return []
    by_pair: dict[tuple[int, int], set[int]] = defaultdict(set)
    for h, r, t in triples.tolist():
        by_pair[(h, t)].add(r)
    counts = Counter(triples[:, 1].tolist())
    hits: Counter = Counter()
    for h, r, t in triples.tolist():
        for r2 in by_pair.get((t, h), ()):
            if r2 != r:
                hits[(r, r2)] += 1
    return sorted((r, r2) for (r, r2), n in hits.items()
                  if n >= threshold * counts[r] and hits[(r2, r)] >= threshold * counts[r2])


def split_triples(
    triples: np.ndarray,
    *,
    num_entities: int,
    seed: int = 0,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    inverse_pairs: Sequence[tuple[int, int]] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split distinct triples into train/valid/test without leakage (see the module docstring).

    Args:
        triples: ``[T, 3]`` int array of distinct ``(h, r, t)``.
        num_entities: N.
        inverse_pairs: relation pairs treated as inverses (both orders).

    Returns:
        ``train[T1, 3]``, ``valid[T2, 3]``, ``test[T3, 3]``; order is deterministic for a seed.

    Raises:
        GraphDataError: too few triples, or nothing can be held out.
    """
    n = len(triples)
    if n < MIN_SPLIT_FACTS:
        raise GraphDataError(f"{n} facts cannot be split; at least {MIN_SPLIT_FACTS} are needed")
    order = np.lexsort((triples[:, 2], triples[:, 1], triples[:, 0]))
    triples = triples[order]
    index = {tuple(row): i for i, row in enumerate(triples.tolist())}
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    partners = defaultdict(list)
    for r, r2 in inverse_pairs:
        partners[r].append(r2)
    for i, (h, r, t) in enumerate(triples.tolist()):
        for rel in (r, *partners.get(r, ())):
            j = index.get((t, rel, h))
            if j is not None:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    group_list = list(groups.values())
    rng = np.random.default_rng(seed)
    rng.shuffle(group_list)

    n_test = max(1, round(test_fraction * n))
    n_valid = max(1, round(valid_fraction * n))
    ent_count = np.bincount(np.concatenate([triples[:, 0], triples[:, 2]]), minlength=num_entities)
    # a self-loop counts twice above; that is fine: the entity still needs another triple to be held out
    rel_count = np.bincount(triples[:, 1])
    assign = np.zeros(n, dtype=np.int8)  # 0 train, 1 valid, 2 test
    taken = {1: 0, 2: 0}
    for members in group_list:
        target = 2 if taken[2] < n_test else 1 if taken[1] < n_valid else 0
        if target == 0:
            break
        rows = triples[members]
        ent_need = Counter(rows[:, 0].tolist()) + Counter(rows[:, 2].tolist())
        rel_need = Counter(rows[:, 1].tolist())
        if any(ent_count[e] - c < 1 for e, c in ent_need.items()) or \
                any(rel_count[r] - c < 1 for r, c in rel_need.items()):
            continue
        for e, c in ent_need.items():
            ent_count[e] -= c
        for r, c in rel_need.items():
            rel_count[r] -= c
        assign[members] = target
        taken[target] += len(members)
    if taken[1] == 0 or taken[2] == 0:
        raise GraphDataError(
            f"could not hold out validation and test facts from {n} facts: every fact is the only link of "
            "some entity or relation (a tree-like or very sparse graph); add more documents so entities "
            f"have at least two facts, and keep at least {MIN_SPLIT_FACTS} facts")
    return triples[assign == 0], triples[assign == 1], triples[assign == 2]


def find_leaks(train: Tensor, heldout: Tensor, inverse_pairs: Sequence[tuple[int, int]] = ()) -> list[int]:
    """Rows of ``heldout`` whose duplicate, reverse ``(t, r, h)`` or inverse-relation triple is in ``train``.

    A symmetric-looking pair ``(a, r, b)``/``(b, r, a)`` split across train and test lets a model answer
    the test triple by copying the train one, which inflates metrics.
    """
    known = set(map(tuple, train.tolist()))
    partners = defaultdict(list)
    for r, r2 in inverse_pairs:
        partners[r].append(r2)
    leaks = []
    for i, (h, r, t) in enumerate(heldout.tolist()):
        if (h, r, t) in known or any((t, rel, h) in known for rel in (r, *partners.get(r, ()))):
            leaks.append(i)
    return leaks


def build_report(data: KGData, inverse_pairs: Sequence[tuple[int, int]] = ()) -> SplitReport:
    """Check a split for leaks and unseen entities and describe the graph's awkward parts."""
    ents, rels = data.entities, data.relations
    report = SplitReport(facts_total=len(data.all_triples()), facts_used=len(data.all_triples()))
    seen = data.seen_in_train()
    for split in ("valid", "test"):
        triples = getattr(data, split)
        for i in find_leaks(data.train, triples, inverse_pairs):
            h, r, t = triples[i].tolist()
            report.leaks.append((split, ents[h], rels[r], ents[t]))
        used = torch.unique(triples[:, [0, 2]]) if len(triples) else torch.empty(0, dtype=torch.long)
        report.unseen_entities[split] = [ents[e] for e in used[~seen[used]].tolist()]
    every = data.all_triples()
    touched = torch.zeros(data.num_entities, dtype=torch.bool)
    touched[every[:, 0]] = True
    touched[every[:, 2]] = True
    report.isolated_entities = [ents[e] for e in torch.nonzero(~touched).view(-1).tolist()]
    report.self_loops = int((every[:, 0] == every[:, 2]).sum())
    rel_counts = torch.bincount(every[:, 1], minlength=data.num_relations)
    report.single_triple_relations = [rels[r] for r in torch.nonzero(rel_counts == 1).view(-1).tolist()]
    report.inverse_relations = [(rels[a], rels[b]) for a, b in inverse_pairs if a < b]
    return report


# --- fixed benchmark datasets ------------------------------------------------------------------------


def pykeen_dataset_dir(name: str) -> Path:
    """Folder of a dataset's split files inside the installed ``pykeen`` package (not imported)."""
    key = name.lower()
    if key not in PYKEEN_DATASETS:
        from kg.errors import UnknownComponentError

        raise UnknownComponentError("dataset", name, list(PYKEEN_DATASETS))
    spec = importlib.util.find_spec("pykeen")
    if spec is None or not spec.submodule_search_locations:
        raise GraphDataError(f"dataset {name!r} ships inside the pykeen wheel; pip install 'kg[bench]'")
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / key
    if not (folder / "train.txt").exists():
        raise GraphDataError(f"no split files in {folder}; reinstall pykeen (pip install 'kg[bench]')")
    return folder


def read_split_files(folder: str | Path, *, name: str | None = None) -> KGData:
    """Load tab-separated ``train.txt``/``valid.txt``/``test.txt`` label triples (fixed splits).

    Ids are the sorted labels (as PyKEEN does), every entity gets the single type ``Thing``; the
    split is used as is and leaks/unseen entities are only reported.
    """
    folder = Path(folder)
    parts = {}
    for split in ("train", "valid", "test"):
        lines = (folder / f"{split}.txt").read_text(encoding="utf-8").splitlines()
        parts[split] = [tuple(line.split("\t")) for line in lines if line.strip()]
    labels = [row for rows in parts.values() for row in rows]
    entities = sorted({h for h, _, _ in labels} | {t for _, _, t in labels})
    relations = sorted({r for _, r, _ in labels})
    ents = {e: i for i, e in enumerate(entities)}
    rels = {r: i for i, r in enumerate(relations)}

    def encode(rows):
        return torch.tensor([(ents[h], rels[r], ents[t]) for h, r, t in rows], dtype=torch.long).view(-1, 3)

    data = KGData(entities=entities, relations=relations, types=["Thing"],
                  entity_type=torch.zeros(len(entities), dtype=torch.long),
                  train=encode(parts["train"]), valid=encode(parts["valid"]), test=encode(parts["test"]),
                  entity_names=list(entities), name=name or folder.name)
    data.report = build_report(data, detect_inverse_relations(data.all_triples().numpy()))
    return data


def load_pykeen_dataset(name: str) -> KGData:
    """Nations, Kinships or UMLS from the split files the ``pykeen`` wheel ships (no download)."""
    return read_split_files(pykeen_dataset_dir(name), name=name.lower())
