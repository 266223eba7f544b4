"""Link prediction: our models against PyKEEN on Nations, Kinships and UMLS, side by side in one run.

Part ``accuracy``. For each dataset (split files shipped inside the ``pykeen`` wheel) three
*methods* are trained with the same budget: ours, PyKEEN RotatE and PyKEEN ComplEx. Each method has
the same number of configurations (:data:`CONFIGS`), the same maximum epochs, embedding dimension
and early stopping (validation MRR every ``--eval-every`` epochs, stop after ``--patience``
evaluations without improvement). Per method the configuration with the best *validation* MRR is
selected, and its *test* metrics are reported. Every model, ours or PyKEEN's, is ranked by the same
evaluator (:func:`gnn.evaluation.evaluate`: filtered, both directions, realistic ties); PyKEEN's own
evaluator's MRR is printed next to it as a cross-check. Time is the training wall time (training
steps plus the periodic validation for early stopping; no imports, data loading or final test).
Every run is a fresh subprocess with ``--threads`` torch threads, so no run pays for another's
imports or garbage.

PyKEEN configurations: RotatE with its self-adversarial NSSA loss and with 1-N (LCWA) cross-entropy;
ComplEx with PyKEEN's default sLCWA softplus loss and with exactly our recipe (LCWA + inverse triples,
cross-entropy, Adagrad, a cubic power-sum regularizer like N3).

Published filtered MRRs (:data:`PUBLISHED`) come from the ConvE README (Dettmers et al., AAAI 2018;
github.com/TimDettmers/ConvE, "Predictive performance" table; filtered, both directions). PyKEEN's
UMLS split is the one ConvE/NTP used (same test triples); the README notes Kinship's split was fixed
after the paper, so that row compares against possibly different files. No higher MRR on these
splits was found in a source we could read (multi-hop papers rank tails only; rule learners re-split).

Part ``scaling``: epoch time and peak memory on generated graphs (``--sizes``, default 100k and 1M
facts; 5 facts per entity, 20 relations, 3 entity types), for the ComplEx model (triple mini-batches,
negative sampling) and for the R-GCN on neighbour-sampled subgraphs. Epochs larger than
``--scaling-steps`` steps are timed over that many steps and extrapolated (marked ``~``).

Usage::

    python benchmarks/bench_complete.py [--part accuracy scaling] [--datasets nations kinships umls]
        [--epochs 100] [--dim 100] [--eval-every 10] [--patience 3] [--threads 1]
        [--sizes 100000 1000000] [--scaling-steps 100]

It prints ratios (ours / PyKEEN) measured in the same run and never passes or fails on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# method -> {config name -> settings}; the same number of configurations per method
CONFIGS: dict[str, dict[str, dict]] = {
    "ours": {
        # batch 64: more Adagrad steps per epoch; on Nations valid MRR 0.814 vs 0.785 at batch 256
        "complex-1N-n3": {"model": "complex", "loss": "1-N", "optimizer": "adagrad", "lr": 0.1,
                          "regularization": 0.01, "batch_size": 64},
        "rgcn-complex-1N": {"model": "rgcn", "model_kwargs": {"decoder": "complex", "layers": 1},
                            "loss": "1-N", "optimizer": "adam", "lr": 0.01, "regularization": 0.01,
                            "batch_size": 512},
    },
    "pykeen-rotate": {
        "slcwa-nssa": {"model": "RotatE", "training_loop": "slcwa", "loss": "nssa", "num_negs": 64,
                       "optimizer": "adam", "lr": 0.01, "batch_size": 256},
        "lcwa-ce": {"model": "RotatE", "training_loop": "lcwa", "loss": "crossentropy", "inverse": True,
                    "optimizer": "adam", "lr": 0.01, "batch_size": 256},
    },
    "pykeen-complex": {
        "slcwa-softplus": {"model": "ComplEx", "training_loop": "slcwa", "num_negs": 64,
                           "optimizer": "adam", "lr": 0.01, "batch_size": 256},
        "lcwa-ce-n3": {"model": "ComplEx", "training_loop": "lcwa", "loss": "crossentropy", "inverse": True,
                       "optimizer": "adagrad", "lr": 0.1, "regularizer": "powersum",
                       "initializer": "xavier_uniform",
                       "regularizer_kwargs": {"weight": 0.01, "p": 3.0, "normalize": False},
                       "batch_size": 256},
    },
}


PUBLISHED: dict[str, tuple[float, str]] = {
    "nations": (0.82, "ConvE"),
    "kinships": (0.83, "ConvE; split fixed after the paper"),
    "umls": (0.94, "ConvE"),
}
"""Best published filtered MRR found per dataset: (MRR, model), from the ConvE README table."""


# --- one run (in a subprocess) -----------------------------------------------------------------------


def _metrics(result) -> dict:
    return {"mrr": result.mrr, "hits1": result.both.hits[1], "hits3": result.both.hits[3],
            "hits10": result.both.hits[10]}


def run_ours(job: dict) -> dict:
    from gnn.data import load_pykeen_dataset
    from gnn.evaluation import evaluate
    from gnn.training import TrainConfig, train

    data = load_pykeen_dataset(job["dataset"])
    cfg = dict(job["settings"])
    cfg["model_kwargs"] = {**cfg.get("model_kwargs", {}), "dim": job["dim"]}
    config = TrainConfig(**cfg, epochs=job["epochs"], eval_every=job["eval_every"], patience=job["patience"],
                         seed=job["seed"], device="cpu")
    result = train(data, config, progress=False)
    return {"train_seconds": result.seconds, "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
            "valid": _metrics(evaluate(result.model, data, "valid", per_relation=False)),
            "test": _metrics(evaluate(result.model, data, "test", per_relation=False))}


def run_pykeen(job: dict) -> dict:
    import torch
    from pykeen.pipeline import pipeline
    from pykeen.triples import TriplesFactory

    from gnn.data import load_pykeen_dataset, pykeen_dataset_dir
    from gnn.evaluation import evaluate

    s = job["settings"]
    data = load_pykeen_dataset(job["dataset"])
    folder = pykeen_dataset_dir(job["dataset"])
    inverse = s.get("inverse", False)
    train_tf = TriplesFactory.from_path(folder / "train.txt", create_inverse_triples=inverse)
    maps = {"entity_to_id": train_tf.entity_to_id, "relation_to_id": train_tf.relation_to_id,
            "create_inverse_triples": inverse}
    valid_tf = TriplesFactory.from_path(folder / "valid.txt", **maps)
    test_tf = TriplesFactory.from_path(folder / "test.txt", **maps)
    # same ids as ours, so one evaluator ranks both
    assert train_tf.entity_to_id == {e: i for i, e in enumerate(data.entities)}
    assert train_tf.relation_to_id == {r: i for i, r in enumerate(data.relations)}
    model_kwargs = {"embedding_dim": job["dim"]}
    if "initializer" in s:
        model_kwargs.update(entity_initializer=s["initializer"], relation_initializer=s["initializer"])
    if "regularizer" in s:
        model_kwargs.update(regularizer=s["regularizer"], regularizer_kwargs=s["regularizer_kwargs"])
    kwargs = {
        "training": train_tf, "validation": valid_tf, "testing": test_tf, "model": s["model"],
        "model_kwargs": model_kwargs, "training_loop": s["training_loop"], "optimizer": s["optimizer"],
        "optimizer_kwargs": {"lr": s["lr"]}, "epochs": job["epochs"], "random_seed": job["seed"], "device": "cpu",
        "training_kwargs": {"batch_size": s["batch_size"], "use_tqdm": False},
        "stopper": "early",
        "stopper_kwargs": {"frequency": job["eval_every"], "patience": job["patience"], "relative_delta": 0.0,
                           "metric": "inverse_harmonic_mean_rank", "evaluation_batch_size": 256},
        "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
    }
    if "loss" in s:
        kwargs["loss"] = s["loss"]
    if "num_negs" in s:
        kwargs["negative_sampler_kwargs"] = {"num_negs_per_pos": s["num_negs"]}
    result = pipeline(**kwargs)
    pk_model = result.model

    class Adapter(torch.nn.Module):
        """Our evaluator's scoring interface over a trained PyKEEN model."""

        uses_graph = False

        def __init__(self) -> None:
            super().__init__()
            self.pk = pk_model

        def encode_all(self, data, device=None):
            return None

        def score_tails(self, anchor, q, z):
            R = data.num_relations
            out = torch.empty(len(q), data.num_entities)
            tail = q < R
            if tail.any():
                out[tail] = self.pk.predict_t(torch.stack([anchor[tail], q[tail]], 1))
            if (~tail).any():
                out[~tail] = self.pk.predict_h(torch.stack([q[~tail] - R, anchor[~tail]], 1))
            return out

    adapter = Adapter()
    stopper = result.stopper
    return {"train_seconds": result.train_seconds,
            "epochs_run": len(result.losses), "best_epoch": getattr(stopper, "best_epoch", None),
            "pykeen_test_mrr": result.metric_results.get_metric("both.realistic.inverse_harmonic_mean_rank"),
            "valid": _metrics(evaluate(adapter, data, "valid", per_relation=False)),
            "test": _metrics(evaluate(adapter, data, "test", per_relation=False))}


def run_scaling(job: dict) -> dict:
    import numpy as np
    import torch

    from gnn.data import KGData
    from gnn.training import TrainConfig, train

    n_facts, seed = job["facts"], job["seed"]
    rng = np.random.default_rng(seed)
    n_ent, n_rel = max(n_facts // 5, 10), 20
    # a clustered random graph: most facts link entities of nearby ids (so there is structure to learn)
    h = rng.integers(0, n_ent, n_facts)
    t = np.where(rng.random(n_facts) < 0.8, (h + rng.integers(1, 50, n_facts)) % n_ent,
                 rng.integers(0, n_ent, n_facts))
    r = (h % n_rel + rng.integers(0, 2, n_facts)) % n_rel
    triples = torch.from_numpy(np.unique(np.stack([h, r, t], 1), axis=0))
    triples = triples[torch.randperm(len(triples), generator=torch.Generator().manual_seed(seed))]
    n_held = min(2000, len(triples) // 20)
    data = KGData(entities=[f"e{i}" for i in range(n_ent)], relations=[f"r{i}" for i in range(n_rel)],
                  types=["A", "B", "C"], entity_type=torch.arange(n_ent) % 3,
                  train=triples[2 * n_held:], valid=triples[:n_held], test=triples[n_held:2 * n_held],
                  name=f"generated-{n_facts}")
    config = TrainConfig(**job["settings"], epochs=1, eval_every=1, eval_max_triples=500, seed=seed,
                         max_steps_per_epoch=job["max_steps"], device="cpu")
    result = train(data, config, progress=False)
    row = result.history[0]
    queries = 2 * len(data.train)
    steps_full = -(-queries // config.batch_size)
    # KGE models encode only each batch's entities; "full"/"sampled" describes graph encoders
    mode = result.mode if result.model.uses_graph else "triples"
    return {"facts": len(triples), "entities": n_ent, "mode": mode, "loss": result.loss,
            "steps": row["steps"], "steps_per_epoch": steps_full,
            "epoch_seconds": row["seconds"] * steps_full / row["steps"],
            "extrapolated": row["steps"] < steps_full,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def _run_one(raw: str) -> None:
    job = json.loads(raw)
    import torch

    torch.set_num_threads(job["threads"])
    runner = {"ours": run_ours, "pykeen": run_pykeen, "scaling": run_scaling}[job["kind"]]
    print("RESULT " + json.dumps(runner(job)), flush=True)


def _spawn(job: dict) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS=str(job["threads"]))
    env.setdefault("PYSTOW_HOME", job["pystow_home"])  # PyKEEN's early-stopping checkpoints go here
    proc = subprocess.run([sys.executable, __file__, "--run-one", json.dumps(job)], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"run failed: {job}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


# --- the driver --------------------------------------------------------------------------------------


def accuracy(args, pystow_home: str) -> None:
    rows = []
    for dataset in args.datasets:
        for method, configs in CONFIGS.items():
            for name, settings in configs.items():
                kind = "ours" if method == "ours" else "pykeen"
                job = {"kind": kind, "dataset": dataset, "settings": settings, "dim": args.dim,
                       "epochs": args.epochs, "eval_every": args.eval_every, "patience": args.patience,
                       "seed": args.seed, "threads": args.threads, "pystow_home": pystow_home}
                started = time.perf_counter()
                out = _spawn(job)
                rows.append({"dataset": dataset, "method": method, "config": name, **out})
                print(f"  {dataset:9s} {method:15s} {name:17s} valid MRR {out['valid']['mrr']:.3f} "
                      f"test MRR {out['test']['mrr']:.3f} train {out['train_seconds']:6.1f}s "
                      f"epochs {out['epochs_run']:3d} (process {time.perf_counter() - started:.0f}s)",
                      flush=True)

    print(f"\nSelected by validation MRR; {args.epochs} epochs max, dim {args.dim}, early stopping every "
          f"{args.eval_every} epochs with patience {args.patience}; {args.threads} thread(s); seed {args.seed}")
    header = (f"{'dataset':9s} | {'method':15s} | {'config':17s} | {'MRR':>5s} | {'H@1':>5s} | {'H@10':>5s} | "
              f"{'train s':>7s} | {'epochs':>6s} | {'PyKEEN eval MRR':>15s}")
    print(header)
    print("-" * len(header))
    summary = []
    for dataset in args.datasets:
        best = {}
        for method in CONFIGS:
            candidates = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            best[method] = max(candidates, key=lambda r: r["valid"]["mrr"])
            b = best[method]
            cross = f"{b['pykeen_test_mrr']:.3f}" if "pykeen_test_mrr" in b else "-"
            print(f"{dataset:9s} | {method:15s} | {b['config']:17s} | {b['test']['mrr']:.3f} | "
                  f"{b['test']['hits1']:.3f} | {b['test']['hits10']:.3f} | {b['train_seconds']:7.1f} | "
                  f"{b['epochs_run']:6d} | {cross:>15s}")
        ours = best["ours"]
        rival = max((best[m] for m in CONFIGS if m != "ours"), key=lambda r: r["test"]["mrr"])
        summary.append((dataset, ours, rival))
    print("\nOurs vs the best PyKEEN model per dataset (goal: MRR difference >= 0, time ratio <= 1):")
    for dataset, ours, rival in summary:
        print(f"  {dataset:9s} MRR {ours['test']['mrr']:.3f} vs {rival['test']['mrr']:.3f} ({rival['method']}) "
              f"difference {ours['test']['mrr'] - rival['test']['mrr']:+.3f}; "
              f"train time ratio ours/PyKEEN {ours['train_seconds'] / rival['train_seconds']:.2f}")
    print("\nOurs vs the best published filtered MRR (ConvE README, Dettmers et al. 2018):")
    for dataset, ours, _ in summary:
        if dataset in PUBLISHED:
            ref, source = PUBLISHED[dataset]
            print(f"  {dataset:9s} MRR {ours['test']['mrr']:.3f} vs {ref:.2f} ({source}) "
                  f"difference {ours['test']['mrr'] - ref:+.3f}")


SCALING = {
    "complex (negatives)": {"model": "complex", "model_kwargs": {"dim": 100, "sparse": True}, "loss": "negatives",
                            "num_negatives": 64, "batch_size": 1024, "optimizer": "adagrad", "lr": 0.1},
    "rgcn (sampled)": {"model": "rgcn", "model_kwargs": {"dim": 64, "decoder": "distmult", "layers": 2,
                                                         "sparse": True},
                       "mode": "sampled", "fanouts": [10, 5], "loss": "negatives", "num_negatives": 64,
                       "batch_size": 1024, "optimizer": "adagrad", "lr": 0.05},
}


def scaling(args, pystow_home: str) -> None:
    print(f"\nScaling (generated graphs, {args.threads} thread(s)); '~' = timed over {args.scaling_steps} steps "
          "and extrapolated to a full epoch")
    header = (f"{'facts':>9s} | {'entities':>8s} | {'model':20s} | {'mode':7s} | {'steps/epoch':>11s} | "
              f"{'epoch s':>9s} | {'peak RSS GB':>11s}")
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        for name, settings in SCALING.items():
            job = {"kind": "scaling", "facts": size, "settings": settings, "seed": args.seed,
                   "threads": args.threads, "max_steps": args.scaling_steps, "pystow_home": pystow_home}
            out = _spawn(job)
            mark = "~" if out["extrapolated"] else " "
            print(f"{out['facts']:9d} | {out['entities']:8d} | {name:20s} | {out['mode']:7s} | "
                  f"{out['steps_per_epoch']:11d} | {mark}{out['epoch_seconds']:8.1f} | {out['peak_rss_gb']:11.2f}",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--part", nargs="+", default=["accuracy", "scaling"], choices=["accuracy", "scaling"])
    parser.add_argument("--datasets", nargs="+", default=["nations", "kinships", "umls"])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--scaling-steps", type=int, default=100)
    args = parser.parse_args()
    if args.run_one:
        _run_one(args.run_one)
        return
    with tempfile.TemporaryDirectory(prefix="kg-bench-complete-") as pystow_home:
        if "accuracy" in args.part:
            accuracy(args, pystow_home)
        if "scaling" in args.part:
            scaling(args, pystow_home)


if __name__ == "__main__":
    main()
