"""Knowledge injection: synthesis of training data (`kg synth`), retrieval (`kg index`; `kg serve` is
tracked by its own issue) and training hooks (`kg train`)."""
