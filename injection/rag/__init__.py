"""Retrieval for small models (`kg index`, `kg serve`): embeddings, items, the faiss index, graph-aware
retrieval and its HTTP API.

Modules:

* :mod:`injection.rag.embed`: the :class:`~injection.rag.embed.Embedder` interface; packaged models
  (``minilm``, ``e5-small``, ``static-multilingual``) and any sentence-transformers folder or locally
  cached hub name; nothing is downloaded.
* :mod:`injection.rag.items`: what is indexed: verbalized facts, entity descriptions, source chunks.
* :mod:`injection.rag.cache`: vectors cached by (model identity, text) in the workspace.
* :mod:`injection.rag.index`: faiss indexes (exact or HNSW), the manifest, and :class:`RagIndex` for
  reading (item lookup by faiss id, plain vector search, staleness against the bundle).
* :mod:`injection.rag.indexer`: :func:`~injection.rag.indexer.build_index`, what ``kg index`` runs.
* :mod:`injection.rag.linking`: the alias dictionary that links a query's entities (jieba for Chinese),
  and the tokenizer of BM25; :mod:`injection.rag.lexical`: BM25 over fact texts;
  :mod:`injection.rag.lang`: the query's language.
* :mod:`injection.rag.graph`: the live graph in memory, k-hop expansion, paths between entities.
* :mod:`injection.rag.retrieve`: :class:`~injection.rag.retrieve.Retriever`, graph-aware retrieval
  (rank fusion of vector similarity, BM25 and graph distance); :mod:`injection.rag.context`: the
  ``context`` string with citations.
* :mod:`injection.rag.serve`: ``kg serve`` (FastAPI + uvicorn), with :mod:`injection.rag.api` (request
  and response bodies) and :mod:`injection.rag.chat` (the optional chat endpoint);
  :mod:`injection.rag.client`: the Python client.

Nothing heavy is imported eagerly: faiss, torch and sentence-transformers load when a function needs them.
"""
