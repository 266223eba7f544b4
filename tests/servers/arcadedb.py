"""Session fixture for tests: arcadedb (filled in by the backend that needs it)."""
