"""pipeline(): task names and aliases, loading by path or object, devices, progress bar, and the
clear errors for an unknown task, a missing head or a missing tokenizer."""

import os

import pytest
import torch

import bertedu
from bertedu.pipelines import TASKS, pipeline
from bertedu.pipelines.base import resolve_device
from tests.pipelines.conftest import MINILM
from tests.pipelines.parity import assert_same

DEVICE = os.environ.get("BERTEDU_TEST_DEVICE", "cpu")
TEXTS = ["a fine film", "not my cup of tea at all", "meh"]


def test_every_task_has_its_pipeline():
    assert sorted(TASKS) == ["feature-extraction", "fill-mask", "question-answering",
                             "sentence-embeddings", "text-classification",
                             "token-classification"]


@pytest.mark.parametrize("typo, closest", [("text-clasification", "text-classification"),
                                           ("fillmask", "fill-mask"),
                                           ("question_answering", "question-answering")])
def test_unknown_task_names_the_valid_ones_and_the_closest(typo, closest):
    with pytest.raises(KeyError) as info:
        pipeline(typo, model=MINILM)
    message = str(info.value)
    assert f"unknown task {typo!r}" in message and f"did you mean {closest!r}" in message
    assert "token-classification" in message  # the list of valid tasks


def test_aliases(cls_dir, ner_dir):
    assert pipeline("sentiment-analysis", model=cls_dir).task == "text-classification"
    assert pipeline("ner", model=ner_dir).task == "token-classification"


@pytest.mark.parametrize("task, head", [("token-classification", "classifier"),
                                        ("question-answering", "qa_outputs"),
                                        ("text-classification", "classifier")])
def test_checkpoint_without_the_head_is_refused(task, head):
    with pytest.raises(ValueError, match=rf"no trained '{task}' head.*'{head}\.weight'"):
        pipeline(task, model=MINILM)


def test_checkpoint_with_another_head_is_refused(cls_dir, ner_dir):
    with pytest.raises(ValueError, match=r"saved from BertForSequenceClassification.*not for "
                                         r"'question-answering'"):
        pipeline("question-answering", model=cls_dir)
    # same parameter names ("classifier"), other task: only the saved class tells them apart
    with pytest.raises(ValueError, match=r"saved from BertForTokenClassification.*not for "
                                         r"'text-classification'"):
        pipeline("text-classification", model=ner_dir)
    assert pipeline("feature-extraction", model=ner_dir).task == "feature-extraction"


def test_model_object_of_the_wrong_class_is_refused(cls_dir):
    model = bertedu.BertForSequenceClassification.from_pretrained(cls_dir)
    with pytest.raises(TypeError, match="needs a BertForMaskedLM"):
        pipeline("fill-mask", model=model, tokenizer=cls_dir)


def test_model_object_needs_a_tokenizer(cls_dir):
    model = bertedu.BertForSequenceClassification.from_pretrained(cls_dir)
    with pytest.raises(ValueError, match="tokenizer= is needed"):
        pipeline("text-classification", model=model)
    pipe = pipeline("text-classification", model=model,
                    tokenizer=bertedu.BertTokenizerFast.from_pretrained(cls_dir))
    assert pipe("fine")[0]["label"].startswith("LABEL_")


def test_offsets_need_the_fast_tokenizer(ner_dir):
    slow = bertedu.BertTokenizer.from_pretrained(ner_dir)
    with pytest.raises(TypeError, match="needs character offsets.*BertTokenizerFast"):
        pipeline("token-classification", model=ner_dir, tokenizer=slow)


def test_missing_model_is_a_clear_error():
    with pytest.raises(ValueError, match="needs model="):
        pipeline("fill-mask")


def test_device_convention():
    assert resolve_device(None) == torch.device("cpu")
    assert resolve_device(-1) == torch.device("cpu")
    assert resolve_device(1) == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device(-2)


def test_too_long_input_is_a_clear_error(cls_dir):
    pipe = pipeline("text-classification", model=cls_dir)
    with pytest.raises(ValueError, match="longer than the model's 512 positions.*truncation"):
        pipe("word " * 600)
    assert pipe("word " * 600, truncation=True)[0]["label"].startswith("LABEL_")


def test_progress_bar_for_long_inputs(cls_dir, capsys):
    pipe = pipeline("text-classification", model=cls_dir, batch_size=8)
    pipe(["short"] * 3)
    assert "text-classification" not in capsys.readouterr().err
    pipe(["short"] * 64)
    assert "text-classification" in capsys.readouterr().err
    pipeline("text-classification", model=cls_dir, progress_bar=True)(["short"] * 2)
    assert "text-classification" in capsys.readouterr().err


def test_runs_on_the_test_device(cls_dir):
    # BERTEDU_TEST_DEVICE=cuda runs this on a GPU; the CPU pipeline is the reference
    reference = pipeline("text-classification", model=cls_dir)(TEXTS, top_k=None)
    pipe = pipeline("text-classification", model=cls_dir, device=DEVICE, batch_size=2)
    assert next(pipe.model.parameters()).device.type == torch.device(DEVICE).type
    assert_same(pipe(TEXTS, top_k=None), reference)
