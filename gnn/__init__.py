"""Graph neural link prediction (`kg complete`): graph -> tensors, encoders/decoders, training,
filtered-rank evaluation, inference. Not implemented yet (tracked by its own issue)."""
