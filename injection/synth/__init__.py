"""`kg synth`: continual-pretraining text and factuality data (QA, true/false, multiple choice,
refusals) from the graph, with leak-free splits, replay mixing and dataset cards.

Modules: ``graph`` (indexes over the live graph), ``records`` (the record type), ``splits``
(fact/entity/template splits), generators, writers and the pipeline.
"""
