"""Knowledge injection: synthesis of training data (`kg synth`), retrieval (`kg serve`) and training
hooks (`kg train`). Not implemented yet (tracked by their own issues)."""
