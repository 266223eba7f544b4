"""`kg synth` end to end: graph -> generators -> dedup -> decontamination -> replay mix -> files + card.

:func:`synthesize` reads the live graph (a workspace's bundle, or a :class:`GraphView` and schema),
plans the splits, runs the generators of the requested kinds (:data:`GENERATORS`), removes duplicates
and training records that leak evaluation prompts, mixes replay text into the pretraining text by
real tokens, and writes the dataset and its card (see :mod:`injection.synth.writers`).

The same graph, options and seed give byte-identical files, with any number of worker processes:
generators draw per unit (:meth:`Context.units`), workers forked for a kind generate their shards of
the units and the parent merges their records back into the one-process order, the training files
are shuffled with the seed, and the card holds no times, paths or worker counts.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import marshal
import multiprocessing
import operator
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from injection.synth.context import Context
from injection.synth.dedup import TEXT_KINDS, Decontaminator, decontaminate, dedup
from injection.synth.graph import LANGS, SynthGraph
from injection.synth.mix import ReplayStats, check_ratio, check_replay, mix_replay
from injection.synth.records import KINDS, SPLITS, Record
from injection.synth.splits import SplitPlan
from injection.synth.tokens import DEFAULT_TOKENIZER, TokenCounter
from injection.synth.warns import Warnings
from injection.synth.writers import check_format, write_card, write_dataset
from kg import __version__
from kg.errors import ConfigError, UnknownComponentError, WorkspaceError
from kg.graph import GraphView
from kg.schema import OPEN_SCHEMA, Schema
from kg.workspace import Workspace

Progress = Callable[[str, int, int], None]
"""Progress callback: (stage, completed, total); total 0 while unknown."""

_TICK = 200  # records between progress updates of a generator


@dataclass(frozen=True)
class SynthOptions:
    """Everything a synthesis run can be asked to do (the ``kg synth`` options).

    Attributes:
        kinds: kinds to generate (subset of :data:`~injection.synth.records.KINDS`).
        langs: languages to write.
        seed: seeds every random choice, the splits and the shuffles.
        eval_ratio: share of (subject, relation) groups whose questions are evaluation-only.
        heldout_ratio: share of entities kept out of training entirely.
        include_inferred: verbalize inferred (GNN-predicted) facts too.
        min_score: inferred facts below this score stay out even with ``include_inferred``.
        phrasings: CPT phrasings per fact.
        articles: CPT entity-centric articles per entity.
        paths: CPT multi-hop narratives (None: the generator's default).
        min_hops: shortest multi-hop narrative.
        max_hops: longest multi-hop narrative.
        mc_unrelated: unrelated wrong options per multiple-choice question (besides 3 close ones).
        refusal_ratio: refusals per language: ``round(refusal_ratio × usable (subject, relation)
            groups)`` (fewer, warned, when the graph has too few unsupported questions).
        replay: general-text file (.jsonl or .parquet) mixed into the CPT text; None for no replay.
        ratio: replay share of CPT tokens, in (0, 1).
        replay_field: the replay file's text field.
        format: ``jsonl`` or ``parquet``.
        tokenizer: tokenizer spec for token counts (see :mod:`injection.synth.tokens`).
        dedup: drop exact duplicates.
        near_dedup: also drop near duplicates (MinHash LSH).
        near_threshold: Jaccard similarity above which two records are near duplicates.
        decontaminate: drop training records that overlap evaluation prompts.
        paraphrase: paraphrasing of the CPT text (empty: none); see :func:`paraphraser`.
        workers: processes that generate records (forked; the files are the same for any number).
    """

    kinds: tuple[str, ...] = KINDS
    langs: tuple[str, ...] = LANGS
    seed: int = 0
    eval_ratio: float = 0.1
    heldout_ratio: float = 0.05
    include_inferred: bool = False
    min_score: float = 0.0
    phrasings: int = 3
    articles: int = 2
    paths: int | None = None
    min_hops: int = 2
    max_hops: int = 4
    mc_unrelated: int = 2
    refusal_ratio: float = 0.5
    replay: str | None = None
    ratio: float = 0.2
    replay_field: str = "text"
    format: str = "jsonl"
    tokenizer: str = DEFAULT_TOKENIZER
    dedup: bool = True
    near_dedup: bool = True
    near_threshold: float = 0.8
    decontaminate: bool = True
    paraphrase: Mapping[str, Any] = field(default_factory=dict)
    workers: int = 1

    def __post_init__(self) -> None:
        # canonical order, so `--kinds qa,cpt` and `--kinds cpt,qa` write the same files
        kinds = tuple(dict.fromkeys(k.strip() for k in self.kinds if k.strip()))
        for kind in kinds:
            if kind not in KINDS:
                raise UnknownComponentError("kind", kind, list(KINDS))
        if not kinds:
            raise ConfigError(f"no kinds given; choose from: {', '.join(KINDS)}")
        object.__setattr__(self, "kinds", tuple(k for k in KINDS if k in kinds))
        langs = tuple(dict.fromkeys(lang.strip() for lang in self.langs if lang.strip()))
        for lang in langs:
            if lang not in LANGS:
                raise UnknownComponentError("language", lang, list(LANGS))
        if not langs:
            raise ConfigError(f"no languages given; choose from: {', '.join(LANGS)}")
        object.__setattr__(self, "langs", langs)
        if self.replay is not None:
            object.__setattr__(self, "replay", str(self.replay))
        check_ratio(self.ratio)
        check_format(self.format)
        for name in ("eval_ratio", "heldout_ratio"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name.replace('_', '-')} must be in [0, 1), got {getattr(self, name)}")
        for name, low, high in (("min_score", 0.0, 1.0), ("refusal_ratio", 0.0, float("inf")),
                                ("near_threshold", 0.0, 1.0)):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(f"{name.replace('_', '-')} must be in [{low}, {high}], got {value}")
        for name in ("phrasings", "articles", "mc_unrelated", "min_hops", "max_hops"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.replace('_', '-')} must not be negative, got {getattr(self, name)}")
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}")
        if self.min_hops > self.max_hops:
            raise ConfigError(f"min-hops ({self.min_hops}) is larger than max-hops ({self.max_hops})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options (for the dataset card), without ``workers``: it changes no output."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "workers"}
        paraphrase = {}
        for key, value in sorted(self.paraphrase.items()):
            if any(secret in key for secret in ("key", "token", "password")):
                value = "***"  # the card is shared with the data; credentials stay out of it
            elif not isinstance(value, str | int | float | bool | None):
                value = getattr(value, "model_name", type(value).__name__)  # an engine instance
            paraphrase[key] = value
        data.update(kinds=list(self.kinds), langs=list(self.langs), paraphrase=paraphrase)
        return data


@dataclass
class SynthSummary:
    """What a synthesis run wrote.

    Attributes:
        out: the output folder.
        files: rows and tokens per written file (relative path -> {"rows", "tokens"}).
        records: records per split and kind.
        tokens: tokens per split and kind.
        langs: records per language.
        relations: records per relation (a record counts once for each relation it covers).
        dedup: duplicates removed, by reason.
        decontamination: training records removed for overlapping evaluation prompts, by reason.
        replay: replay statistics, None without replay.
        warnings: warning lines, most frequent first.
        card: the dataset card's data (``card.json``).
        seconds: wall time.
    """

    out: Path
    files: dict[str, dict[str, int]]
    records: dict[str, dict[str, int]]
    tokens: dict[str, dict[str, int]]
    langs: dict[str, int]
    relations: dict[str, int]
    dedup: dict[str, int]
    decontamination: dict[str, int]
    replay: ReplayStats | None
    warnings: list[str]
    card: dict[str, Any]
    seconds: float = 0.0


# -- generators --------------------------------------------------------------------------------------

Generator = Callable[[Context, SynthOptions], Iterable[Record]]


def _cpt(ctx: Context, options: SynthOptions) -> Iterable[Record]:
    from injection.synth import cpt

    return cpt.generate(ctx, phrasings=options.phrasings, articles=options.articles, paths=options.paths,
                        min_hops=options.min_hops, max_hops=options.max_hops)


def _qa(ctx: Context, options: SynthOptions) -> Iterable[Record]:
    from injection.synth import factuality

    return factuality.generate_qa(ctx)


def _tf(ctx: Context, options: SynthOptions) -> Iterable[Record]:
    from injection.synth import factuality

    return factuality.generate_tf(ctx)


def _mc(ctx: Context, options: SynthOptions) -> Iterable[Record]:
    from injection.synth import factuality

    return factuality.generate_mc(ctx, unrelated=options.mc_unrelated)


def _refusal(ctx: Context, options: SynthOptions) -> Iterable[Record]:
    from injection.synth import factuality

    return factuality.generate_refusals(ctx, ratio=options.refusal_ratio)


GENERATORS: dict[str, Generator] = {"cpt": _cpt, "qa": _qa, "tf": _tf, "mc": _mc, "refusal": _refusal}
"""Kind -> generator. Generator modules are imported on first use (they pull in heavier code)."""


def paraphraser(settings: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The paraphrase engine that ``settings`` (:attr:`SynthOptions.paraphrase`) ask for.

    ``engine`` names it (``auto``, ``llama.cpp``, ``transformers``, ``endpoint``; see
    :func:`injection.synth.paraphrase.make_paraphraser`) or is an engine instance; ``limit`` and
    ``batch_size`` go to :func:`injection.synth.paraphrase.paraphrase`; every other key goes to the
    engine's constructor. ``model`` ``smollm2`` (or none) is the packaged SmolLM2-135M-Instruct.

    Returns:
        (engine, keyword arguments of ``paraphrase``).
    """
    from injection.synth import paraphrase as module

    kwargs = dict(settings)
    run = {key: kwargs.pop(key) for key in ("limit", "batch_size") if key in kwargs}
    engine = kwargs.pop("engine", "auto")
    model = kwargs.pop("model", None)
    return module.make_paraphraser(model, engine, **kwargs), run


def _paraphrase(records: list[Record], ctx: Context, options: SynthOptions,
                progress: Progress) -> list[Record]:
    """The records plus paraphrases of their CPT text, when paraphrasing was asked for."""
    if not options.paraphrase:
        return records
    from injection.synth import paraphrase as module

    engine, run = paraphraser(options.paraphrase)
    made: list[Record] = []
    progress("paraphrase", 0, 0)
    for record in module.paraphrase(records, engine, ctx, **run):
        made.append(record)
        progress("paraphrase", len(made), 0)
    progress("paraphrase", len(made), len(made))
    return records + made


# -- the run -----------------------------------------------------------------------------------------

def read_graph(source: Workspace | GraphView, schema: Schema | None) -> tuple[GraphView, Schema]:
    """The live graph and schema ``kg synth`` works from (a workspace is read under its lock)."""
    if isinstance(source, GraphView):
        return source, schema or OPEN_SCHEMA
    from kg.build import load_workspace_schema

    source.lock()  # a build committing meanwhile would hand us half a batch
    try:
        return source.bundle.view(), schema or load_workspace_schema(source)
    finally:
        source.unlock()


def _no_facts(graph: SynthGraph, options: SynthOptions) -> WorkspaceError:
    inferred = sum(1 for f in graph.known if f.source == "inferred")
    if inferred and not options.include_inferred:
        hint = f"; its {inferred} inferred facts need --include-inferred"
    elif inferred:
        hint = f"; its {inferred} inferred facts all score below --min-score {options.min_score}"
    else:
        hint = ""
    return WorkspaceError(f"the workspace has no facts to synthesize from{hint}; run kg build first")


def _generate(ctx: Context, options: SynthOptions, progress: Progress) -> list[Record]:
    records: list[Record] = []
    for kind in options.kinds:
        records += generate_kind(ctx, options, kind, progress)
    return records


def generate_kind(ctx: Context, options: SynthOptions, kind: str,
                  progress: Progress | None = None) -> list[Record]:
    """The records of one kind, before cleaning, made by ``options.workers`` processes.

    Args:
        ctx: the run's context; the workers' warnings are merged into its warnings.
        options: the run's options (the kind's settings and ``workers``).
        kind: one of :data:`GENERATORS`.
        progress: optional callback (stage ``kind``).

    Returns:
        the records in the order one process makes them, whatever the number of workers.
    """
    progress = progress or (lambda stage, done, total: None)
    progress(kind, 0, 0)
    collecting = gc.isenabled()
    # records hold no reference cycles, and collector passes over the growing heap of new records
    # took about 40% of the generation time (cpt on a 100,000-fact graph)
    gc.disable()
    try:
        made = (_generate_forked(ctx, options, kind, progress) if options.workers > 1
                else list(_checked(GENERATORS[kind](ctx, options), kind, progress)))
    except ImportError as exc:
        raise ConfigError(f"kind {kind!r} is not available in this installation ({exc})") from None
    finally:
        if collecting:
            gc.enable()
    progress(kind, len(made), len(made))
    return made


def _checked(made: Iterable[Record], kind: str, progress: Progress, scale: int = 1) -> Iterator[Record]:
    """The generator's records, split-checked, with progress (``scale``: workers sharing the kind)."""
    for count, record in enumerate(made, 1):
        if record.split not in SPLITS:
            raise RuntimeError(f"the {kind} generator made a record with split {record.split!r}")
        if count % _TICK == 0:
            progress(kind, count * scale, 0)
        yield record


# -- worker processes ----------------------------------------------------------------------------------

_FORKED: tuple[Context, SynthOptions, str] | None = None
"""The work of forked workers, set just before forking: children inherit the graph, nothing is pickled."""

# records travel back as tuples of plain values in marshal form: about 3x faster than pickling Records,
# and a chunk at a time, so that a worker never holds more than a chunk of them unpacked
_PACK = operator.attrgetter(*(f.name for f in fields(Record)))
_CHUNK = 20_000


def _shard(index: int, count: int) -> tuple[list[bytes], Warnings]:
    """A worker's share of a kind: chunks of marshalled (position, packed record) pairs, and its warnings."""
    ctx, options, kind = _FORKED
    local = ctx.sharded(index, count)
    try:
        made = _checked(GENERATORS[kind](local, options), kind, lambda *args: None)
        # the position is read as each record comes: the unit it belongs to (see Context.units)
        positioned = ((local.position, _PACK(r)) for r in made)
        chunks = [marshal.dumps(chunk) for chunk in _batched(positioned, _CHUNK)]
        return chunks, local.warnings
    except Exception as exc:  # noqa: BLE001 - re-raised in the parent, as an error that survives pickling
        raise RuntimeError(f"synthesis worker {index} failed on {kind}: {type(exc).__name__}: "
                           f"{exc}") from None


def _generate_forked(ctx: Context, options: SynthOptions, kind: str, progress: Progress) -> list[Record]:
    """One kind generated by ``options.workers`` processes: the parent and ``workers - 1`` forked ones."""
    global _FORKED
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ConfigError("--workers above 1 needs the fork start method (Linux or macOS); use --workers 1")
    workers = options.workers
    _FORKED = (ctx, options, kind)
    try:
        with multiprocessing.get_context("fork").Pool(workers - 1) as pool:
            others = pool.starmap_async(_shard, [(i, workers) for i in range(1, workers)])
            local = ctx.sharded(0, workers)
            mine = [(local.position, r)
                    for r in _checked(GENERATORS[kind](local, options), kind, progress, workers)]
            parts = others.get()
    finally:
        _FORKED = None
    ctx.warnings.merge(local.warnings)
    for _, warnings in parts:
        ctx.warnings.merge(warnings)
    unpacked = [_unpacked(chunks) for chunks, _ in parts]
    return [record for _, record in heapq.merge(mine, *unpacked, key=operator.itemgetter(0))]


def _unpacked(chunks: list[bytes]) -> Iterator[tuple[tuple[int, int], Record]]:
    for chunk in chunks:
        for position, values in marshal.loads(chunk):
            yield position, Record(*values)


def _batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _nested(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for (split, kind), n in sorted(counter.items(), key=lambda kv: (SPLITS.index(kv[0][0]), kv[0][1])):
        nested.setdefault(split, {})[kind] = n
    return nested


def synthesize(source: Workspace | GraphView, out: str | Path, options: SynthOptions | None = None, *,
               schema: Schema | None = None, progress: Progress | None = None) -> SynthSummary:
    """Generate, clean, mix and write a synthetic dataset from a graph.

    Args:
        source: an opened workspace (its bundle and schema are read) or a live graph view.
        out: output folder (its ``train/``, ``eval/``, ``heldout/`` folders are replaced).
        options: what to generate; defaults to every kind in both languages.
        schema: domain schema; default the workspace's (or the open schema for a bare view).
        progress: optional callback for progress bars (one stage per kind, then the cleaning stages).

    Returns:
        The run's summary (also written as ``OUT/card.json`` and ``OUT/README.md``).

    Raises:
        ConfigError: invalid options (bad ratio, format, ...).
        UnknownComponentError: an unknown kind or language.
        InputError: an unreadable replay file or a missing replay field.
        WorkspaceError: the graph has no facts to synthesize from.
    """
    started = time.perf_counter()
    options = options or SynthOptions()
    progress = progress or (lambda stage, done, total: None)
    if options.replay is not None:
        if "cpt" not in options.kinds:
            raise ConfigError("--replay mixes general text into the CPT text; add cpt to --kinds")
        check_replay(options.replay, options.replay_field)  # fail before the generators run
    counter = TokenCounter(options.tokenizer)
    counter.tokenizer  # noqa: B018 - a bad --tokenizer fails now, not after the generators ran
    view, schema = read_graph(source, schema)
    graph = SynthGraph(view, schema, include_inferred=options.include_inferred, min_score=options.min_score)
    if not graph.facts:
        raise _no_facts(graph, options)
    ctx = Context(graph, SplitPlan(options.seed, options.eval_ratio, options.heldout_ratio),
                  langs=options.langs, seed=options.seed)
    records = _paraphrase(_generate(ctx, options, progress), ctx, options, progress)
    if not records:
        ctx.warnings.add(f"no records were generated for kinds {', '.join(options.kinds)} in languages "
                         f"{', '.join(options.langs)}: see the other warnings")

    removed_dup: Counter[str] = Counter()
    if options.dedup:
        progress("dedup", 0, len(records))
        records, removed_dup = dedup(records, near=options.near_dedup, threshold=options.near_threshold)
        progress("dedup", len(records), len(records))
    removed_leak: Counter[str] = Counter()
    probes = None
    if options.decontaminate:
        progress("decontam", 0, len(records))
        probes = Decontaminator(r for r in records if r.split != "train" and r.prompt)
        records, removed_leak = decontaminate(records, probes)
        progress("decontam", len(records), len(records))

    progress("tokens", 0, len(records))
    token_counts = dict(zip(map(id, records), counter.count([r.text for r in records]), strict=True))
    progress("tokens", len(records), len(records))
    replay_stats = None
    if options.replay is not None:
        synthetic = sum(token_counts[id(r)] for r in records if r.split == "train" and r.kind in TEXT_KINDS)
        progress("replay", 0, 1)
        replay, replay_stats = mix_replay(
            options.replay, synthetic, options.ratio, counter, field=options.replay_field,
            warnings=ctx.warnings,
            reject=(lambda text: bool(probes.matches(text))) if probes else None)
        token_counts.update(zip(map(id, replay), counter.count([r.text for r in replay]), strict=True))
        records += replay
        progress("replay", 1, 1)

    # training files are shuffled so a trainer reading them in order still sees every kind mixed
    train = [r for r in records if r.split == "train"]
    rng = ctx.rng("shuffle")
    text = [r for r in train if r.kind in TEXT_KINDS]
    questions = [r for r in train if r.kind not in TEXT_KINDS]
    rng.shuffle(text)
    rng.shuffle(questions)
    records = text + questions + [r for r in records if r.split != "train"]

    progress("write", 0, len(records))
    written = write_dataset(out, records, options.format)
    progress("write", len(records), len(records))
    summary = _summarize(Path(out), written, records, token_counts, graph, options, removed_dup, removed_leak,
                         replay_stats, ctx)
    write_card(out, summary.card)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _summarize(out: Path, written: dict[str, list[Record]], records: Sequence[Record],
               token_counts: dict[int, int], graph: SynthGraph, options: SynthOptions,
               removed_dup: Counter[str], removed_leak: Counter[str], replay: ReplayStats | None,
               ctx: Context) -> SynthSummary:
    predicates = {f.id: f.predicate for f in graph.known}
    per_kind: Counter[tuple[str, str]] = Counter((r.split, r.kind) for r in records)
    kind_tokens: Counter[tuple[str, str]] = Counter()
    for r in records:
        kind_tokens[(r.split, r.kind)] += token_counts[id(r)]
    langs = Counter(r.lang for r in records)
    styles = Counter(f"{r.kind}/{r.style}" if r.style else r.kind for r in records)
    relations = Counter(p for r in records for p in {predicates[f] for f in r.facts if f in predicates})
    files = {rel: {"rows": len(group), "tokens": sum(token_counts[id(r)] for r in group)}
             for rel, group in written.items()}
    warnings = ctx.warnings.lines()
    card = {
        "title": "kg synth dataset",
        "kg_version": __version__,
        "seed": options.seed,
        "tokenizer": options.tokenizer,
        "languages": sorted(lang for lang in langs if lang in LANGS),
        "graph": {"entities": len(graph.entities), "facts": len(graph.facts),
                  "known_facts": len(graph.known)},
        "files": files,
        "counts": {"split_kind": _nested(per_kind), "lang": dict(sorted(langs.items())),
                   "style": dict(sorted(styles.items())), "relation": dict(sorted(relations.items()))},
        "tokens": {"total": sum(kind_tokens.values()), "split_kind": _nested(kind_tokens)},
        "dedup": dict(sorted(removed_dup.items())),
        "decontamination": dict(sorted(removed_leak.items())),
        "replay": asdict(replay) if replay else None,
        "warnings": warnings,
        "warning_relations": ctx.warnings.relations(),
        "options": options.to_dict(),
    }
    return SynthSummary(out=out, files=files, records=card["counts"]["split_kind"],
                        tokens=card["tokens"]["split_kind"], langs=card["counts"]["lang"],
                        relations=card["counts"]["relation"], dedup=card["dedup"],
                        decontamination=card["decontamination"], replay=replay, warnings=warnings, card=card)


__all__ = ["GENERATORS", "SynthOptions", "SynthSummary", "generate_kind", "paraphraser",
           "synthesize"]
