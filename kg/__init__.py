"""kg: turn domain corpora into a knowledge graph, and that graph into knowledge a small LLM learns."""

__version__ = "0.1.0"

# Workspace format version. A workspace written by a newer format is refused with a clear error.
WORKSPACE_FORMAT = 1
