"""Chinese named-entity recognition: a character BiLSTM-CRF trained on MSRA, shipped with the project.

* :mod:`~extraction.zh_ner.data`: the MSRA files, BMES tags, spans and entity-level scores;
* :mod:`~extraction.zh_ner.features`: characters, bigrams and jieba words as ids;
* :mod:`~extraction.zh_ner.model`: the network (torch + pytorch-crf);
* :mod:`~extraction.zh_ner.tagger`: the packaged model as a tagger (``kg build``'s Chinese NER);
* :mod:`~extraction.zh_ner.train`: the training script and its settings (``msra.toml``).
"""
