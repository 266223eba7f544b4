"""The `kg` command line: thin typer wrappers over importable functions.

Only this module turns exceptions into exit codes: a :class:`kg.errors.KGError` prints one line that
says what to do and exits with the error's code; anything else is a bug and shows a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kg.errors import KGError, QueryError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="Build a knowledge graph from a corpus, query it, and turn it into training data.")
query_app = typer.Typer(no_args_is_help=True, help="Run Cypher or SPARQL against the workspace stores.")
app.add_typer(query_app, name="query")
console = Console(stderr=True)
out = Console()

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")]


class OutputFormat(str, Enum):
    """Result formats of `kg query`."""

    table = "table"
    json = "json"
    csv = "csv"


def _fail(exc: KGError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def _progress_bar() -> tuple[Progress, Callable[[str, int, int], None]]:
    bar = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, transient=False)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    return bar, update


@app.command()
def build(
    corpus: Annotated[list[Path], typer.Argument(help="Corpus folders and/or files.")],
    workspace: WorkspaceOpt = Path("ws"),
    schema: Annotated[Path | None, typer.Option(help="Domain schema YAML (kept in kg.toml).")] = None,
    workers: Annotated[int | None, typer.Option(help="Extraction processes (default from kg.toml).")] = None,
    store: Annotated[str | None, typer.Option(help="Graph store backend (ladybug; '' to disable).")] = None,
    rdf: Annotated[str | None, typer.Option(help="Triple store backend (oxigraph; '' to disable).")] = None,
    text_field: Annotated[str | None, typer.Option(help="Text field of .jsonl/.parquet records.")] = None,
    ner_model: Annotated[str | None, typer.Option(help="transformers token-classification model path.")] = None,
    zh_ner: Annotated[str | None, typer.Option(
        help="Chinese NER: 'model' (packaged, default), 'jieba' (posseg tags) or a model file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Clean, extract, resolve and store a corpus (incremental and resumable)."""
    from kg.build import build as run_build
    from kg.schema import load_schema
    from kg.workspace import Workspace

    try:
        ws = Workspace(workspace).open(create=True)
        cfg = ws.config
        if schema is not None:
            load_schema(schema)  # validate before touching the workspace config
            cfg.extraction.schema_path = str(schema.resolve())
        if zh_ner is not None and zh_ner not in ("model", "jieba") and not Path(zh_ner).expanduser().is_file():
            from kg.errors import ConfigError

            raise ConfigError(f"--zh-ner {zh_ner!r}: give 'model' (the packaged Chinese NER model), 'jieba' "
                              "(posseg tags) or an existing model file from `python -m extraction.zh_ner.train`")
        for key, value in (("workers", workers), ("text_field", text_field), ("ner_model", ner_model),
                           ("zh_ner", zh_ner)):
            if value is not None:
                setattr(cfg.extraction, key, value)
        if store is not None:
            cfg.stores.graph = store
        if rdf is not None:
            cfg.stores.rdf = rdf
        ws.save_config()
        if quiet:
            report = run_build(ws, corpus)
        else:
            bar, update = _progress_bar()
            with bar:
                report = run_build(ws, corpus, progress=update)
    except KGError as exc:
        _fail(exc)
    _print_build_summary(ws, report)


def _print_build_summary(ws, report) -> None:
    table = Table(title=f"kg build → {ws.path}  (batch {report.batch or 'none: nothing changed'})")
    table.add_column("stage")
    table.add_column("count", justify="right")
    table.add_row("documents read", str(report.read))
    table.add_row("unchanged (already stored)", str(report.unchanged))
    for step, count in sorted(report.dropped.items()):
        table.add_row(f"dropped: {step}", str(count))
    table.add_row("new documents", str(report.new))
    table.add_row("retracted documents", str(report.retracted))
    table.add_row("mentions", str(report.mentions))
    table.add_row("new/updated entities", str(report.new_entities))
    table.add_row("relation evidence", str(report.evidence))
    for key, value in report.totals.items():
        table.add_row(f"total {key}", str(value))
    out.print(table)
    if report.drops:
        out.print("[bold]dropped documents[/] (full list in reports/latest.json):")
        for drop in report.drops[:15]:
            out.print(escape(f"  {drop['source']}: [{drop['step']}] {drop['reason']}"), highlight=False)
        if len(report.drops) > 15:
            out.print(f"  … and {len(report.drops) - 15} more")
    if report.samples:
        out.print("[bold]sample facts[/]:")
        for subject, predicate, obj, confidence in report.samples:
            out.print(escape(f"  ({subject}) -[{predicate}]-> ({obj})  conf={confidence:.2f}"),
                      highlight=False)
    out.print(f"stores: {report.stores}  ({report.seconds:.1f}s)")


@app.command()
def sync(workspace: WorkspaceOpt = Path("ws"),
         force: Annotated[bool, typer.Option(help="Reload even if up to date.")] = True) -> None:
    """Rebuild the configured stores from the bundle."""
    from kg.sync import sync_stores
    from kg.workspace import Workspace

    try:
        ws = Workspace(workspace).open()
        ws.lock()
        try:
            status = sync_stores(ws, force=force)
        finally:
            ws.unlock()
    except KGError as exc:
        _fail(exc)
    out.print(status)


@app.command("import")
def import_(
    source: Annotated[str, typer.Argument(
        help="An RDF file (.ttl .nt .nq .trig .rdf .jsonld); 'sparql' or a SPARQL query URL; "
             "'neo4j' or a bolt:// URI (other settings from kg.toml / KG_* env).")],
    workspace: WorkspaceOpt = Path("ws"),
) -> None:
    """Import an existing graph into the workspace, then sync the stores."""
    from kg.build import load_workspace_schema
    from kg.graph_import import import_graph
    from kg.sync import sync_stores
    from kg.workspace import Workspace

    try:
        ws = Workspace(workspace).open(create=True)
        ws.lock()
        try:
            summary = import_graph(ws, source, schema=load_workspace_schema(ws))
            status = sync_stores(ws, force=False)
        finally:
            ws.unlock()
    except KGError as exc:
        _fail(exc)
    if summary.unchanged:
        out.print(f"{summary.source}: unchanged since the last import; nothing to do")
    else:
        out.print(f"imported {summary.entities} entities and {summary.facts} facts from {summary.source} "
                  f"as batch {summary.batch}")
    for reason, count in sorted(summary.skipped.items()):
        console.print(f"  skipped {count} {reason}(s)")
    out.print(f"stores: {status}")


def _parse_params(params: list[str]) -> dict[str, object]:
    parsed: dict[str, object] = {}
    for item in params:
        if "=" not in item:
            raise QueryError(f"parameter {item!r} must look like name=value")
        name, value = item.split("=", 1)
        try:
            parsed[name] = json.loads(value)
        except json.JSONDecodeError:
            parsed[name] = value  # plain strings need no JSON quoting
    return parsed


def _print_result(result, fmt: OutputFormat) -> None:
    rows = [[_plain(v) for v in row] for row in result.rows]
    if fmt is OutputFormat.json:
        out.print_json(json.dumps([dict(zip(result.columns, row)) for row in rows],
                                  ensure_ascii=False, default=str))
    elif fmt is OutputFormat.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(result.columns)
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table(*result.columns)
        for row in rows:
            table.add_row(*(str(v) for v in row))
        out.print(table)
        console.print(f"{len(rows)} row(s)")


def _plain(value: object) -> object:
    # pyoxigraph terms print as <iri> / "lit"@lang; analysts want the bare value in tables/CSV
    return getattr(value, "value", value)


def _run_query(kind: str, workspace: Path, text: str | None, file: Path | None,
               params: list[str], fmt: OutputFormat, write: bool) -> None:
    from kg.sync import open_store
    from kg.workspace import Workspace

    try:
        if file is not None:
            text = file.read_text(encoding="utf-8")
        if not text:
            raise QueryError("give a query text or --file")
        ws = Workspace(workspace).open()
        store = open_store(ws, kind, read_only=not write)
        try:
            result = store.query(text, _parse_params(params), write=write)
        finally:
            store.close()
    except KGError as exc:
        _fail(exc)
    _print_result(result, fmt)


QueryText = Annotated[str | None, typer.Argument(help="Query text (or use --file).")]
QueryFile = Annotated[Path | None, typer.Option("--file", "-f", help="Read the query from a file.")]
ParamOpt = Annotated[list[str], typer.Option("--param", "-p", help="name=value (JSON or plain string).")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
WriteOpt = Annotated[bool, typer.Option("--write", help="Allow queries that modify the store.")]


@query_app.command("cypher")
def query_cypher(text: QueryText = None, workspace: WorkspaceOpt = Path("ws"), file: QueryFile = None,
                 param: ParamOpt = [], fmt: FormatOpt = OutputFormat.table,  # noqa: B006
                 write: WriteOpt = False) -> None:
    """Run a Cypher query against the graph store (read-only unless --write)."""
    _run_query("graph", workspace, text, file, param, fmt, write)


@query_app.command("sparql")
def query_sparql(text: QueryText = None, workspace: WorkspaceOpt = Path("ws"), file: QueryFile = None,
                 param: ParamOpt = [], fmt: FormatOpt = OutputFormat.table,  # noqa: B006
                 write: WriteOpt = False) -> None:
    """Run a SPARQL query against the triple store (UPDATE only with --write)."""
    _run_query("rdf", workspace, text, file, param, fmt, write)


# -- the analysts' query library (kg/queries.py, queries/) -------------------------------------------

class QueryLanguage(str, Enum):
    """Languages of library queries."""

    cypher = "cypher"
    sparql = "sparql"


LibraryOpt = Annotated[list[Path], typer.Option(
    "--library", help="Extra query folder (repeatable; also KG_QUERY_LIBRARY). Same names override.")]


@query_app.command("list")
def query_list(workspace: Annotated[Path | None, typer.Option(
                   "--workspace", "-w", help="Mark (*) the language `run` picks in this workspace.")] = None,
               library: LibraryOpt = [], fmt: FormatOpt = OutputFormat.table) -> None:  # noqa: B006
    """List the library queries: name, languages, description, parameters."""
    from kg.queries import QueryLibrary, choose_language, library_folders
    from kg.stores.base import QueryResult
    from kg.workspace import Workspace

    def chosen_language(query) -> str | None:
        try:
            return choose_language(query, ws) if ws is not None else None
        except QueryError:
            return None  # no configured store runs it: list it unmarked

    try:
        queries = list(QueryLibrary.load(library_folders(library)))
        ws = Workspace(workspace).open() if workspace is not None else None
        rows = []
        for q in queries:
            chosen = chosen_language(q)
            languages = ", ".join(lang + ("*" if lang == chosen else "") for lang in q.languages)
            rows.append((q.name, languages, q.description, "; ".join(p.signature() for p in q.params)))
    except KGError as exc:
        _fail(exc)
    _print_result(QueryResult(["name", "languages", "description", "params"], rows), fmt)


@query_app.command("run")
def query_run(
    name: Annotated[str, typer.Argument(help="Library query name (see `kg query list`).")],
    workspace: WorkspaceOpt = Path("ws"),
    param: Annotated[list[str], typer.Option(
        "--param", "-p", help="name=value, converted to the parameter's declared type.")] = [],  # noqa: B006
    lang: Annotated[QueryLanguage | None, typer.Option(
        "--lang", help="Language when the query has both (default: configured store, Cypher first).")] = None,
    fmt: FormatOpt = OutputFormat.table,
    library: LibraryOpt = [],  # noqa: B006
) -> None:
    """Run a library query by name on the workspace's graph (Cypher) or triple (SPARQL) store."""
    from kg.queries import QueryLibrary, library_folders, parse_param_args, run_library_query
    from kg.workspace import Workspace

    try:
        queries = QueryLibrary.load(library_folders(library))
        values = parse_param_args(param)
        queries.get(name).bind(values)  # name and parameter mistakes first, before touching the workspace
        result = run_library_query(Workspace(workspace).open(), name, values,
                                   lang=lang.value if lang else None, library=queries)
    except KGError as exc:
        _fail(exc)
    _print_result(result, fmt)


@app.command()
def stats(workspace: WorkspaceOpt = Path("ws"),
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Counts of documents, entities and facts in the bundle, by language, type and relation."""
    from kg.stats import workspace_stats
    from kg.workspace import Workspace

    try:
        data = workspace_stats(Workspace(workspace).open())
    except KGError as exc:
        _fail(exc)
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    for section, values in data.items():
        if isinstance(values, dict):
            table = Table(section, "count")
            for key, value in values.items():
                table.add_row(str(key), str(value))
            out.print(table)
        else:
            out.print(f"{section}: {values}")


class ExportFormat(str, Enum):
    """Formats of `kg export`."""

    turtle = "turtle"
    ntriples = "ntriples"
    jsonld = "jsonld"
    parquet = "parquet"
    csv = "csv"
    neo4j_import = "neo4j-import"
    owl = "owl"


@app.command()
def export(
    output: Annotated[Path, typer.Argument(
        help="Output file (RDF formats) or folder (parquet, csv, neo4j-import).")],
    workspace: WorkspaceOpt = Path("ws"),
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = ExportFormat.turtle,
) -> None:
    """Export the live graph (or, with --format owl, the schema as RDFS/OWL)."""
    from kg.export import export_workspace
    from kg.workspace import Workspace

    try:
        written = export_workspace(Workspace(workspace).open(), output, fmt.value)
    except KGError as exc:
        _fail(exc)
    for path in written:
        out.print(f"wrote {path}")


class DatasetFormat(str, Enum):
    """File formats of `kg synth`."""

    jsonl = "jsonl"
    parquet = "parquet"


def _csv_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


_KindsOpt = Annotated[str, typer.Option(help="Comma-separated kinds: cpt, qa, tf, mc, refusal.")]
_ReplayOpt = Annotated[Path | None, typer.Option(help="General text (.jsonl/.parquet) mixed into CPT text.")]
_TokenizerOpt = Annotated[str, typer.Option(
    help="Tokenizer for token counts: smollm2, a .gguf, a tokenizer.json or a saved tokenizer folder.")]
_ParaphraseModelOpt = Annotated[str | None, typer.Option(
    help="Paraphrase CPT text with this model: smollm2 (packaged), a model folder or .gguf, or the "
         "served model's name with --paraphrase-endpoint.")]
_ParaphraseEndpointOpt = Annotated[str | None, typer.Option(
    help="OpenAI-compatible API root for paraphrasing, e.g. http://127.0.0.1:8000/v1.")]
_ParaphraseOptOpt = Annotated[list[str], typer.Option(
    "--paraphrase-opt", help="Paraphrase engine option name=value (repeatable), e.g. temperature=0.7.")]


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the dataset.")],
    workspace: WorkspaceOpt = Path("ws"),
    kinds: _KindsOpt = "cpt,qa,tf,mc,refusal",
    langs: Annotated[str, typer.Option(help="Comma-separated languages (en, zh).")] = "en,zh",
    seed: Annotated[int, typer.Option(help="Same seed and graph: byte-identical files.")] = 0,
    eval_ratio: Annotated[float, typer.Option(help="Share of (subject, relation) groups for eval.")] = 0.1,
    heldout_ratio: Annotated[float, typer.Option(help="Share of entities kept out of training.")] = 0.05,
    include_inferred: Annotated[bool, typer.Option(help="Verbalize inferred (GNN) facts too.")] = False,
    min_score: Annotated[float, typer.Option(help="Lowest score of an inferred fact to use.")] = 0.0,
    phrasings: Annotated[int, typer.Option(help="CPT phrasings per fact.")] = 3,
    articles: Annotated[int, typer.Option(help="CPT articles per entity.")] = 2,
    paths: Annotated[int | None, typer.Option(help="CPT multi-hop narratives (default: 1 per fact).")] = None,
    mc_unrelated: Annotated[int, typer.Option(help="Unrelated wrong options per multiple choice.")] = 2,
    refusal_ratio: Annotated[float, typer.Option(
        help="Refusals per language, as a share of the (subject, relation) groups.")] = 0.5,
    replay: _ReplayOpt = None,
    ratio: Annotated[float, typer.Option(help="Replay share of CPT tokens, in (0, 1).")] = 0.2,
    replay_field: Annotated[str, typer.Option(help="Text field of the replay file.")] = "text",
    fmt: Annotated[DatasetFormat, typer.Option("--format", help="File format.")] = DatasetFormat.jsonl,
    tokenizer: _TokenizerOpt = "smollm2",
    no_dedup: Annotated[bool, typer.Option("--no-dedup", help="Keep duplicate records.")] = False,
    no_decontaminate: Annotated[bool, typer.Option(
        "--no-decontaminate", help="Keep training records that overlap evaluation prompts.")] = False,
    paraphrase_model: _ParaphraseModelOpt = None,
    paraphrase_endpoint: _ParaphraseEndpointOpt = None,
    paraphrase_limit: Annotated[int | None, typer.Option(help="Paraphrase at most N CPT records.")] = None,
    paraphrase_opt: _ParaphraseOptOpt = [],  # noqa: B006
    workers: Annotated[int, typer.Option(
        help="Processes that generate records; the files are the same for any number.")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Turn the graph into CPT text and factuality data (QA, true/false, multiple choice, refusals)."""
    from injection.synth.pipeline import SynthOptions, synthesize
    from kg.errors import ConfigError
    from kg.workspace import Workspace

    try:
        paraphrase = _parse_params(paraphrase_opt)
        if paraphrase_model or paraphrase_endpoint:
            paraphrase.setdefault("model", paraphrase_model or "")
            if paraphrase_endpoint:
                paraphrase.update(engine="endpoint", base_url=paraphrase_endpoint)
        elif paraphrase:
            raise ConfigError("--paraphrase-opt needs --paraphrase-model or --paraphrase-endpoint")
        if paraphrase and paraphrase_limit is not None:
            paraphrase["limit"] = paraphrase_limit
        options = SynthOptions(
            kinds=_csv_list(kinds), langs=_csv_list(langs), seed=seed, eval_ratio=eval_ratio,
            heldout_ratio=heldout_ratio, include_inferred=include_inferred, min_score=min_score,
            phrasings=phrasings, articles=articles, paths=paths, mc_unrelated=mc_unrelated,
            refusal_ratio=refusal_ratio, replay=str(replay) if replay else None, ratio=ratio,
            replay_field=replay_field, format=fmt.value, tokenizer=tokenizer, dedup=not no_dedup,
            decontaminate=not no_decontaminate, paraphrase=paraphrase, workers=workers)
        ws = Workspace(workspace).open()
        if quiet:
            summary = synthesize(ws, out, options)
        else:
            bar, update = _progress_bar()
            with bar:
                summary = synthesize(ws, out, options, progress=update)
    except KGError as exc:
        _fail(exc)
    _print_synth_summary(summary)


def _print_synth_summary(summary) -> None:
    table = Table(title=f"kg synth → {summary.out}")
    for column in ("split", "kind", "records", "tokens"):
        table.add_column(column, justify="right" if column in ("records", "tokens") else "left")
    for split, kinds in summary.records.items():
        for kind, count in kinds.items():
            table.add_row(split, kind, f"{count:,}", f"{summary.tokens[split][kind]:,}")
    for reason, count in summary.dedup.items():
        table.add_row("removed", reason, f"{count:,}", "")
    for reason, count in summary.decontamination.items():
        table.add_row("removed", f"decontamination: {reason}", f"{count:,}", "")
    out.print(table)
    if summary.replay is not None:
        r = summary.replay
        out.print(f"replay: {r.documents:,} documents, {r.tokens:,} tokens from {escape(r.source)}: "
                  f"share {r.ratio:.3f} of CPT tokens (target {r.target_ratio})", highlight=False)
    langs = ", ".join(f"{lang} {n:,}" for lang, n in summary.langs.items())
    out.print(f"languages: {langs}", highlight=False)
    if summary.warnings:
        out.print("[bold yellow]warnings[/]:")
        for line in summary.warnings[:15]:
            out.print(escape(f"  {line}"), highlight=False)
        if len(summary.warnings) > 15:
            out.print(f"  … and {len(summary.warnings) - 15} more (see README.md)")
    files = ", ".join([*summary.files, "README.md", "card.json"])
    out.print(f"wrote {files}  ({summary.seconds:.1f}s)", highlight=False)


@app.command("eval")
def eval_(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by kg synth --out.")],
    model: Annotated[str, typer.Option(
        help="smollm2 (packaged), a save_pretrained folder, a .gguf file or a locally cached hub name."),
    ] = "smollm2",
    split: Annotated[str, typer.Option(help="Split to probe: eval, heldout (control) or train.")] = "eval",
    kinds: Annotated[str, typer.Option(help="Comma-separated kinds: mc, tf, qa, refusal.")] = (
        "mc,tf,qa,refusal"),
    max_items: Annotated[int | None, typer.Option(help="Most questions per kind (a seeded sample).")] = None,
    general: Annotated[Path | None, typer.Option(
        help="General text (.jsonl/.parquet with a text field) whose perplexity shows forgetting.")] = None,
    max_general: Annotated[int, typer.Option(help="Most general-text documents.")] = 64,
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="Longest generated answer (qa, refusal).")] = 32,
    device: Annotated[str | None, typer.Option(help="cpu, cuda … (default: CUDA when present).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --max-items sample.")] = 0,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write the full report (every item) as JSON.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
) -> None:
    """Probe what a model knows about a kg synth dataset (multiple choice, true/false, QA, refusals)."""
    import contextlib

    from injection.train.models import load_causal_lm
    from injection.train.probe import ProbeConfig, check_probe, run_probe

    def stage(text: str):
        return contextlib.nullcontext() if quiet else console.status(text)

    if quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its weight-loading bars would defeat -q

    try:
        config = ProbeConfig(split=split, kinds=_csv_list(kinds), max_items=max_items, batch_size=batch_size,
                             max_new_tokens=max_new_tokens, general=str(general) if general else None,
                             max_general=max_general, seed=seed)
        check_probe(data, config)  # a wrong --data or --general fails before the model loads
        with stage(f"loading {model}"):
            lm, tokenizer = load_causal_lm(model, device=device)
        with stage(f"probing {data}/{split}"):
            report = run_probe(lm, tokenizer, data, config)
        if json_out is not None:
            report.save(json_out)
    except KGError as exc:
        _fail(exc)
    _print_probe(report, model, data, split, json_out)


def _print_probe(report, model: str, data: Path, split: str, json_out: Path | None) -> None:
    out.print(f"kg eval → model {model} on {data}/{split}", highlight=False)
    from rich import box

    # short headers (the line below the table spells them out), so 80 columns show every number
    columns = [("MC", "mc_accuracy"), ("MRR", "mc_mrr"), ("TF", "tf_accuracy"), ("QA EM", "qa_exact"),
               ("QA fz", "qa_fuzzy"), ("refuse", "refusal_rate"), ("false ref", "false_refusal_rate")]
    rows = report.rows(("overall", "lang"))
    columns = [(title, key) for title, key in columns if any(row[key] is not None for row in rows)]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("scope", no_wrap=True, min_width=max(len(str(row["scope"])) for row in rows))
    for title, _ in columns:
        table.add_column(title, justify="right", no_wrap=True, min_width=max(len(title), 5))
    table.add_column("items", justify="right", no_wrap=True, min_width=7)
    for row in rows:
        cells = ["–" if row[key] is None else f"{row[key]:.3f}" for _, key in columns]
        counts = "/".join(str(row[f"{kind}_items"]) for kind in ("mc", "tf", "qa", "refusal"))
        table.add_row(escape(str(row["scope"])), *cells, counts)
    out.print(table)
    s = report.summary
    headline = []
    if "mc_accuracy" in s:
        headline.append(f"MC accuracy {s['mc_accuracy']:.3f} (chance {s['mc_chance']:.3f}), "
                        f"MRR {s['mc_mrr']:.3f}")
    if "tf_accuracy" in s:
        headline.append(f"TF accuracy {s['tf_accuracy']:.3f} (chance 0.5)")
    if "qa_exact" in s:
        headline.append(f"QA exact {s['qa_exact']:.3f}, fuzzy {s['qa_fuzzy']:.3f}")
    if "refusal_rate" in s:
        headline.append(f"refuses {s['refusal_rate']:.3f} of unanswerable questions")
    if "false_refusal_rate" in s:
        headline.append(f"{s['false_refusal_rate']:.3f} of answerable ones")
    if "general_ppl" in s:
        headline.append(f"general-text perplexity {s['general_ppl']:.2f} ({s['general_tokens']:,} tokens)")
    out.print("; ".join(headline) + ". Items: mc/tf/qa/refusal questions.", highlight=False)
    for note in report.notes:
        out.print(escape(f"note: {note}"), highlight=False)
    if json_out is not None:
        out.print(f"wrote {json_out}", highlight=False)


@app.command("probe-facts")
def probe_facts(
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by kg synth --out.")],
    workspace: WorkspaceOpt = Path("ws"),
    model: Annotated[str, typer.Option(
        help="smollm2 (packaged), a save_pretrained folder, a .gguf file or a locally cached hub name."),
    ] = "smollm2",
    samples: Annotated[int, typer.Option(help="Sampled answers per question (besides the greedy one).")] = 4,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
    min_known: Annotated[int | None, typer.Option(
        help="Right samples a question needs to count as known (default: 3/4 of --samples).")] = None,
    max_facts: Annotated[int | None, typer.Option(
        help="Most (subject, relation) groups to ask about (a seeded sample).")] = None,
    batch_size: Annotated[int, typer.Option(help="Sequences per generate call.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="Longest answer.")] = 32,
    device: Annotated[str | None, typer.Option(help="cpu, cuda … (default: CUDA when present).")] = None,
    seed: Annotated[int, typer.Option(help="Seeds templates, refusal wording and sampling.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Ask a model the graph's training questions: QA rows for what it knows, refusals for what it does not."""
    import contextlib

    from injection.train.knowledge import probe_knowledge, write_knowledge
    from injection.train.models import load_causal_lm
    from kg.workspace import Workspace

    try:
        ws = Workspace(workspace).open()
        with contextlib.nullcontext() if quiet else console.status(f"loading {model}"):
            lm, tokenizer = load_causal_lm(model, device=device)
        kwargs = {"samples": samples, "temperature": temperature, "min_known": min_known, "max_facts": max_facts,
                  "batch_size": batch_size, "max_new_tokens": max_new_tokens, "seed": seed}
        if quiet:
            report = probe_knowledge(lm, tokenizer, ws, data, **kwargs)
        else:
            bar, update = _progress_bar()
            with bar:
                report = probe_knowledge(lm, tokenizer, ws, data, progress=update, **kwargs)
        written = write_knowledge(report, data)
    except KGError as exc:
        _fail(exc)
    table = Table(title=f"kg probe-facts → model {model} on {data}")
    table.add_column("scope")
    for name in report.counts:
        table.add_column(name, justify="right")
    for scope, counts in [*report.langs.items(), ("all", report.counts)]:
        table.add_row(escape(scope), *(f"{n:,}" for n in counts.values()))
    out.print(table)
    out.print(f"{len(report.needs_text):,} facts answered inconsistently need more training text "
              "(needs_text in probe_report.json)", highlight=False)
    for note in report.notes:
        out.print(escape(f"note: {note}"), highlight=False)
    out.print(f"wrote {', '.join(written)}", highlight=False)


@app.command("train")
def train_(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Settings file (.toml/.yaml); the options below override it.")] = None,
    data: Annotated[Path | None, typer.Option(help="Dataset folder written by kg synth --out.")] = None,
    model: Annotated[str | None, typer.Option(
        help="smollm2 (packaged, the default), a save_pretrained folder or a .gguf file.")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Run folder: checkpoints, probe_log.jsonl, final/ (default train_out).")] = None,
    lr: Annotated[float | None, typer.Option(
        "--lr", help="Peak learning rate (default 2e-5; 1e-5..5e-5 suits full continual training).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps in total (default: one epoch).")] = None,
    probe_every: Annotated[int | None, typer.Option(
        help="Probe the model's knowledge every N steps, before and after training (0 = off).")] = None,
    lora: Annotated[bool | None, typer.Option(
        "--lora/--no-lora", help="Train LoRA adapters (merged into final/) instead of all weights.")] = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="Start over instead of resuming from the newest checkpoint in --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Continue training a small LM on a kg synth dataset (warmup + cosine, replay, knowledge probe)."""
    from injection.train.config import TrainSettings, load_settings
    from injection.train.trainer import train as run_train

    overrides = {"data": data, "model": model, "output_dir": out_dir, "learning_rate": lr,
                 "max_steps": max_steps, "probe_every": probe_every, "lora": lora}
    try:
        settings = (load_settings(config, **overrides) if config is not None
                    else TrainSettings().with_overrides(**overrides))
        if quiet:
            report = run_train(settings, progress=False, fresh=fresh)
        else:
            bar, update = _progress_bar()
            with bar:
                report = run_train(settings, progress=update, fresh=fresh)
    except KGError as exc:
        _fail(exc)
    _print_train_summary(report)


def _print_train_summary(report) -> None:
    resumed = f", resumed from {report.resumed_from.name}" if report.resumed_from else ""
    out.print(f"kg train → {report.output_dir}{resumed}", highlight=False)
    table = Table()
    table.add_column("")
    table.add_column("value", justify="right")
    loss = "–" if report.final_loss is None else f"{report.final_loss:.4f}"
    for name, value in (("steps", f"{report.steps:,}"), ("final loss", loss),
                        ("tokens seen", f"{report.tokens_seen:,}"), ("precision", report.precision),
                        ("trained parameters", f"{report.trainable_parameters:,} of {report.parameters:,}"),
                        ("seconds", f"{report.seconds:.1f}")):
        table.add_row(name, value)
    out.print(table)
    before, after = report.probe_before, report.probe_after
    if before is not None and after is not None:
        probe = Table(title=f"knowledge probe: step {report.probe_history[0]['step']} → "
                            f"step {report.probe_history[-1]['step']}")
        for column in ("metric", "before", "after", "change"):
            probe.add_column(column, justify="left" if column == "metric" else "right")
        for metric in ("mc_accuracy", "mc_mrr", "tf_accuracy", "qa_exact", "qa_fuzzy", "refusal_rate",
                       "false_refusal_rate", "general_ppl"):
            if metric in before and metric in after:
                probe.add_row(metric, f"{before[metric]:.3f}", f"{after[metric]:.3f}",
                              f"{after[metric] - before[metric]:+.3f}")
        out.print(probe)
    adapter = f" (LoRA adapter: {report.adapter_dir})" if report.adapter_dir else ""
    out.print(f"wrote {report.final_dir}{adapter}", highlight=False)


@app.command("index")
def index_(
    workspace: WorkspaceOpt = Path("ws"),
    model: Annotated[list[str], typer.Option(
        "--model", help="Embedding model for every language (NAME), or for one (LANG=NAME); repeatable. "
                        "A packaged name (minilm, e5-small, static-multilingual), a sentence-transformers "
                        "folder or a hub name in the local cache. Kept in kg.toml.")] = [],  # noqa: B006
    hnsw_threshold: Annotated[int | None, typer.Option(
        help="Items from which a space uses HNSW instead of exact search (kept in kg.toml).")] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Re-create the index (cached vectors are reused).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Embed facts, entities and source chunks into the faiss retrieval index (incremental)."""
    from injection.rag.indexer import build_index
    from kg.workspace import Workspace

    try:
        ws = Workspace(workspace).open()
        cfg = ws.config.index
        for spec in model:
            lang, sep, name = spec.partition("=")
            if not (sep and (lang == "*" or (lang.isalpha() and len(lang) <= 8))):
                lang, name = "", spec  # one model for every language
            if Path(name).expanduser().exists():  # kg.toml keeps an absolute path: commands run from anywhere
                name = str(Path(name).expanduser().resolve())
            if not lang:
                cfg.model, cfg.models = name, {}
            elif lang == "*":
                cfg.model = name
            else:
                cfg.models[lang] = name
        if hnsw_threshold is not None:
            cfg.hnsw_threshold = hnsw_threshold
        ws.lock()
        try:
            if quiet:
                report = build_index(ws, rebuild=rebuild)
            else:
                bar, update = _progress_bar()
                with bar:
                    report = build_index(ws, rebuild=rebuild, progress=update)
            ws.save_config()  # only once the models loaded: a typo in --model is not kept
        finally:
            ws.unlock()
    except KGError as exc:
        _fail(exc)
    _print_index_summary(report)


def _print_index_summary(report) -> None:
    from injection.rag.items import KINDS

    added, removed, unchanged = report.total("added"), report.total("removed"), report.total("unchanged")
    table = Table(title=f"kg index → {report.path}  (bundle version {report.bundle_version})")
    for column in ("items", "added", "removed", "unchanged", "total"):
        table.add_column(column, justify="left" if column == "items" else "right")
    for kind in KINDS:
        table.add_row(kind, f"{added[kind]:,}", f"{removed[kind]:,}", f"{unchanged[kind]:,}",
                      f"{added[kind] + unchanged[kind]:,}")
    out.print(table)
    for space in report.spaces:
        how = f"; rebuilt: {space.rebuilt}" if space.rebuilt else ""
        out.print(escape(f"{space.name} ({', '.join(space.langs)}): {space.type}, {space.items:,} items, "
                         f"dim {space.dim}; embedded {space.embedded:,}, reused {space.cached:,}{how}"),
                  highlight=False)
    out.print(f"embedded {report.embedded:,} texts, reused {report.cached:,} vectors  "
              f"({report.seconds:.1f}s)", highlight=False)


@app.command()
def serve(
    workspace: WorkspaceOpt = Path("ws"),
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    api_key: Annotated[list[str], typer.Option(
        "--api-key", help="Accepted API key (repeatable; also KG_API_KEYS, comma-separated). Clients send "
                          "'Authorization: Bearer KEY' or 'X-API-Key: KEY'. None: the API is open.")] = [],  # noqa: B006
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes (each loads everything; about one core each).")] = 1,
    chat: Annotated[bool, typer.Option(
        "--chat", help="Also serve POST /v1/chat/completions: answers of a local small model from the "
                       "retrieved context.")] = False,
    chat_model: Annotated[Path | None, typer.Option(
        help="Chat model of --chat: a .gguf file (default: the packaged SmolLM2-135M-Instruct).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug.")] = "info",
) -> None:
    """Serve graph-aware retrieval over HTTP (POST /v1/retrieve; docs at /docs) until Ctrl-C."""
    from injection.rag.serve import api_keys_from
    from injection.rag.serve import serve as run_server

    keys = api_keys_from(api_key)
    if not keys and host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]warning:[/] serving on {escape(host)} without an API key: anyone who can "
                      "reach it can query the graph; pass --api-key or set KG_API_KEYS", highlight=False)
    try:
        run_server(workspace, host, port, keys, workers=workers, chat=chat or chat_model is not None,
                   chat_model=chat_model,
                   log_level=log_level,
                   progress=lambda message: console.print(f"kg serve: {escape(message)}", highlight=False))
    except KGError as exc:
        _fail(exc)


_ModelOptOpt = Annotated[list[str], typer.Option(
    "--model-opt", help="Model constructor argument name=value (repeatable), e.g. dim=200.")]


@app.command()
def complete(
    workspace: WorkspaceOpt = Path("ws"),
    model: Annotated[str, typer.Option(help="complex, distmult, rotate, transe or rgcn.")] = "complex",
    model_opt: _ModelOptOpt = [],  # noqa: B006
    epochs: Annotated[int, typer.Option(help="Most training epochs (early stopping on validation MRR).")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 0,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 … (default: CUDA when present).")] = None,
    retrain: Annotated[bool, typer.Option(help="Train from scratch even if a trained model exists.")] = False,
    evaluate: Annotated[bool, typer.Option(
        "--evaluate", help="Print filtered MRR/Hits@k on the test split and write nothing.")] = False,
    top_k: Annotated[int, typer.Option(help="Most new facts per relation.")] = 10,
    threshold: Annotated[float, typer.Option(help="Lowest calibrated score of a new fact.")] = 0.7,
    relation: Annotated[list[str], typer.Option(help="Propose facts for this relation (repeatable).")] = [],  # noqa: B006
    open_relations: Annotated[bool, typer.Option(help="Also propose facts for open (verb) relations.")] = False,
    candidates: Annotated[str, typer.Option(help="Candidate heads/tails: observed, typed or all.")] = "observed",
    calibration: Annotated[str, typer.Option(help="platt, isotonic, temperature or identity.")] = "platt",
    keep_previous: Annotated[bool, typer.Option(help="Keep earlier runs' inferred facts.")] = False,
    remove: Annotated[str | None, typer.Option(
        help="Remove a batch of inferred facts (or 'all') instead of running; see --list.")] = None,
    list_batches: Annotated[bool, typer.Option("--list", help="List the batches of inferred facts.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Score every fact with a GNN link predictor and add the missing facts it is confident about."""
    from gnn.complete import complete as run_complete
    from gnn.complete import completion_batches, remove_batch, train_or_load
    from gnn.training import TrainConfig
    from kg.workspace import Workspace

    try:
        ws = Workspace(workspace).open()
        if list_batches:
            batches = completion_batches(ws.bundle)
            out.print("\n".join(batches) if batches else "no batches of inferred facts")
            return
        ws.lock()
        try:
            if remove is not None:
                record, removed = remove_batch(ws, remove)
                out.print(f"removed the inferred facts and scores of {', '.join(removed)} (batch {record})")
                return
            config = TrainConfig(model=model, model_kwargs=_parse_params(model_opt), epochs=epochs, seed=seed,
                                 device=device)
            trained = train_or_load(ws, config, retrain=retrain, progress=not quiet, calibration=calibration)
            if evaluate:
                _print_metrics(ws, trained)
                return
            options = {"k": top_k, "threshold": threshold, "relations": relation, "open_relations": open_relations,
                           "candidates": candidates, "keep_previous": keep_previous, "trained": trained}
            if quiet:
                summary = run_complete(ws, **options)
            else:
                bar, update = _progress_bar()
                with bar:
                    summary = run_complete(ws, on_stage=update, **options)
        finally:
            ws.unlock()
    except KGError as exc:
        _fail(exc)
    _print_completion(summary)


def _print_metrics(ws, trained) -> None:
    from gnn.evaluation import evaluate
    from gnn.training import random_baseline_mrr

    data, model, _, result = trained
    metrics = evaluate(model, data, "test")
    out.print(f"kg complete --evaluate → {ws.path}: filtered ranks on the test split, model {model.spec.get('name')}",
              highlight=False)
    table = Table()
    for column in ("scope", "queries", "MRR", "Hits@1", "Hits@3", "Hits@10"):
        table.add_column(column, justify="left" if column == "scope" else "right")
    for row in metrics.rows():
        table.add_row(escape(str(row["scope"])), str(row["count"]),
                      *(f"{row[key]:.3f}" for key in ("mrr", "hits@1", "hits@3", "hits@10")))
    out.print(table)
    trained_how = "loaded" if result is None else f"trained {result.epochs_run} epochs (best {result.best_epoch})"
    out.print(f"random ranking MRR ≈ {random_baseline_mrr(data.num_entities):.3f}; model {trained_how}; "
              f"{data.num_entities:,} entities, {data.num_relations} relations, "
              f"{len(data.train):,}/{len(data.valid):,}/{len(data.test):,} train/valid/test facts", highlight=False)


def _print_completion(summary) -> None:
    total = sum(summary.proposed.values())
    out.print(f"kg complete → batch {summary.batch}, model {summary.model}", highlight=False)
    if total:
        table = Table()
        table.add_column("relation")
        table.add_column("new facts", justify="right")
        for relation, count in sorted(summary.proposed.items(), key=lambda item: (-item[1], item[0])):
            if count:
                table.add_row(escape(relation), str(count))
        out.print(table)
        for subject, predicate, obj, score in summary.best:
            out.print(escape(f"  ({subject}) -[{predicate}]-> ({obj})  p={score:.2f}"), highlight=False)
    else:
        out.print(f"no new fact scored {summary.threshold} or more in {len(summary.proposed)} relation(s); "
                  "lower --threshold, or add --open-relations / --relation NAME", highlight=False)
    replaced = f"; replaced the inferred facts of {', '.join(summary.replaced)}" if summary.replaced else ""
    out.print(f"scored {summary.scored:,} facts, added {total:,} inferred facts{replaced}; stores: {summary.stores}",
              highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point used by ``python -m kg``."""
    app()
