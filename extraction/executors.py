"""Executors run extraction over shards of documents and write one output file per shard.

A shard's output is written to a temporary name and renamed when complete, so the file itself is
the completion marker: an interrupted build re-runs only the shards without an output, and a shard
is never counted twice. Shard names are hashes of their document ids, so a re-run over the same
corpus finds the same shards. Executors are separate from steps: a distributed executor only has to
produce the same shard files.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from extraction.analysis import Analysis, Analyzer
from kg.ids import stable_id
from kg.model import Document


@dataclass
class Shard:
    """A slice of the build plan."""

    key: str
    docs: list[Document]

    @classmethod
    def make(cls, docs: list[Document]) -> Shard:
        """Create a shard whose key is a hash of its document ids."""
        return cls(key=stable_id("shard", *(d.id for d in docs)).split(":")[1], docs=docs)


def shard_path(staging: Path, shard: Shard) -> Path:
    """Output file of a shard."""
    return staging / f"{shard.key}.pkl"


def _write_atomic(path: Path, analyses: list[Analysis]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        pickle.dump(analyses, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def read_shard(staging: Path, shard: Shard) -> list[Analysis]:
    """Load a finished shard's analyses."""
    with shard_path(staging, shard).open("rb") as handle:
        return pickle.load(handle)


_WORKER_ANALYZER: Analyzer | None = None


def _init_worker(factory: Callable[[], Analyzer]) -> None:
    global _WORKER_ANALYZER
    # one intra-op thread per worker process (torch, for the Chinese NER model, reads this when it is
    # imported): the processes are the parallelism, and more threads than cores only spin
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER_ANALYZER = factory()


def _run_shard(staging: Path, shard: Shard) -> int:
    assert _WORKER_ANALYZER is not None
    _write_atomic(shard_path(staging, shard), list(_WORKER_ANALYZER.analyze(shard.docs)))
    return len(shard.docs)


class LocalExecutor:
    """Runs shards in this process (workers=1) or in a pool of processes.

    Shards arrive as a lazy iterable, so cleaning of later documents (in the caller) overlaps with
    extraction of earlier shards in the workers.

    Args:
        workers: number of processes; 1 runs in-process (no pickling, easiest to debug).
        max_pending: shards queued per worker before the producer waits (bounds memory).
    """

    def __init__(self, workers: int = 1, max_pending: int = 4) -> None:
        self.workers = max(1, workers)
        self.max_pending = max_pending

    def run(self, shards: Iterable[Shard], factory: Callable[[], Analyzer], staging: Path,
            on_done: Callable[[int], None] = lambda n: None) -> int:
        """Process every shard that has no output yet; ``on_done(n_docs)`` reports progress.

        Returns:
            How many shards were already finished by an earlier, interrupted run.
        """
        staging.mkdir(parents=True, exist_ok=True)
        reused = 0

        def todo() -> Iterator[Shard]:
            nonlocal reused
            for shard in shards:
                if shard_path(staging, shard).exists():
                    reused += 1
                    on_done(len(shard.docs))  # finished by an earlier, interrupted run
                else:
                    yield shard

        if self.workers == 1:
            analyzer = None
            for shard in todo():
                analyzer = analyzer or factory()
                _write_atomic(shard_path(staging, shard), list(analyzer.analyze(shard.docs)))
                on_done(len(shard.docs))
            return reused
        # spawn, not fork: the parent may hold pyarrow/jieba threads that fork would copy mid-lock
        context = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                 initializer=_init_worker, initargs=(factory,)) as pool:
            pending: set = set()
            for shard in todo():
                pending.add(pool.submit(_run_shard, staging, shard))
                while len(pending) >= self.workers * self.max_pending:
                    pending = self._collect(pending, on_done)
            while pending:
                pending = self._collect(pending, on_done)
        return reused

    @staticmethod
    def _collect(pending: set, on_done: Callable[[int], None]) -> set:
        done, rest = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            on_done(future.result())  # re-raises a worker's exception here
        return rest


def iter_analyses(staging: Path, shards: list[Shard]) -> Iterator[tuple[Analysis, Document]]:
    """Yield (analysis, document) pairs of finished shards in plan order."""
    for shard in shards:
        docs = {d.id: d for d in shard.docs}
        for analysis in read_shard(staging, shard):
            yield analysis, docs[analysis.doc_id]
