"""Course assignments: the chapters are Otter-Grader master notebooks.

Static checks on every chapter (each question has a folded solution between Otter's markers and
four graded tests; Otter's cells are removed from the book), then `otter assign` on chapters 2 and
4: the student notebooks hold stubs and no solutions, and `otter run` (no container) gives full
marks to a correct submission and partial marks, with the checkers' messages, to a wrong one.
The graded submissions keep only their exercise section (the chapter's narrative cells are not
what is graded), so each run takes seconds.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OTTER = Path(sys.executable).with_name("otter")


def _source(cell) -> str:
    return "".join(cell["source"])


def _questions(notebook: Path) -> dict[str, list[dict]]:
    """Question name -> the cells between its BEGIN and END QUESTION raw cells."""
    questions, current = {}, None
    for cell in json.loads(notebook.read_text())["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "raw" and text.startswith("# BEGIN QUESTION"):
            current = re.search(r"name: (\w+)", text).group(1)
            questions[current] = []
        elif cell["cell_type"] == "raw" and text.startswith("# END QUESTION"):
            current = None
        elif current:
            questions[current].append(cell)
    return questions


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[n.stem for n in CHAPTERS])
def test_every_chapter_grades_its_exercises_with_folded_solutions(notebook):
    questions = _questions(notebook)
    assert questions, f"{notebook.name} has no graded question"
    for name, cells in questions.items():
        solutions = [c for c in cells if "# BEGIN SOLUTION" in _source(c)
                     and c["cell_type"] == "code"]
        assert len(solutions) == 1, name
        assert "hide-input" in solutions[0]["metadata"]["tags"], f"{name}: solution in plain view"
        tests = [c for c in cells if "# BEGIN TEST CONFIG" in _source(c)]
        groups = [re.search(r'groups="(\w+)"', _source(c)).group(1) for c in tests]
        assert groups == ["visible", "edge", "hidden", "library"], name
        hidden = [re.search(r"hidden: (\w+)", _source(c)).group(1) for c in tests]
        assert hidden == ["false", "false", "true", "false"], name
        for cell in tests + [c for c in cells if c["cell_type"] == "raw"]:
            assert cell["metadata"].get("tags") == ["remove-cell"], f"{name}: Otter cell shown"


def _load_builder():
    spec = importlib.util.spec_from_file_location("assign_build", ROOT / "tools/assign/build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def assignments(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    builder = _load_builder()
    files = {n: builder.build(ROOT / f"notebooks/{n}.ipynb", out)
             for n in ("02_tokenization", "04_self_attention")}
    return out, files


def test_make_assignments_writes_a_student_notebook_and_an_autograder_bundle(assignments):
    out, files = assignments
    for name, paths in files.items():
        relative = sorted(str(p.relative_to(out / name)) for p in paths)
        assert f"student/{name}.ipynb" in relative and f"autograder/{name}.ipynb" in relative
        assert any(re.fullmatch(rf"autograder/{name}-autograder_.*\.zip", r) for r in relative)


def test_student_notebooks_hold_stubs_and_no_solutions(assignments):
    out, _ = assignments
    solution_lines = {"04_self_attention": ["masked_fill(padding", "context.transpose(1, 2)"],
                      "02_tokenization": ["normalize(\"NFD\"", "range(len(word), start, -1)",
                                          "ids_a = ids_a[:-1]"]}
    for name, lines in solution_lines.items():
        student = json.loads((out / name / "student" / f"{name}.ipynb").read_text())
        exercise = [c for c in student["cells"] if c["metadata"].get("tags", []) == [
            "otter_answer_cell"]]
        assert exercise and all(_source(c).rstrip().endswith("...") for c in exercise)
        text = "\n".join(_source(c) for c in student["cells"][-len(exercise) * 6:])
        for line in lines + ["BEGIN SOLUTION", "END SOLUTION", "BEGIN TESTS"]:
            assert line not in text, (name, line)
        assert not [c for c in student["cells"] if c["cell_type"] == "raw"]
        public = json.dumps(student["metadata"]["otter"]["tests"])
        assert 'groups=\'visible\'' in public and 'groups=\'hidden\'' not in public


def _submission(student: Path, answers: dict[str, str], target: Path) -> Path:
    """The student notebook's exercise section with ``answers`` pasted into the stubs."""
    nb = json.loads(student.read_text())
    cells = nb["cells"]
    start = next(i for i, c in enumerate(cells) if "## Exercises" in _source(c))
    imports = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
               "source": "import math\nimport unicodedata\n\nimport torch\n"}
    nb["cells"] = [cells[0], imports] + cells[start:]
    for cell in nb["cells"]:
        for fn, body in answers.items():
            if cell["cell_type"] == "code" and _source(cell).startswith(f"def {fn}("):
                cell["source"] = body
    target.write_text(json.dumps(nb))
    return target


def _grade(out: Path, name: str, submission: Path) -> dict[str, tuple[float, float, str]]:
    bundle = next((out / name / "autograder").glob("*.zip"))
    subprocess.run([str(OTTER), "run", "--no-logo", "-a", str(bundle), "-o",
                    str(submission.parent), str(submission)], check=True, capture_output=True,
                   cwd=submission.parent, timeout=300)
    results = json.loads((submission.parent / "results.json").read_text())["tests"]
    return {t["name"]: (t["score"], t["max_score"], t["output"]) for t in results
            if "score" in t}


def _solutions(out: Path, name: str) -> dict[str, str]:
    """The master's solution cells, by function name (the correct submission)."""
    master = json.loads((out / name / "autograder" / f"{name}.ipynb").read_text())
    return {re.match(r"def (\w+)\(", _source(c)).group(1): _source(c)
            for c in master["cells"] if "otter_assign_solution_cell" in
            c["metadata"].get("tags", [])}


def test_otter_gives_full_marks_to_a_correct_submission(assignments, tmp_path):
    out, _ = assignments
    name = "04_self_attention"
    submission = _submission(out / name / "student" / f"{name}.ipynb", _solutions(out, name),
                             tmp_path / "correct.ipynb")
    assert _grade(out, name, submission)["attention"][:2] == (4.0, 4.0)


def test_otter_gives_partial_marks_with_messages_to_a_wrong_submission(assignments, tmp_path):
    out, _ = assignments
    name = "02_tokenization"
    answers = _solutions(out, name)
    answers["my_basic_tokenize"] = (  # forgets to strip accents and to space out CJK
        "def my_basic_tokenize(text):\n"
        "    out = []\n"
        "    for word in text.lower().split():\n"
        "        out += [t for t in re.split(r'(\\W)', word) if t.strip()]\n"
        "    return out\n").replace("def my", "import re\n\n\ndef my")
    answers["my_truncate_longest_first"] = (  # right answers, from the library
        "def my_truncate_longest_first(ids_a, ids_b, max_length):\n"
        "    from bertedu import BertTokenizer\n"
        "    n = len(ids_a) + len(ids_b) + 3 - max_length\n"
        "    return BertTokenizer.truncate_sequences(ids_a, ids_b, n, 'longest_first')\n")
    submission = _submission(out / name / "student" / f"{name}.ipynb", answers,
                             tmp_path / "wrong.ipynb")
    scores = _grade(out, name, submission)
    assert scores["wordpiece"][:2] == (4.0, 4.0)
    assert scores["basic_tokenize"][0] < 4.0
    assert "basic tokenization of 'Héllo naïve café, crème brûlée.'" in scores["basic_tokenize"][2]
    assert scores["truncate_longest_first"][:2] == (3.0, 4.0)
    assert "calls the library's EncodingMixin.truncate_sequences" in scores[
        "truncate_longest_first"][2]


@pytest.fixture(scope="module")
def multiple_choice_assignment(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments16")
    name = "16_multiple_choice"
    _load_builder().build(ROOT / f"notebooks/{name}.ipynb", out)
    return out, name


def test_chapter_16_student_notebook_holds_a_stub_and_no_solution(multiple_choice_assignment):
    out, name = multiple_choice_assignment
    student = json.loads((out / name / "student" / f"{name}.ipynb").read_text())
    text = "\n".join(_source(c) for c in student["cells"])
    assert "def my_choice_logits(" in text
    for line in ["pooler_output  # (B*C, H)", "model.classifier(pooled).view(B, C)",
                 "BEGIN SOLUTION"]:
        assert line not in text, line


def test_otter_grades_chapter_16_full_and_partial_marks(multiple_choice_assignment, tmp_path):
    out, name = multiple_choice_assignment
    student = out / name / "student" / f"{name}.ipynb"
    (tmp_path / "right").mkdir()
    correct = _submission(student, _solutions(out, name), tmp_path / "right" / "correct.ipynb")
    assert _grade(out, name, correct)["choice_logits"][:2] == (4.0, 4.0)
    wrong = {"my_choice_logits": (  # folds right, unfolds (C, B): scores land on other questions
        "def my_choice_logits(input_ids, attention_mask, token_type_ids, model):\n"
        "    B, C, T = input_ids.shape\n"
        "    pooled = model.bert(input_ids=input_ids.reshape(-1, T),\n"
        "                        attention_mask=attention_mask.reshape(-1, T),\n"
        "                        token_type_ids=token_type_ids.reshape(-1, T)).pooler_output\n"
        "    return model.classifier(pooled).view(C, B).T\n")}
    (tmp_path / "wrong").mkdir()
    scores = _grade(out, name, _submission(student, wrong, tmp_path / "wrong" / "wrong.ipynb"))
    score, total, output = scores["choice_logits"]
    assert total == 4.0 and 0 < score < 4.0
    assert "more questions than choices: choice scores" in output
    cheat = {"my_choice_logits": (  # right answers, from the library's own model
        "def my_choice_logits(input_ids, attention_mask, token_type_ids, model):\n"
        "    return model(input_ids, attention_mask=attention_mask,\n"
        "                 token_type_ids=token_type_ids).logits\n")}
    (tmp_path / "cheat").mkdir()
    scores = _grade(out, name, _submission(student, cheat, tmp_path / "cheat" / "cheat.ipynb"))
    assert scores["choice_logits"][:2] == (3.0, 4.0)
    assert "calls the library's BertForMultipleChoice.forward" in scores["choice_logits"][2]


@pytest.fixture(scope="module")
def qa_assignment(tmp_path_factory):
    out = tmp_path_factory.mktemp("qa_assignment")
    name = "15_question_answering"
    files = _load_builder().build(ROOT / f"notebooks/{name}.ipynb", out)
    return out, name, files


def _qa_submission(out: Path, name: str, answers: dict[str, str], target: Path) -> Path:
    """Chapter 15's exercise section with ``answers``, after the imports its solutions use."""
    submission = _submission(out / name / "student" / f"{name}.ipynb", answers, target)
    nb = json.loads(submission.read_text())
    nb["cells"][1]["source"] = "import re\nimport string\nfrom collections import Counter\n"
    target.write_text(json.dumps(nb))
    return target


def test_chapter_15_student_notebook_has_three_stubbed_questions(qa_assignment):
    out, name, files = qa_assignment
    relative = sorted(str(p.relative_to(out / name)) for p in files)
    assert f"student/{name}.ipynb" in relative
    student = json.loads((out / name / "student" / f"{name}.ipynb").read_text())
    stubs = [c for c in student["cells"] if c["metadata"].get("tags", []) == ["otter_answer_cell"]]
    assert [re.match(r"def (\w+)\(", _source(c)).group(1) for c in stubs] == [
        "my_answer_positions", "my_doc_stride_windows", "my_squad_f1"]
    text = json.dumps(student)
    for line in ["Counter(p) & Counter(g)", "first += room - doc_stride", "BEGIN SOLUTION"]:
        assert line not in "\n".join(_source(c) for c in stubs) and "# BEGIN TESTS" not in text


def test_otter_grades_chapter_15_full_and_partial_marks(qa_assignment, tmp_path):
    out, name, _ = qa_assignment
    answers = _solutions(out, name)
    (tmp_path / "right").mkdir()
    scores = _grade(out, name, _qa_submission(out, name, answers, tmp_path / "right/right.ipynb"))
    assert {q: scores[q][:2] for q in ("answer_positions", "doc_stride_windows", "squad_f1")} == {
        q: (4.0, 4.0) for q in ("answer_positions", "doc_stride_windows", "squad_f1")}
    answers["my_answer_positions"] = (  # forgets the window's edges: never answers [CLS]
        "def my_answer_positions(offsets, sequence_ids, start_char, end_char):\n"
        "    context = [t for t, s in enumerate(sequence_ids) if s == 1]\n"
        "    start = max([t for t in context if offsets[t][0] <= start_char] or context[:1])\n"
        "    end = min([t for t in context if offsets[t][1] >= end_char] or context[-1:])\n"
        "    return start, end\n")
    answers["my_squad_f1"] = (  # right answers, from the library
        "def my_squad_f1(prediction, gold_answers):\n"
        "    from bertedu.finetuning.metrics import squad_scores\n"
        "    s = squad_scores({'q': prediction}, {'q': gold_answers})\n"
        "    return s['exact_match'] / 100, s['f1'] / 100\n")
    (tmp_path / "wrong").mkdir()
    scores = _grade(out, name, _qa_submission(out, name, answers, tmp_path / "wrong/wrong.ipynb"))
    assert scores["doc_stride_windows"][:2] == (4.0, 4.0)
    assert scores["answer_positions"][0] < 4.0
    assert "an answer one piece past the window" in scores["answer_positions"][2]
    assert "expected (0, 0)" in scores["answer_positions"][2]
    assert scores["squad_f1"][:2] == (3.0, 4.0)
    assert "calls the library's metrics.squad_scores" in scores["squad_f1"][2]


@pytest.fixture(scope="module")
def token_classification_assignment(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments_14")
    name = "14_token_classification"
    _load_builder().build(ROOT / f"notebooks/{name}.ipynb", out)
    return out, name


def test_chapter_14_grades_label_alignment_full_partial_and_library_call(
        token_classification_assignment, tmp_path):
    out, name = token_classification_assignment
    student = out / name / "student" / f"{name}.ipynb"
    stub = [c for c in json.loads(student.read_text())["cells"]
            if _source(c).startswith("def my_align_labels(")]
    assert len(stub) == 1 and _source(stub[0]).rstrip().endswith("...")
    assert "(b_to_i or {}).get" not in student.read_text()
    solutions = _solutions(out, name)
    (tmp_path / "correct").mkdir()
    correct = _submission(student, solutions, tmp_path / "correct" / "correct.ipynb")
    assert _grade(out, name, correct)["label_alignment"][:2] == (4.0, 4.0)
    (tmp_path / "wrong").mkdir()  # B- stays B- on a word's later pieces
    wrong = _submission(student, {"my_align_labels": solutions["my_align_labels"].replace(
        "(b_to_i or {}).get(word_labels[word], word_labels[word])", "word_labels[word]")},
        tmp_path / "wrong" / "wrong.ipynb")
    score, total, output = _grade(out, name, wrong)["label_alignment"]
    assert total == 4.0 and 0 < score < 4.0
    assert "every piece labelled (B- becomes I-)" in output and "label_all_pieces=True" in output
    (tmp_path / "library").mkdir()
    cheat = _submission(student, {"my_align_labels": (
        "def my_align_labels(word_ids, word_labels, label_all_pieces=False, b_to_i=None):\n"
        "    from bertedu.finetuning import token_classification as tc\n"
        "    return tc.align_labels(word_ids, word_labels, label_all_pieces, b_to_i)\n")},
        tmp_path / "library" / "library.ipynb")
    score, _, output = _grade(out, name, cheat)["label_alignment"]
    assert score == 3.0 and "calls the library's token_classification.align_labels" in output
