"""Retrieval for small models (`kg index`; `kg serve` follows): embeddings, items, the faiss index.

Modules:

* :mod:`injection.rag.embed`: the :class:`~injection.rag.embed.Embedder` interface; packaged models
  (``minilm``, ``e5-small``, ``static-multilingual``) and any sentence-transformers folder or locally
  cached hub name; nothing is downloaded.
* :mod:`injection.rag.items`: what is indexed: verbalized facts, entity descriptions, source chunks.
* :mod:`injection.rag.cache`: vectors cached by (model identity, text) in the workspace.
* :mod:`injection.rag.index`: faiss indexes (exact or HNSW), the manifest, and :class:`RagIndex` for
  reading (item lookup by faiss id, plain vector search, staleness against the bundle).
* :mod:`injection.rag.indexer`: :func:`~injection.rag.indexer.build_index`, what ``kg index`` runs.

Nothing heavy is imported eagerly: faiss, torch and sentence-transformers load when a function needs them.
"""
