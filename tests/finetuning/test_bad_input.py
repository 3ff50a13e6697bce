"""Bad input to finetune(), for every task: a missing column (the error names the column and the
task), labels out of range (row and value), an empty split, an unknown task name. (SQuAD answers
whose answer_start does not match their text: test_run.py and test_question_answering.py.)"""

import json
import shutil

import pytest

from bertedu.finetuning import evaluate, finetune, get_task
from bertedu.finetuning.data import load_split, resolve_data_dir

# the split each task trains on, and a column it cannot do without
SPLITS = {"sst2": ("train", "validation", "sentence"), "wnut_17": ("train", "test", "tokens"),
          "commonsense_qa": ("train", "validation", "choices"),
          "squad": ("validation", "validation", "context")}


def _rows(task, split, n):
    ds = load_split(task, split)
    if task == "squad":  # one question per article, so the article split has both sides
        titles = list(ds["title"])
        return [dict(ds[titles.index(t)]) for t in dict.fromkeys(titles)]
    return [dict(ds[i]) for i in range(n)]


def _folder(root, task, splits):
    (root / task).mkdir(parents=True)
    for split, rows in splits.items():
        (root / task / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    if task == "wnut_17":
        shutil.copy(resolve_data_dir() / task / "labels.json", root / task / "labels.json")
    return root


def _finetune(task, model_dir, root):
    return finetune(task, model_dir, max_steps=1, batch_size=2, data_dir=root, progress=False)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("task", list(SPLITS))
def test_a_missing_column_is_named_with_the_task(task, tiny_model_dir, tmp_path):
    train_split, eval_split, column = SPLITS[task]
    rows = _rows(task, train_split, 6)
    broken = [{k: v for k, v in r.items() if k != column} for r in rows]
    splits = {train_split: broken} if task == "squad" else {
        train_split: broken, eval_split: _rows(task, eval_split, 4)}
    root = _folder(tmp_path, task, splits)
    with pytest.raises(ValueError, match=f"{task}: the dataset has no column '{column}'"):
        _finetune(task, tiny_model_dir, root)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("task, edit, message", [
    ("sst2", lambda r: r.update(label=2), "sst2: row 3 has label 2, outside 0..1"),
    ("sst2", lambda r: r.update(label=-1), "sst2: row 3 has label -1, outside 0..1"),
    ("wnut_17", lambda r: r["ner_tags"].__setitem__(0, 13),
     "wnut_17: row 3 has tag 13, outside 0..12"),
    ("commonsense_qa", lambda r: r.update(answerKey="F"),
     r"commonsense_qa: row 3 has answerKey 'F', not one of its choice labels"),
])
def test_labels_out_of_range_name_the_row(task, edit, message, tiny_model_dir, tmp_path):
    train_split, eval_split, _ = SPLITS[task]
    rows = _rows(task, train_split, 6)
    edit(rows[3])
    root = _folder(tmp_path, task, {train_split: rows, eval_split: _rows(task, eval_split, 4)})
    with pytest.raises(ValueError, match=message):
        _finetune(task, tiny_model_dir, root)


@pytest.mark.parametrize("task", ["wnut_17", "commonsense_qa"])
def test_an_empty_split_is_an_error(task, tiny_model_dir, tmp_path):
    train_split, eval_split, _ = SPLITS[task]
    root = _folder(tmp_path / "a", task, {train_split: _rows(task, train_split, 4),
                                          eval_split: []})
    with pytest.raises(ValueError, match=f"the '{eval_split}' split of '{task}' is empty"):
        _finetune(task, tiny_model_dir, root)
    root = _folder(tmp_path / "b", task, {train_split: [], eval_split: _rows(task, eval_split, 4)})
    with pytest.raises(ValueError, match=f"the '{train_split}' split of '{task}' is empty"):
        _finetune(task, tiny_model_dir, root)


def test_unknown_task_names_are_refused_everywhere(tiny_model_dir):
    for call in (lambda: finetune("sst-2", tiny_model_dir), lambda: evaluate("sst-2", "x"),
                 lambda: get_task("sst-2")):
        with pytest.raises(ValueError, match=r"unknown task 'sst-2' \(did you mean 'sst2'\?\): "
                                             r"choose one of sst2, wnut_17, squad, commonsense_qa"):
            call()
