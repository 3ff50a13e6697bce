"""The public API at the top of the package, and the package's layout by part of the book."""

import importlib
import subprocess
import sys

import pytest

import bertedu

PUBLIC = [
    "BertConfig", "BertTokenizer", "BertTokenizerFast", "BasicTokenizer", "WordpieceTokenizer",
    "train_wordpiece_vocab", "BertModel", "BertPreTrainedModel", "BertForPreTraining",
    "BertLMHeadModel", "BertForMaskedLM", "BertForNextSentencePrediction",
    "BertForSequenceClassification", "BertForMultipleChoice", "BertForTokenClassification",
    "BertForQuestionAnswering", "DataCollatorForLanguageModeling",
    "BaseModelOutputWithPoolingAndCrossAttentions", "BertForPreTrainingOutput",
    "CausalLMOutputWithCrossAttentions", "MaskedLMOutput", "NextSentencePredictorOutput",
    "SequenceClassifierOutput", "MultipleChoiceModelOutput", "TokenClassifierOutput",
    "QuestionAnsweringModelOutput", "pipeline",
]

PARTS = ["tokenization", "model", "training", "pretraining", "finetuning", "pipelines", "bench",
         "testing"]

# the flat modules of 0.1; 0.2 moved each into its part's subpackage, with no shim left behind
OLD_MODULES = [
    "attention", "batch_encoding", "checkpointing", "corpus", "embeddings", "encoder", "encoding",
    "generation", "heads", "masking", "measure", "model_base", "modeling", "nsp", "optimization",
    "outputs", "pretrain_cli", "pretrained", "task_models", "tokenization_fast",
    "tokenizer_files", "truncation", "unpadded", "wordpiece",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_importable(name):
    assert name in bertedu.__all__
    assert getattr(bertedu, name).__name__ == name


def test_all_lists_exactly_the_public_names():
    assert sorted(bertedu.__all__) == sorted(PUBLIC)


@pytest.mark.parametrize("part", PARTS)
def test_each_part_is_a_documented_subpackage(part):
    module = importlib.import_module(f"bertedu.{part}")
    assert module.__file__.endswith("__init__.py")
    assert module.__doc__ and len(module.__doc__.split()) >= 10


@pytest.mark.parametrize("old", OLD_MODULES)
def test_old_flat_module_paths_are_gone(old):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"bertedu.{old}")


def test_version_is_0_2():
    assert bertedu.__version__.startswith("0.2.")


def test_public_names_do_not_import_transformers():
    code = (
        "import sys, bertedu\n"
        "for name in bertedu.__all__: getattr(bertedu, name)\n"
        "import bertedu.training, bertedu.pretraining, bertedu.finetuning, bertedu.testing\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'transformers']\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
