"""The transformers NER plug-in, with a tiny token-classification model the test trains itself."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"]
SENTENCES = [
    ("Jack Ma founded Alibaba", ["B-PER", "I-PER", "O", "B-ORG"]),
    ("Alibaba hired Joe Tsai", ["B-ORG", "O", "B-PER", "I-PER"]),
    ("Huawei hired Jack Ma", ["B-ORG", "O", "B-PER", "I-PER"]),
    ("Joe Tsai visited Huawei", ["B-PER", "I-PER", "O", "B-ORG"]),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForTokenClassification, PreTrainedTokenizerFast

    words = sorted({w for s, _ in SENTENCES for w in s.split()})
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                        cls_token="[CLS]", sep_token="[SEP]")
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    torch.manual_seed(0)
    model = BertForTokenClassification(config)
    enc = tokenizer([s for s, _ in SENTENCES], return_tensors="pt", padding=True)
    labels = torch.full(enc["input_ids"].shape, -100)
    for row, (_, tags) in enumerate(SENTENCES):
        for col, tag in enumerate(tags):
            labels[row, col] = LABELS.index(tag)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(150):
        loss = model(**enc, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    path = tmp_path_factory.mktemp("tiny-ner")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_tagger_maps_labels_to_schema_types(tiny_model, small_schema):
    from extraction.ner_transformers import TransformersTagger

    schema = small_schema.model_copy(deep=True)
    schema.entity_types["Person"].ner.transformers.append("PER")
    schema.entity_types["Organization"].ner.transformers.append("ORG")
    tagger = TransformersTagger(tiny_model, schema)
    text = "Jack Ma founded Alibaba"
    spans = tagger.tag(text)
    assert [(text[s:e], t) for s, e, t in spans] == [("Jack Ma", "Person"), ("Alibaba", "Organization")]


def test_tagger_replaces_spacy_mentions_in_the_extractor(tiny_model, small_schema):
    from extraction.analysis import Analyzer
    from kg.model import Document

    schema = small_schema.model_copy(deep=True)
    schema.entity_types["Person"].ner.transformers.append("PER")
    schema.entity_types["Organization"].ner.transformers.append("ORG")
    analyzer = Analyzer(schema, ner_model=tiny_model)
    (result,) = list(analyzer.analyze([Document(id="d", text="Joe Tsai visited Huawei", lang="en")]))
    assert {(m.text, m.type, m.extractor) for m in result.mentions} == {
        ("Joe Tsai", "Person", "transformers"), ("Huawei", "Organization", "transformers")}


def test_bad_model_path_is_a_config_error(tmp_path, small_schema):
    from extraction.ner_transformers import TransformersTagger
    from kg.errors import ConfigError

    with pytest.raises(ConfigError, match="save_pretrained"):
        TransformersTagger(str(tmp_path / "missing"), small_schema)
