"""Training hooks for knowledge injection: model loading and the knowledge probe.

Modules:

* :mod:`injection.train.models`: :func:`~injection.train.models.load_causal_lm` (the packaged
  SmolLM2-135M-Instruct GGUF, a saved model folder, a ``.gguf`` file or a locally cached hub name) and
  :func:`~injection.train.models.chat_prompt` (chat template, or a plain prompt for base models).
* :mod:`injection.train.probe`: :func:`~injection.train.probe.run_probe`, which measures what a model
  knows about a ``kg synth`` dataset (likelihood-ranked multiple choice, true/false, open QA, refusals)
  and what it forgot (perplexity on general text).
* :mod:`injection.train.knowledge`: :func:`~injection.train.knowledge.probe_knowledge` asks a model the
  graph's training questions several times (Llama 3's factuality recipe) and
  :func:`~injection.train.knowledge.write_knowledge` turns what it knows into QA rows and what it does
  not into refusal rows of the dataset (``kg probe-facts``).

Nothing here is imported eagerly: torch and transformers load only when a function needs them.
"""
