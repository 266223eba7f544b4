"""Real servers that tests start on 127.0.0.1 and stop again (session-scoped pytest fixtures).

Each module is loaded as a pytest plugin from ``tests/conftest.py``, so its fixtures are available to
every test: ``arcadedb`` (a Bolt server for the Neo4j backend), ``oxigraph_http`` (a SPARQL 1.1
endpoint), ``jena`` (Apache Jena command-line tools on a correct classpath).
"""
