"""Knowledge injection: raw fact text against ``kg synth`` data, same token and step budget, one run.

Facts a small model cannot know: a sample of UMLS semantic-network triples from the ``pykeen`` wheel
(``virus is a kind of organism``, ``congenital abnormality is a result of ...``). The sample is made
of whole (subject, relation) groups with at most ``--max-group`` objects over a handful of relations
with readable names (:data:`RELATIONS`), so every question has a specific answer and every wrong
option is false in all of UMLS, not only in the sample. Entity labels are spelled out
(``acquired_abnormality`` -> ``acquired abnormality``) and typed by their top ``isa`` ancestor in UMLS
(physical object, conceptual entity, activity, phenomenon or process), which gives multiple choice
its same-type confusions and other-type unrelated options.

The sample becomes a kg graph (:class:`kg.graph.GraphView`) with a generated domain schema (English
labels, four verbalization templates and three question templates per relation; ``kg synth``
reserves one of each for evaluation), and ``kg synth`` (English, all kinds) writes the dataset whose
``eval`` split is probed: questions about facts that every arm trains on as text, asked with the
templates no arm trains on.

SmolLM2-135M-Instruct (the packaged default) is trained six ways by
:func:`injection.train.trainer.train`, with the same learning rate, steps, batch and sequence length,
so the same number of tokens:

(a) ``raw``: every training fact stated once as ``{subject} {label} {object}.``, the text repeated
    (reshuffled each pass) to fill the token budget;
(b) ``synth-cpt``: the ``kg synth`` continual-pretraining text (phrasings, articles, paths);
(c) ``synth-cpt+qa``: the same text plus the ``kg synth`` question data (``train/sft``: open QA,
    true/false, multiple choice and refusals about the *training* groups only);

each with replay 0 and 0.2 (general English text mixed in by tokens at training time: WordNet
glosses from Debian's ``wordnet-base``). A disjoint set of glosses is held out to measure general
perplexity. The base model and every trained model are probed (:func:`injection.train.probe.run_probe`)
on the eval split: likelihood-ranked multiple choice (accuracy, MRR), true/false accuracy, and the
perplexity of the held-out glosses. Every run is a fresh subprocess, so no arm inherits another's
memory; seeds fix the sample, the data, the order and the probe items.

Goals printed at the end (not asserted): the MC-accuracy gain over the base model of (b) or (c) is at
least 1.5x the gain of (a) at the same replay; with replay 0.2 general perplexity rises at most 10%.
The ``±`` after a gain is 1.96 standard errors of the paired per-question differences.

Usage::

    python benchmarks/bench_inject.py [--quick | --gpu-scale] [--facts N] [--steps N] [--lr X]
        [--batch-size N] [--seq-len N] [--arms base,raw,synth-cpt,...] [--replays 0,0.2] [--seed 0]

Defaults fit in about 45 minutes on 2 CPU cores (``--quick``: about 20 minutes); with CUDA the larger
``--gpu-scale`` budget is the default. It prints figures and ratios and never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# relation -> English label (the one phrasing the raw arm uses), verbalizations and questions. The
# label phrasing is not among the verbalizations, so the raw text never equals a synth sentence.
RELATIONS: dict[str, dict[str, Any]] = {
    "isa": {
        "label": "is a kind of",
        "verbalizations": ["{subject} is a type of {object}.",
                           "{subject} belongs to the broader category {object}.",
                           "The category {object} includes {subject}.",
                           "As a subtype, {subject} falls under {object}."],
        "questions": ["What is {subject} a kind of?", "Which broader category does {subject} belong to?",
                      "{subject} is a subtype of what?"]},
    "result_of": {
        "label": "is a result of",
        "verbalizations": ["{subject} can result from {object}.", "{object} can lead to {subject}.",
                           "{subject} arises as a consequence of {object}.",
                           "One outcome of {object} is {subject}."],
        "questions": ["What is {subject} a result of?", "What can {subject} result from?",
                      "{subject} arises as a consequence of what?"]},
    "associated_with": {
        "label": "is associated with",
        "verbalizations": ["{subject} is linked to {object}.",
                           "There is an association between {subject} and {object}.",
                           "{subject} goes together with {object}.",
                           "{object} is connected with {subject}."],
        "questions": ["What is {subject} associated with?", "What is {subject} linked to?",
                      "Which concept goes together with {subject}?"]},
    "conceptual_part_of": {
        "label": "is conceptually part of",
        "verbalizations": ["Conceptually, {subject} is a component of {object}.",
                           "{object} conceptually includes {subject}.",
                           "{subject} forms a conceptual part of {object}.",
                           "In concept, {subject} belongs within {object}."],
        "questions": ["What is {subject} conceptually part of?", "Of what is {subject} a conceptual component?",
                      "Which concept includes {subject} as a conceptual part?"]},
    "interacts_with": {
        "label": "interacts with",
        "verbalizations": ["{subject} has interactions with {object}.",
                           "An interaction takes place between {subject} and {object}.",
                           "{subject} acts on and is affected by {object}.",
                           "{object} is an interaction partner of {subject}."],
        "questions": ["What does {subject} interact with?", "What is an interaction partner of {subject}?",
                      "{subject} has interactions with what?"]},
    "method_of": {
        "label": "is a method of",
        "verbalizations": ["{subject} is used as a method in {object}.",
                           "{object} uses {subject} as one of its methods.",
                           "One method of {object} is {subject}.",
                           "{subject} serves as a technique for {object}."],
        "questions": ["What is {subject} a method of?", "In which activity is {subject} used as a method?",
                      "{subject} is a technique for what?"]},
    "co_occurs_with": {
        "label": "co-occurs with",
        "verbalizations": ["{subject} often appears together with {object}.",
                           "{subject} and {object} tend to occur together.",
                           "Where {subject} is found, {object} is often found too.",
                           "{object} frequently accompanies {subject}."],
        "questions": ["What does {subject} co-occur with?", "What often appears together with {subject}?",
                      "Which concept tends to occur together with {subject}?"]},
    "contains": {
        "label": "contains",
        "verbalizations": ["{object} is contained in {subject}.", "Inside {subject} there is {object}.",
                           "{subject} holds {object}.", "{object} can be found within {subject}."],
        "questions": ["What does {subject} contain?", "What is contained in {subject}?",
                      "What can be found within {subject}?"]},
    "occurs_in": {
        "label": "occurs in",
        "verbalizations": ["{subject} takes place in {object}.", "{subject} can be observed in {object}.",
                           "{object} is where {subject} happens.", "One setting of {subject} is {object}."],
        "questions": ["Where does {subject} occur?", "In what does {subject} take place?",
                      "{subject} can be observed in what?"]},
}
"""The UMLS relations sampled (``co-occurs_with`` is spelled ``co_occurs_with`` here). ``exhibits`` is left
out: its groups all share the same three objects, so it would teach a pattern rather than facts."""

TYPES: dict[str, tuple[str, str]] = {
    "physical_object": ("PhysicalObject", "physical object"),
    "conceptual_entity": ("ConceptualEntity", "conceptual entity"),
    "activity": ("Activity", "activity"),
    "phenomenon_or_process": ("Phenomenon", "phenomenon or process"),
}
"""Top UMLS ``isa`` ancestors -> entity type and its label; the two roots (entity, event) count as
conceptual entities."""

RAW_TEMPLATE = "{subject} {label} {object}."
ARMS: dict[str, tuple[str, str, list[str]]] = {
    # name -> (row label, dataset, training kinds)
    "raw": ("(a) raw text", "raw", ["cpt"]),
    "synth-cpt": ("(b) synth CPT", "synth", ["cpt"]),
    "synth-cpt+qa": ("(c) synth CPT+QA", "synth", ["cpt", "sft"]),
}
PROBE_KINDS = ("mc", "tf")


@dataclass
class Budget:
    """Sizes of one benchmark run."""

    facts: int
    steps: int
    batch_size: int
    seq_len: int
    mc_items: int | None
    tf_items: int | None
    general_docs: int

    @property
    def tokens(self) -> int:
        """Token positions trained per arm: steps x batch x sequence length."""
        return self.steps * self.batch_size * self.seq_len


BUDGETS: dict[str, Budget] = {
    # 2 CPU cores: a step of 4 x 256 tokens takes about 6-7 s in fp32
    "quick": Budget(facts=100, steps=18, batch_size=4, seq_len=256, mc_items=None, tf_items=80, general_docs=24),
    "cpu": Budget(facts=240, steps=56, batch_size=4, seq_len=256, mc_items=None, tf_items=160, general_docs=48),
    "gpu": Budget(facts=340, steps=400, batch_size=16, seq_len=512, mc_items=None, tf_items=None,
                  general_docs=128),
}


# -- the facts -----------------------------------------------------------------------------------------


def umls_triples() -> list[tuple[str, str, str]]:
    """Every UMLS triple of the pykeen wheel's split files (train, valid and test), sorted."""
    from gnn.data import pykeen_dataset_dir

    folder = pykeen_dataset_dir("umls")
    rows: set[tuple[str, str, str]] = set()
    for split in ("train", "valid", "test"):
        for line in (folder / f"{split}.txt").read_text(encoding="utf-8").splitlines():
            if line.strip():
                head, relation, tail = line.split("\t")
                rows.add((head, relation.replace("-", "_"), tail))
    return sorted(rows)


def entity_types(triples: list[tuple[str, str, str]]) -> dict[str, str]:
    """Entity label -> type: the top ``isa`` ancestor (:data:`TYPES`) in all of UMLS."""
    parents: dict[str, set[str]] = defaultdict(set)
    for head, relation, tail in triples:
        if relation == "isa":
            parents[head].add(tail)
    types = {}
    for entity in sorted({h for h, _, _ in triples} | {t for _, _, t in triples}):
        top = next((top for top in TYPES if top == entity or top in parents[entity]), "conceptual_entity")
        types[entity] = TYPES[top][0]
    return types


def sample_facts(triples: list[tuple[str, str, str]], n_facts: int, max_group: int,
                 seed: int) -> list[tuple[str, str, str]]:
    """Whole (subject, relation) groups of at most ``max_group`` objects, drawn round-robin over
    :data:`RELATIONS` until ``n_facts`` facts are reached (fewer when the groups run out)."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for head, relation, tail in triples:
        if relation in RELATIONS:
            groups[(head, relation)].append(tail)
    rng = random.Random(seed)
    queues = {}
    for relation in RELATIONS:
        keys = sorted(k for k, v in groups.items() if k[1] == relation and len(v) <= max_group)
        rng.shuffle(keys)
        queues[relation] = keys
    chosen: list[tuple[str, str, str]] = []
    while len(chosen) < n_facts and any(queues.values()):
        for relation in RELATIONS:
            if queues[relation] and len(chosen) < n_facts:
                head, _ = key = queues[relation].pop()
                chosen += [(head, relation, tail) for tail in sorted(groups[key])]
    return chosen


def readable(label: str) -> str:
    """``acquired_abnormality`` -> ``acquired abnormality``."""
    return label.replace("_", " ")


def schema_dict(facts: list[tuple[str, str, str]], types: dict[str, str]) -> dict[str, Any]:
    """The generated domain schema (YAML-ready): the four types and the sampled relations, with the
    most common subject and object types of each relation as its domain and range."""
    relations = {}
    for name, spec in RELATIONS.items():
        used = [(h, t) for h, r, t in facts if r == name]
        if not used:
            continue
        domain = Counter(types[h] for h, _ in used).most_common(1)[0][0]
        range_ = Counter(types[t] for _, t in used).most_common(1)[0][0]
        relations[name] = {"labels": {"en": spec["label"]}, "domain": domain, "range": range_,
                           "description": f"UMLS semantic network relation {name}.",
                           "verbalizations": {"en": spec["verbalizations"]},
                           "questions": {"en": spec["questions"]}}
    return {"name": "umls-sample", "version": "1",
            "description": "A sample of the UMLS semantic network (pykeen wheel) for the injection benchmark.",
            "entity_types": {type_name: {"labels": {"en": label}} for type_name, label in TYPES.values()},
            "relation_types": relations}


def graph_view(facts: list[tuple[str, str, str]], types: dict[str, str]) -> Any:
    """The facts as a kg graph view (imported facts, one batch)."""
    from kg.graph import GraphView
    from kg.ids import entity_id, fact_id

    labels = sorted({h for h, _, _ in facts} | {t for _, _, t in facts})
    ids = {label: entity_id(types[label], readable(label)) for label in labels}
    entities = [{"id": ids[label], "name": readable(label), "type": types[label], "aliases": [], "lang": "en",
                 "description": "", "batch": "umls"} for label in labels]
    rows = [{"id": fact_id(ids[h], r, ids[t]), "subject": ids[h], "predicate": r, "object": ids[t],
             "open": False, "source": "imported", "confidence": 1.0, "evidence_count": 0, "batch": "umls"}
            for h, r, t in facts]
    return GraphView.from_pylist(entities=entities, facts=rows)


def raw_texts(facts: list[tuple[str, str, str]], budget_tokens: int, seed: int) -> tuple[list[str], int, int]:
    """Arm (a)'s text: each fact once in :data:`RAW_TEMPLATE`, repeated (reshuffled per pass) until
    the passes hold at least ``budget_tokens`` tokens.

    Returns:
        (texts, tokens of one pass, passes).
    """
    from injection.synth.tokens import TokenCounter

    once = [RAW_TEMPLATE.format(subject=readable(h), label=RELATIONS[r]["label"], object=readable(t))
            for h, r, t in facts]
    tokens = sum(TokenCounter("smollm2").count(once)) + len(once)  # + the eos packing appends
    passes = max(1, math.ceil(budget_tokens / tokens))
    rng = random.Random(f"{seed}:raw")
    texts: list[str] = []
    for _ in range(passes):
        order = list(once)
        rng.shuffle(order)
        texts += order
    return texts, tokens, passes


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON lines (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def general_text(work: Path, docs: int, seed: int) -> tuple[Path, Path, int]:
    """WordNet glosses joined into documents of about 600 characters: the first ``docs`` are held out
    for perplexity, the rest is the replay file (no gloss is in both).

    Returns:
        (replay file, held-out file, replay documents).
    """
    from benchmarks.data import wordnet_glosses

    glosses = sorted(set(wordnet_glosses()))
    random.Random(f"{seed}:glosses").shuffle(glosses)
    held: list[str] = []
    replay: list[str] = []
    current: list[str] = []
    for gloss in glosses:
        current.append(gloss)
        if sum(map(len, current)) >= 600:
            (held if len(held) < docs else replay).append(" ".join(current))
            current = []
    return (write_jsonl(work / "replay.jsonl", [{"text": t} for t in replay]),
            write_jsonl(work / "general.jsonl", [{"text": t} for t in held]), len(replay))


def prose_texts() -> list[str]:
    """The English documents of the bundled example corpus: encyclopedic prose, unlike both the
    training text and the replay glosses, for a second forgetting measure."""
    folder = ROOT / "examples" / "corpus" / "en"
    return [path.read_text(encoding="utf-8") for path in sorted(folder.iterdir()) if path.is_file()]


# -- one arm, in its own process ------------------------------------------------------------------------


def probe(model: Any, tokenizer: Any, job: dict[str, Any]) -> dict[str, Any]:
    """The eval-split probe: MC with the glosses' perplexity, then TF with the prose perplexity
    (``prose_ppl``), each kind with its own item cap."""
    from injection.train.probe import ProbeConfig, run_probe

    spec = job["probe"]
    begun = time.perf_counter()
    mc = run_probe(model, tokenizer, job["dataset"], ProbeConfig(
        split="eval", kinds=("mc",), max_items=spec["mc_items"], general=spec["general"],
        max_general=spec["general_docs"], batch_size=16, seed=job["seed"]))
    tf = run_probe(model, tokenizer, job["dataset"], ProbeConfig(
        split="eval", kinds=("tf",), max_items=spec["tf_items"], general=prose_texts(), general_max_tokens=256,
        batch_size=16, seed=job["seed"]))
    summary = {k: float(v) for k, v in mc.summary.items()}
    summary.update({k: float(v) for k, v in tf.summary.items() if k.startswith("tf_")})
    summary["prose_ppl"] = float(tf.summary["general_ppl"])
    return {"summary": summary,
            "mc_items": [[i["question"], i["metrics"]["mc_accuracy"], i["metrics"]["mc_mrr"]]
                         for i in mc.items if i["kind"] == "mc"],
            "tf_items": [[i["question"], i["metrics"]["tf_accuracy"]] for i in tf.items if i["kind"] == "tf"],
            "notes": mc.notes + tf.notes, "probe_s": time.perf_counter() - begun}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Probe the base model, or train one arm and probe the result (``job`` as written by :func:`main`)."""
    import torch

    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])
    started = time.perf_counter()
    if job["arm"] == "base":
        from injection.train.models import load_causal_lm

        model, tokenizer = load_causal_lm(None)
        return {**probe(model, tokenizer, job), "wall_s": time.perf_counter() - started}

    from transformers import TrainerCallback

    from injection.train.config import TrainSettings
    from injection.train.trainer import train

    class FinalProbe(TrainerCallback):
        """Probes the trained model in memory at the end, so it need not be reloaded."""

        def __init__(self) -> None:
            self.result: dict[str, Any] = {}

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None,
                         processing_class: Any = None, **kwargs: Any) -> None:
            self.result = probe(model, processing_class, job)

    settings = TrainSettings.model_validate(job["settings"])
    final = FinalProbe()
    report = train(settings, progress=False, callbacks=[final], fresh=True)
    shutil.rmtree(settings.output_dir, ignore_errors=True)  # ~2 GB of checkpoint and final model
    return {**final.result, "train_s": report.seconds - final.result.get("probe_s", 0.0),
            "train_loss": report.train_loss, "final_loss": report.final_loss,
            "loss_history": report.loss_history, "steps": report.steps, "tokens_seen": report.tokens_seen,
            "data_tokens": report.data.tokens, "blocks": report.data.blocks,
            "wall_s": time.perf_counter() - started}


def _worker(spec: str) -> None:
    job = json.loads(Path(spec).read_text(encoding="utf-8"))
    print("RESULT " + json.dumps(run_job(job)), flush=True)


def spawn(job: dict[str, Any], work: Path, timeout: float | None) -> dict[str, Any]:
    """Run one job in a fresh interpreter and return its result."""
    spec = work / f"job-{job['name']}.json"
    spec.write_text(json.dumps(job), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": str(job["threads"]), "TOKENIZERS_PARALLELISM": "false",
           "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, __file__, "--worker", str(spec)], check=False, capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"job {job['name']} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


# -- the report ---------------------------------------------------------------------------------------


def paired_gain(arm: dict[str, Any], base: dict[str, Any], key: str = "mc_items") -> tuple[float, float]:
    """Mean per-question accuracy difference against the base model and 1.96 standard errors."""
    before = {q: acc for q, acc, *_ in base[key]}
    diffs = [acc - before[q] for q, acc, *_ in arm[key] if q in before]
    if len(diffs) < 2:
        return float("nan"), float("nan")
    mean = sum(diffs) / len(diffs)
    var = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    return mean, 1.96 * math.sqrt(var / len(diffs))


def print_table(rows: list[tuple[str, float | None, dict[str, Any]]], base: dict[str, Any]) -> None:
    """One line per run: the probe's figures, gains and perplexity against the base model."""
    ppl0 = base["summary"].get("general_ppl")
    header = (f"{'run':18s} | {'replay':>6s} | {'MC acc':>6s} | {'MC gain':>12s} | {'MRR':>5s} | "
              f"{'TF acc':>6s} | {'TF gain':>7s} | {'gen ppl':>7s} | {'ppl x':>5s} | {'prose x':>7s} | {'loss':>5s} | "
              f"{'tokens':>7s} | {'train s':>7s} | {'probe s':>7s}")
    print(header)
    print("-" * len(header))
    for label, replay, out in rows:
        s = out["summary"]
        mc_gain, ci = paired_gain(out, base) if out is not base else (0.0, 0.0)
        tf_gain = s.get("tf_accuracy", float("nan")) - base["summary"].get("tf_accuracy", float("nan"))
        ppl = s.get("general_ppl")
        ratio = ppl / ppl0 if ppl and ppl0 else float("nan")
        prose = s["prose_ppl"] / base["summary"]["prose_ppl"]
        loss = out.get("final_loss")
        print(f"{label:18s} | {'-' if replay is None else f'{replay:g}':>6s} | {s.get('mc_accuracy', 0):6.3f} | "
              f"{mc_gain:+6.3f}±{ci:.3f} | {s.get('mc_mrr', 0):5.3f} | {s.get('tf_accuracy', 0):6.3f} | "
              f"{tf_gain:+7.3f} | {ppl or float('nan'):7.2f} | {ratio:5.3f} | {prose:7.3f} | "
              f"{'-' if loss is None else f'{loss:.3f}':>5s} | {out.get('tokens_seen', 0):7d} | "
              f"{out.get('train_s', 0):7.0f} | {out.get('probe_s', 0):7.0f}")


def print_goals(results: dict[tuple[str, float], dict[str, Any]], base: dict[str, Any],
                replays: list[float]) -> None:
    """The two goal lines, with the figures they compare."""
    print("\nGoals (figures from this run; not asserted):")
    for replay in replays:
        raw = results.get(("raw", replay))
        if raw is None:
            continue
        a_gain = paired_gain(raw, base)[0]
        for arm in ("synth-cpt", "synth-cpt+qa"):
            out = results.get((arm, replay))
            if out is None:
                continue
            gain = paired_gain(out, base)[0]
            # a ratio means nothing when (a) gained nothing: then any real gain meets the goal
            ratio = f"ratio {gain / a_gain:.2f}" if a_gain > 0 else "(a) gained nothing"
            met = gain > 0 and gain >= 1.5 * max(a_gain, 0.0)
            print(f"  replay {replay:g}: {ARMS[arm][0]} MC gain {gain:+.3f} vs (a) {a_gain:+.3f}: {ratio} "
                  f"(goal: >= 1.5x (a)'s gain) -> {'met' if met else 'NOT met'}")
    for (arm, replay), out in sorted(results.items()):
        if replay != 0.2:
            continue
        ratio = out["summary"]["general_ppl"] / base["summary"]["general_ppl"]
        prose = out["summary"]["prose_ppl"] / base["summary"]["prose_ppl"]
        print(f"  replay 0.2: {ARMS[arm][0]} held-out gloss perplexity x{ratio:.3f} ({100 * (ratio - 1):+.1f}%; "
              f"goal <= +10%) -> {'met' if ratio <= 1.10 else 'NOT met'}; prose perplexity x{prose:.3f} "
              f"({100 * (prose - 1):+.1f}%)")


# -- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true", help="fewer facts and steps (about 20 minutes on 2 cores)")
    scale.add_argument("--gpu-scale", action="store_true", help="the larger budget (default when CUDA is present)")
    parser.add_argument("--facts", type=int, help="facts sampled (whole groups)")
    parser.add_argument("--steps", type=int, help="optimizer steps per arm")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seq-len", type=int)
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate, the same for every arm")
    parser.add_argument("--warmup", type=float, default=0.1, help="warmup share of the steps")
    parser.add_argument("--max-group", type=int, default=3, help="most objects of a sampled (subject, relation)")
    parser.add_argument("--eval-ratio", type=float, default=0.5,
                        help="share of groups whose questions are eval-only (their facts are still trained)")
    parser.add_argument("--phrasings", type=int, default=3, help="kg synth CPT phrasings per fact")
    parser.add_argument("--articles", type=int, default=2, help="kg synth articles per entity")
    parser.add_argument("--mc-items", type=int, help="most eval MC questions probed (0 = all)")
    parser.add_argument("--tf-items", type=int, help="most eval true/false statements probed (0 = all)")
    parser.add_argument("--arms", default="base,raw,synth-cpt,synth-cpt+qa",
                        help="runs: base and any of " + ", ".join(ARMS))
    parser.add_argument("--replays", default="0,0.2", help="replay ratios of general text (0 = none)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed after)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def budget_of(args: argparse.Namespace) -> tuple[str, Budget]:
    """The preset (``quick``, ``cpu`` or ``gpu``) with the flags that override it applied."""
    import torch

    name = "quick" if args.quick else "gpu" if args.gpu_scale or torch.cuda.is_available() else "cpu"
    budget = BUDGETS[name]
    overrides = {"facts": args.facts, "steps": args.steps, "batch_size": args.batch_size, "seq_len": args.seq_len}
    values = {**asdict(budget), **{k: v for k, v in overrides.items() if v is not None}}
    for key, flag in (("mc_items", args.mc_items), ("tf_items", args.tf_items)):
        if flag is not None:
            values[key] = flag or None
    return name, Budget(**values)


def main(argv: list[str] | None = None) -> None:
    """Prepare the data, run every job in its own process, print the table and the goals."""
    args = parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return
    started = time.perf_counter()
    preset, budget = budget_of(args)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    for arm in arms:
        if arm != "base" and arm not in ARMS:
            raise SystemExit(f"unknown arm {arm!r}; choose base or: {', '.join(ARMS)}")
    replays = [float(r) for r in args.replays.split(",") if r.strip()]
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))
    print(f"budget {preset}: {budget.facts} facts, {budget.steps} steps x batch {budget.batch_size} x "
          f"seq_len {budget.seq_len} = {budget.tokens} token positions per arm; replays {replays}; "
          f"{args.threads} torch thread(s)")
    # every arm trains with these; only data, kinds, output_dir and replay differ
    common = {"model": None, "learning_rate": args.lr, "warmup_ratio": args.warmup, "lr_scheduler": "cosine",
              "max_steps": budget.steps, "batch_size": budget.batch_size, "gradient_accumulation_steps": 1,
              "seq_len": budget.seq_len, "packing": True, "sft_mask_prompt": True, "precision": "auto",
              "weight_decay": 0.0, "max_grad_norm": 1.0, "save_steps": budget.steps, "save_total_limit": 1,
              "logging_steps": max(1, budget.steps // 8), "probe_every": 0, "seed": args.seed}
    print("train settings (every arm): " + json.dumps(common))
    print(f"synth options: langs en, eval_ratio {args.eval_ratio:g}, heldout_ratio 0, phrasings {args.phrasings}, "
          f"articles {args.articles}, max group {args.max_group}; raw template {RAW_TEMPLATE!r}")

    from injection.synth.pipeline import SynthOptions, synthesize
    from kg.schema import load_schema

    temp = args.work is None
    work = Path(tempfile.mkdtemp(prefix="bench-inject-")) if temp else args.work
    work.mkdir(parents=True, exist_ok=True)
    try:
        triples = umls_triples()
        types = entity_types(triples)
        facts = sample_facts(triples, budget.facts, args.max_group, args.seed)
        import yaml

        schema_path = work / "schema.yaml"
        schema_path.write_text(yaml.safe_dump(schema_dict(facts, types), sort_keys=False), encoding="utf-8")
        schema = load_schema(schema_path)
        per_relation = Counter(r for _, r, _ in facts)
        entities = {h for h, _, _ in facts} | {t for _, _, t in facts}
        print(f"facts: {len(facts)} UMLS triples in {len({(h, r) for h, r, _ in facts})} groups (<= "
              f"{args.max_group} objects) over {len(entities)} entities; per relation: "
              + ", ".join(f"{r} {n}" for r, n in per_relation.most_common()))

        dataset = work / "synth"
        options = SynthOptions(langs=("en",), seed=args.seed, eval_ratio=args.eval_ratio, heldout_ratio=0.0,
                               phrasings=args.phrasings, articles=args.articles)
        summary = synthesize(graph_view(facts, types), dataset, options, schema=schema)
        files = {k: v for k, v in summary.files.items()}
        print(f"kg synth ({summary.seconds:.1f} s): " + ", ".join(f"{k} {v['rows']} rows/{v['tokens']} tokens"
                                                                  for k, v in sorted(files.items())))
        for warning in summary.warnings[:5]:
            print(f"  synth warning: {warning}")

        # heldout_ratio 0: every sampled fact is training text for every arm
        texts, once, passes = raw_texts(facts, budget.tokens, args.seed)
        write_jsonl(work / "raw" / "train" / "cpt.jsonl", [{"text": t} for t in texts])
        print(f"raw text: {len(facts)} statements, {once} tokens per pass, {passes} passes "
              f"(e.g. {texts[0]!r})")
        replay_file, general_file, replay_docs = general_text(work, budget.general_docs, args.seed)
        print(f"general text: {budget.general_docs} held-out gloss documents for perplexity, {replay_docs} "
              f"replay documents (disjoint glosses)")
        print(f"probe: eval split, kinds {', '.join(PROBE_KINDS)}, at most {budget.mc_items or 'all'} MC / "
              f"{budget.tf_items or 'all'} TF items per kind (same seeded sample for every run)")
        print(f"prepared in {time.perf_counter() - started:.0f} s\n", flush=True)

        spec = {"mc_items": budget.mc_items, "tf_items": budget.tf_items, "general": str(general_file),
                "general_docs": budget.general_docs}
        jobs = []
        if "base" in arms:
            jobs.append({"name": "base", "arm": "base", "replay": None})
        for arm in (a for a in ARMS if a in arms):
            for replay in replays:
                jobs.append({"name": f"{arm}-r{replay:g}", "arm": arm, "replay": replay})
        results: dict[tuple[str, float], dict[str, Any]] = {}
        base = None
        for n, job in enumerate(jobs, 1):
            job.update(threads=args.threads, seed=args.seed, dataset=str(dataset), probe=spec)
            if job["arm"] != "base":
                _, source, kinds = ARMS[job["arm"]]
                job["settings"] = {**common, "data": str(work / source), "kinds": kinds,
                                   "output_dir": str(work / "runs" / job["name"]),
                                   "replay": str(replay_file) if job["replay"] else None,
                                   "replay_ratio": job["replay"] or 0.2}
            begun = time.perf_counter()
            out = spawn(job, work, timeout=None)
            out["job_s"] = time.perf_counter() - begun
            s = out["summary"]
            print(f"[{n}/{len(jobs)}] {job['name']}: {out['job_s']:.0f} s (train {out.get('train_s', 0):.0f} s, "
                  f"probe {out['probe_s']:.0f} s); MC {s.get('mc_accuracy', 0):.3f} over {s.get('mc_items', 0):.0f}, "
                  f"TF {s.get('tf_accuracy', 0):.3f} over {s.get('tf_items', 0):.0f}, ppl {s.get('general_ppl', 0):.2f} "
                  f"(prose {s.get('prose_ppl', 0):.2f})"
                  + (f", loss {out['final_loss']:.3f}, data tokens {out['data_tokens']}"
                     if job["arm"] != "base" else ""), flush=True)
            if job["arm"] == "base":
                base = out
            else:
                results[(job["arm"], job["replay"])] = out
        if base is None:
            print("no base run: no gains to report")
            return
        print(f"\nInjection on {len(facts)} UMLS facts, SmolLM2-135M-Instruct; eval split (held-out question and "
              f"statement templates); MC over {base['summary'].get('mc_items', 0):.0f} questions, "
              f"TF over {base['summary'].get('tf_items', 0):.0f} statements; "
              f"MC chance {base['summary'].get('mc_chance', float('nan')):.3f}\n")
        rows = [("base model", None, base)]
        rows += [(ARMS[arm][0], replay, results[(arm, replay)]) for arm in ARMS for replay in replays
                 if (arm, replay) in results]
        print_table(rows, base)
        print_goals(results, base, replays)
        print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
