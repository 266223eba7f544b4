"""Corpus to graph: readers, cleaning, filters, dedup, NER, relation extraction, entity resolution."""
