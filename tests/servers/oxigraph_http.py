"""Session fixture for tests: oxigraph_http (filled in by the backend that needs it)."""
