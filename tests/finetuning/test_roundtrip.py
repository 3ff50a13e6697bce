"""A fine-tuned checkpoint round trip for all four task heads: bertedu fine-tunes and saves,
transformers loads the folder with no missing, unexpected or mismatched keys and computes the
same scores (1e-5) on the task's own batches."""

import warnings

import pytest
import torch

from bertedu import BertModel
from bertedu.finetuning import finetune, get_task
from bertedu.finetuning.batching import pad_batch
from bertedu.finetuning.data import label_names
from bertedu.finetuning.run import load_task_splits

OUTPUTS = {"sst2": ("logits",), "wnut_17": ("logits",), "commonsense_qa": ("logits",),
           "squad": ("start_logits", "end_logits")}


@pytest.mark.parametrize("task", list(OUTPUTS))
def test_transformers_loads_every_finetuned_head(task, tiny_model_dir, tokenizer, tmp_path):
    import transformers

    spec = get_task(task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the new head is reported as initialised
        result = finetune(task, tiny_model_dir, tmp_path, max_steps=2, batch_size=4,
                          max_train_samples=8, max_eval_samples=4, learning_rate=1e-3,
                          progress=False)
    ref, info = getattr(transformers, spec.model_class).from_pretrained(
        tmp_path, output_loading_info=True, attn_implementation="eager")
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert info["mismatched_keys"] == [] and info["error_msgs"] == []
    if spec.head_labels:
        assert ref.config.id2label == dict(enumerate(label_names(task)))
    ours = type(result.model).from_pretrained(tmp_path).eval()
    # the saved weights are trained ones, not the start weights
    key = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(ours.bert.state_dict()[key],
                           BertModel.from_pretrained(tiny_model_dir).state_dict()[key])
    _, eval_ds = load_task_splits(spec, None, None, 4, need_train=False)
    labels = label_names(task) if spec.head_labels else []
    encoded = spec.encode(tokenizer, eval_ds, False, labels)
    features = getattr(encoded, "features", encoded)
    features = features[0] if isinstance(features, tuple) else features
    batch = pad_batch(features[:4], tokenizer.pad_token_id)
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        a, b = ours(**inputs), ref.eval()(**inputs)
    for name in OUTPUTS[task]:
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=1e-5, rtol=1e-5)
