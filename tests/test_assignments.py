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
from dataclasses import dataclass, field
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


IMPORTS = ("import math\nimport unicodedata\n\nimport torch\nimport torch.nn.functional as F\n\n"
           "from bertedu import BertConfig\n")


def _submission(student: Path, answers: dict[str, str], target: Path,
                imports: str = IMPORTS) -> Path:
    """The student notebook's exercise section, after ``imports``, with ``answers`` pasted into
    the stubs."""
    nb = json.loads(student.read_text())
    cells = nb["cells"]
    start = next(i for i, c in enumerate(cells) if "## Exercises" in _source(c))
    imports = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
               "source": imports}
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


# Every other chapter: one table of graded submissions, one code path. Each submission pastes
# answers over the master's solutions and names, per question, what Otter must give it: "full"
# (4 of 4), "partial" (some but not all points, the output naming the failed case) or "library"
# (3 of 4: right answers, only the library case fails, naming what the solution called).


@dataclass(frozen=True)
class Graded:
    """One submission of a chapter: ``answers`` replace solutions; ``expect`` is question ->
    (verdict, text the grader's output must hold)."""

    kind: str
    answers: dict[str, str] = field(default_factory=dict)
    expect: dict[str, tuple[str, str]] = field(default_factory=dict)


def _correct(*questions: str) -> Graded:
    return Graded("correct", expect={q: ("full", "") for q in questions})


GRADING: dict[str, dict] = {
    "01_introduction": {"submissions": [
        _correct("parameter_count"),
        Graded("wrong", {"my_parameter_count": lambda s: s.replace(  # forgets the pooler
            "num_hidden_layers * layer + pooler", "num_hidden_layers * layer")},
            {"parameter_count": ("partial", "[visible] BERT-base: got 108,891,648")}),
        Graded("library", {"my_parameter_count": (
            "def my_parameter_count(c):\n"
            "    from bertedu import BertModel\n"
            "    return sum(p.numel() for p in BertModel(c).parameters())\n")},
            {"parameter_count": ("library", "BertModel.__init__")}),
    ]},
    "03_embeddings": {"submissions": [
        _correct("embeddings"),
        Graded("wrong", {"embed": lambda s: s.replace(  # LayerNorm with the sample variance
            "unbiased=False", "unbiased=True")},
            {"embeddings": ("partial", "[visible] two sentences: embeddings")}),
        Graded("library", {"embed": (
            "def embed(emb, input_ids, token_type_ids):\n"
            "    return emb(input_ids=input_ids, token_type_ids=token_type_ids)\n")},
            {"embeddings": ("library", "BertEmbeddings.forward")}),
    ]},
    "05_relative_positions": {"submissions": [
        _correct("relative_scores", "sdpa_bias"),
        Graded("wrong and library", {
            "my_relative_scores": lambda s: s.replace(  # drops the key-query term
                'R = R + torch.einsum("bhrd,lrd->bhlr", k, a)', "pass"),
            "my_sdpa_bias": (
                "def my_sdpa_bias(attn, q, k, attention_mask):\n"
                "    from bertedu.model.attention import extended_attention_mask\n"
                "    B, _, T, _ = q.shape\n"
                "    R = attn.relative_scores(q, k) / math.sqrt(q.shape[-1])\n"
                "    bias = extended_attention_mask(attention_mask, B, T, T, q.dtype)\n"
                "    return R if bias is None else R + bias\n")},
            {"relative_scores": ("partial", "relative scores (relative_key_query, T_q=6"),
             "sdpa_bias": ("library", "attention.extended_attention_mask")}),
    ]},
    "06_encoder": {"submissions": [
        _correct("layer", "parameter_formula"),
        Graded("wrong and library", {
            "my_layer": lambda s: s.replace(  # lets every token attend to the padding
                "scores = scores.masked_fill(padding, torch.finfo(scores.dtype).min)", ""),
            "count_parameters": (
                "def count_parameters(c):\n"
                "    from bertedu import BertModel\n"
                "    return sum(p.numel() for p in BertModel(c).parameters())\n")},
            {"layer": ("partial", "[visible] a padded batch: layer output"),
             "parameter_formula": ("library", "BertModel.__init__")}),
    ]},
    "07_heads": {"submissions": [
        _correct("mlm_head", "qa_loss"),
        Graded("wrong and library", {
            "my_qa_loss": lambda s: s.replace(") / 2", ")"),  # sums the two losses
            "my_mlm_head": (
                "def my_mlm_head(sequence_output, cls):\n"
                "    return cls(sequence_output)\n")},
            {"qa_loss": ("partial", "[visible] spans inside the sequence: QA loss"),
             "mlm_head": ("library", "BertOnlyMLMHead.forward")}),
    ]},
    "08_pretrained_weights": {"submissions": [
        _correct("mean_pooling"),
        Graded("wrong", {"my_mean_pooling": (  # averages the padding too
            "def my_mean_pooling(last_hidden_state, attention_mask):\n"
            "    return last_hidden_state.mean(1)\n")},
            {"mean_pooling": ("partial", "[visible] three padded sentences")}),
        Graded("library", {"my_mean_pooling": (
            "def my_mean_pooling(last_hidden_state, attention_mask):\n"
            "    from bertedu.pipelines.feature_extraction import mean_pooling\n"
            "    return mean_pooling(last_hidden_state, attention_mask)\n")},
            {"mean_pooling": ("library", "feature_extraction.mean_pooling")}),
    ]},
    "09_decoder": {"submissions": [
        _correct("causal_mask", "cache_update"),
        Graded("wrong and library", {
            "my_cached_step": lambda s: s.replace(  # forgets the cached tokens' offset
                "torch.arange(S - T, S)[:, None]", "torch.arange(T)[:, None]"),
            "my_causal_mask": (
                "def my_causal_mask(attention_mask, query_length):\n"
                "    from bertedu.model.attention import extended_attention_mask\n"
                "    B, S = attention_mask.shape\n"
                "    bias = extended_attention_mask(attention_mask, B, query_length, S,\n"
                "                                   torch.float32, causal=True)\n"
                "    return (bias == 0).expand(B, 1, query_length, S)\n")},
            {"cache_update": ("partial", "[visible] 4 cached, 3 new, padded: context"),
             "causal_mask": ("library", "attention.extended_attention_mask")}),
    ]},
    "10_pretraining_objectives": {"submissions": [
        _correct("truncate_seq_pair", "mask_tokens"),
        Graded("wrong and library", {
            "my_mask_tokens": lambda s: s.replace(  # may pick [CLS], [SEP] and padding
                ".masked_fill(special_tokens_mask, 0.0)", ""),
            "my_truncate_seq_pair": (
                "def my_truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):\n"
                "    from bertedu.pretraining.nsp import truncate_seq_pair\n"
                "    truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)\n")},
            {"mask_tokens": ("partial", "a special token was picked for prediction"),
             "truncate_seq_pair": ("library", "nsp.truncate_seq_pair")}),
    ]},
    "11_pretraining": {"submissions": [
        _correct("lr_schedule", "param_groups"),
        Graded("wrong and library", {
            "my_lr_schedule": lambda s: s.replace(  # one step ahead during warmup
                "return step / warmup", "return (step + 1) / warmup"),
            "my_param_groups": (
                "def my_param_groups(model, weight_decay):\n"
                "    from bertedu.training.optimization import param_groups\n"
                "    return param_groups(model, weight_decay)\n")},
            {"lr_schedule": ("partial", "factor(0) is 0.1, expected 0.0"),
             "param_groups": ("library", "optimization.param_groups")}),
    ]},
    "12_attention_speed": {"submissions": [
        _correct("varlen_attention"),
        Graded("wrong", {"my_varlen_attention": (  # one attention over the whole pack
            "def my_varlen_attention(q, k, v, lengths):\n"
            "    out = F.scaled_dot_product_attention(q.transpose(0, 1), k.transpose(0, 1),\n"
            "                                         v.transpose(0, 1))\n"
            "    return out.transpose(0, 1)\n")},
            {"varlen_attention": ("partial", "[visible] three sequences: lengths [3, 5, 1]")}),
        Graded("library", {"my_varlen_attention": (
            "def my_varlen_attention(q, k, v, lengths):\n"
            "    from bertedu.model import unpadded\n"
            "    mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)\n"
            "    for i, n in enumerate(lengths):\n"
            "        mask[i, :n] = 1\n"
            "    return unpadded.varlen_attention(q, k, v, unpadded.pack(mask))\n")},
            {"varlen_attention": ("library", "unpadded.varlen_attention")}),
    ]},
    "13_classification": {"submissions": [
        _correct("classifier_logits"),
        Graded("wrong", {"my_classifier_logits": lambda s: s.replace(  # pools the mean, not [CLS]
            "last_hidden_state[:, 0]", "last_hidden_state.mean(1)")},
            {"classifier_logits": ("partial", "[visible] two labels, two sentences: scores")}),
        Graded("library", {"my_classifier_logits": (
            "def my_classifier_logits(last_hidden_state, model):\n"
            "    return model.classifier(model.bert.pooler(last_hidden_state))\n")},
            {"classifier_logits": ("library", "BertPooler.forward")}),
    ]},
    "19_after_bert": {"submissions": [
        _correct("rtd_loss"),
        Graded("wrong", {"my_rtd_loss": lambda s: s.replace(  # averages over the padding too
            "real = attention_mask.bool()", "real = torch.ones_like(attention_mask).bool()")},
            {"rtd_loss": ("partial", "[visible] a padded batch: loss")}),
        Graded("library", {"my_rtd_loss": (
            "def my_rtd_loss(logits, input_ids, original_ids, attention_mask):\n"
            "    real = attention_mask.bool()\n"
            "    y = (input_ids != original_ids).float()\n"
            "    return F.binary_cross_entropy_with_logits(logits[real], y[real])\n")},
            {"rtd_loss": ("library", "functional.binary_cross_entropy_with_logits")}),
    ]},
    "14_token_classification": {"submissions": [
        _correct("label_alignment"),
        Graded("wrong", {"my_align_labels": lambda s: s.replace(  # B- stays B- on later pieces
            "(b_to_i or {}).get(word_labels[word], word_labels[word])", "word_labels[word]")},
            {"label_alignment": ("partial", "every piece labelled (B- becomes I-)")}),
        Graded("library", {"my_align_labels": (
            "def my_align_labels(word_ids, word_labels, label_all_pieces=False, b_to_i=None):\n"
            "    from bertedu.finetuning import token_classification as tc\n"
            "    return tc.align_labels(word_ids, word_labels, label_all_pieces, b_to_i)\n")},
            {"label_alignment": ("library", "token_classification.align_labels")}),
    ]},
    "15_question_answering": {
        "imports": "import re\nimport string\nfrom collections import Counter\n",
        "submissions": [
            _correct("answer_positions", "doc_stride_windows", "squad_f1"),
            Graded("wrong and library", {
                "my_answer_positions": (  # forgets the window's edges: never answers [CLS]
                    "def my_answer_positions(offsets, sequence_ids, start_char, end_char):\n"
                    "    context = [t for t, s in enumerate(sequence_ids) if s == 1]\n"
                    "    start = max([t for t in context if offsets[t][0] <= start_char]\n"
                    "                or context[:1])\n"
                    "    end = min([t for t in context if offsets[t][1] >= end_char]\n"
                    "              or context[-1:])\n"
                    "    return start, end\n"),
                "my_squad_f1": (  # right answers, from the library
                    "def my_squad_f1(prediction, gold_answers):\n"
                    "    from bertedu.finetuning.metrics import squad_scores\n"
                    "    s = squad_scores({'q': prediction}, {'q': gold_answers})\n"
                    "    return s['exact_match'] / 100, s['f1'] / 100\n")},
                {"doc_stride_windows": ("full", ""),
                 "answer_positions": ("partial", "an answer one piece past the window"),
                 "squad_f1": ("library", "metrics.squad_scores")}),
        ]},
    "16_multiple_choice": {"submissions": [
        _correct("choice_logits"),
        Graded("wrong", {"my_choice_logits": (  # folds right, unfolds (C, B)
            "def my_choice_logits(input_ids, attention_mask, token_type_ids, model):\n"
            "    B, C, T = input_ids.shape\n"
            "    pooled = model.bert(input_ids=input_ids.reshape(-1, T),\n"
            "                        attention_mask=attention_mask.reshape(-1, T),\n"
            "                        token_type_ids=token_type_ids.reshape(-1, T)).pooler_output\n"
            "    return model.classifier(pooled).view(C, B).T\n")},
            {"choice_logits": ("partial", "more questions than choices: choice scores")}),
        Graded("library", {"my_choice_logits": (  # right answers, from the library's model
            "def my_choice_logits(input_ids, attention_mask, token_type_ids, model):\n"
            "    return model(input_ids, attention_mask=attention_mask,\n"
            "                 token_type_ids=token_type_ids).logits\n")},
            {"choice_logits": ("library", "BertForMultipleChoice.forward")}),
    ]},
    "17_distillation": {"submissions": [
        _correct("distillation_loss"),
        Graded("wrong", {"my_distillation_loss": lambda s: s.replace(  # forgets the T^2 factor
            "alpha * temperature ** 2 * kl", "alpha * kl")},
            {"distillation_loss": ("partial", "[visible] two classes, T=2, alpha=0.5: loss")}),
        Graded("library", {"my_distillation_loss": (
            "def my_distillation_loss(student_logits, teacher_logits, labels, temperature,\n"
            "                         alpha):\n"
            "    from bertedu.finetuning.distillation import distillation_loss\n"
            "    return distillation_loss(student_logits, teacher_logits, labels, temperature,\n"
            "                             alpha)[0]\n")},
            {"distillation_loss": ("library", "distillation.distillation_loss")}),
    ]},
    "18_export": {"submissions": [
        _correct("int8_linear"),
        Graded("wrong", {"my_int8_linear": lambda s: s.replace(  # 8-bit inputs, not PyTorch's 7
            "/ 127\n", "/ 255\n").replace("z_x, 0, 127)", "z_x, 0, 255)")},
            {"int8_linear": ("partial", "[visible] one token, 8 -> 4: int8 output")}),
        Graded("library", {"my_int8_linear": (
            "def my_int8_linear(x, weight, bias):\n"
            "    from bertedu.pipelines.export import quantize_int8\n"
            "    layer = torch.nn.Linear(weight.shape[1], weight.shape[0])\n"
            "    layer.weight.data, layer.bias.data = weight, bias\n"
            "    return quantize_int8(torch.nn.Sequential(layer))[0](x)\n")},
            {"int8_linear": ("library", "export.quantize_int8")}),
    ]},
    "20_scaling": {"submissions": [
        _correct("rank_losses"),
        Graded("wrong", {"my_rank_losses": (  # a rank's local mean over W: right only if even
            "def my_rank_losses(token_losses, picked):\n"
            "    w = len(picked)\n"
            "    return [lo[p].mean() / w for lo, p in zip(token_losses, picked, strict=True)]\n")},
            {"rank_losses": ("partial", "[visible] three ranks, uneven lengths: rank 0 of 3")}),
        Graded("library", {"my_rank_losses": (
            "def my_rank_losses(token_losses, picked):\n"
            "    from bertedu.training.distributed import Distributed\n"
            "    total = Distributed().sum(sum(p.sum() for p in picked).float())\n"
            "    return [(lo * p).sum() / total for lo, p in zip(token_losses, picked)]\n")},
            {"rank_losses": ("library", "Distributed.sum")}),
    ]},
}
# Graded above this table, with their own tests.
GRADED_ELSEWHERE = {"02_tokenization", "04_self_attention"}
CASES = [(chapter, s) for chapter, table in GRADING.items() for s in table["submissions"]]

# Grades every submission in one interpreter: Otter starts one kernel per submission either
# way, and importing Otter once instead of once per `otter run` saves seconds per submission.
GRADER = """
import contextlib, io, json, sys
from dataclasses import dataclass, field
from pathlib import Path
import otter.run
for bundle, submission in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()):
        otter.run.main(submission, autograder=bundle, output_dir=str(Path(submission).parent),
                       no_logo=True)
"""


def _answers(solutions: dict[str, str], graded: Graded) -> dict[str, str]:
    """The master's solutions with ``graded``'s answers (a source, or an edit of the solution)."""
    answers = dict(solutions)
    for fn, answer in graded.answers.items():
        answers[fn] = answer(solutions[fn]) if callable(answer) else answer
        assert answers[fn] != solutions[fn], f"{fn}: the edit left the solution unchanged"
    return answers


@pytest.fixture(scope="module")
def graded_chapters(tmp_path_factory):
    """Build every chapter of GRADING with `make assignments`' builder, grade its submissions."""
    out = tmp_path_factory.mktemp("graded")
    builder, jobs, scores = _load_builder(), [], {}
    for chapter, table in GRADING.items():
        builder.build(ROOT / f"notebooks/{chapter}.ipynb", out)
        student = out / chapter / "student" / f"{chapter}.ipynb"
        bundle = next((out / chapter / "autograder").glob("*.zip"))
        for graded in table["submissions"]:
            target = out / "submissions" / chapter / graded.kind.replace(" ", "_")
            target.mkdir(parents=True)
            submission = _submission(student, _answers(_solutions(out, chapter), graded),
                                     target / f"{chapter}.ipynb", table.get("imports", IMPORTS))
            jobs.append((str(bundle), str(submission)))
    subprocess.run([sys.executable, "-c", GRADER, json.dumps(jobs)], check=True,
                   capture_output=True, timeout=1500)
    for (chapter, graded), (_, submission) in zip(CASES, jobs, strict=True):
        results = json.loads((Path(submission).parent / "results.json").read_text())["tests"]
        scores[chapter, graded.kind] = {t["name"]: (t["score"], t["max_score"], t["output"])
                                        for t in results if "score" in t}
    return out, scores


@pytest.mark.parametrize("chapter", list(GRADING))
def test_student_notebook_holds_stubs_and_no_solution(graded_chapters, chapter):
    out, _ = graded_chapters
    student = json.loads((out / chapter / "student" / f"{chapter}.ipynb").read_text())
    stubs = {re.match(r"def (\w+)\(", _source(c)).group(1): _source(c) for c in student["cells"]
             if c["metadata"].get("tags", []) == ["otter_answer_cell"]}
    solutions = _solutions(out, chapter)
    assert stubs.keys() == solutions.keys() and len(stubs) == len(_questions(
        ROOT / f"notebooks/{chapter}.ipynb"))
    for fn, stub in stubs.items():
        assert stub.rstrip().endswith("..."), fn
        body = solutions[fn].split("# BEGIN SOLUTION")[1].split("# END SOLUTION")[0]
        for line in [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 12]:
            assert line not in stub, (fn, line)
    text = json.dumps(student)
    assert "BEGIN SOLUTION" not in text and "# BEGIN TESTS" not in text
    assert not [c for c in student["cells"] if c["cell_type"] == "raw"]


@pytest.mark.parametrize(("chapter", "graded"), CASES,
                         ids=[f"{c}-{g.kind.replace(' ', '_')}" for c, g in CASES])
def test_otter_grades_the_submission(graded_chapters, chapter, graded):
    _, scores = graded_chapters
    got = scores[chapter, graded.kind]
    assert got.keys() == set(_questions(ROOT / f"notebooks/{chapter}.ipynb")), got.keys()
    for question, (verdict, text) in graded.expect.items():
        score, total, output = got[question]
        assert total == 4.0, question
        if verdict == "full":
            assert score == 4.0, (question, output)
        elif verdict == "partial":
            assert 0 < score < 4.0 and text in output, (question, score, output)
        else:  # the library case alone fails, naming the library code the solution called
            assert score == 3.0 and f"calls the library's {text}" in output, (question, output)


def test_every_chapter_with_a_question_is_assigned_and_has_a_grading_case():
    with_questions = {n.stem for n in CHAPTERS if _questions(n)}
    builder = _load_builder()
    assert with_questions == {n.stem for n in CHAPTERS if builder.has_questions(n)}
    graded = set(GRADING) | GRADED_ELSEWHERE
    assert not set(GRADING) & GRADED_ELSEWHERE
    missing, extra = with_questions - graded, graded - with_questions
    assert not missing, f"chapters with an Otter question and no grading case: {sorted(missing)}"
    assert not extra, f"grading cases for chapters without a question: {sorted(extra)}"
    for chapter, table in GRADING.items():
        kinds = [v for s in table["submissions"] for v, _ in s.expect.values()]
        assert {"full", "partial", "library"} <= set(kinds), chapter
        correct = [s for s in table["submissions"] if s.kind == "correct"]
        assert correct and set(correct[0].expect) == set(_questions(
            ROOT / f"notebooks/{chapter}.ipynb")), chapter
