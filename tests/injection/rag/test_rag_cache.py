"""The vector cache: keyed by model and text, survives restarts and killed writes, compacts."""

from __future__ import annotations

import numpy as np

from injection.rag.cache import MAX_SHARDS, VectorCache


def vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


def test_vectors_come_back_by_text_for_the_same_model_only(tmp_path):
    cache = VectorCache(tmp_path, "model-a@1")
    cache.put(["a", "b"], vectors(2))
    found, got = VectorCache(tmp_path, "model-a@1").get(["b", "x", "a"])  # a fresh instance reads the disk
    assert found.tolist() == [True, False, True]
    assert np.array_equal(got, vectors(2)[[1, 0]])
    assert not VectorCache(tmp_path, "model-a@2").get(["a"])[0].any()  # another model identity


def test_a_half_written_shard_is_ignored(tmp_path):
    cache = VectorCache(tmp_path, "m")
    cache.put(["a"], vectors(1))
    (cache.folder / "shard-000002.npz.tmp").write_bytes(b"killed")
    (cache.folder / "shard-000003.npz").write_bytes(b"garbage")
    found, _ = VectorCache(tmp_path, "m").get(["a"])
    assert found.tolist() == [True]


def test_compaction_keeps_only_wanted_texts(tmp_path):
    cache = VectorCache(tmp_path, "m")
    for i in range(MAX_SHARDS):
        cache.put([f"t{i}"], vectors(1, seed=i))
    assert cache.compact([f"t{i}" for i in range(MAX_SHARDS)]) == 0  # not too many shards yet
    cache.put(["last"], vectors(1, seed=99))
    assert cache.compact(["t0", "last", "never-cached"]) == MAX_SHARDS + 1
    fresh = VectorCache(tmp_path, "m")
    assert len(list(fresh.folder.iterdir())) == 1 and len(fresh) == 2
    found, got = fresh.get(["t0", "t1", "last"])
    assert found.tolist() == [True, False, True]
    assert np.array_equal(got, np.concatenate([vectors(1, seed=0), vectors(1, seed=99)]))
