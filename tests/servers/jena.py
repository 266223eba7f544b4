"""Session fixture for tests: jena (filled in by the backend that needs it)."""
