"""Graph neural link prediction (`kg complete`).

* :mod:`gnn.data` — graph -> tensors: id maps, inverse relations, type/text features, leak-free splits,
  the PyKEEN-shipped benchmark datasets;
* :mod:`gnn.models` — R-GCN encoder and torch_geometric KGE baselines behind one interface, chosen by
  name; uniform and type-constrained negative samplers;
* :mod:`gnn.sampling` — neighbour sampling for mini-batch training on large graphs;
* :mod:`gnn.training` — training loop, early stopping, checkpoints, resume;
* :mod:`gnn.evaluation` — filtered MRR / Hits@k, both directions, realistic ties, per relation;
* :mod:`gnn.inference` — fact scores, proposals of missing facts, calibration.

Nothing is imported here: torch and torch_geometric load only when a submodule is used.
"""
