# Each target creates .venv when missing and (re)installs only when pyproject.toml or constraints.txt changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test test-fast lint bench names-dev names-ood server clean-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/corpus ingest --inbox samples/articles
	$(BIN)/corpus sql "select left(source_name, 12) as source, left(coalesce(title, ''), 24) as title, author, published, language as lang, length(clean_text) as chars, (select count(*) from mentions m where m.article_id = a.article_id) as mentions from articles a order by source_name"
	@echo
	@echo "The corpus is in ./corpus_data. Go on with ./corpus (no activation needed), e.g."
	@echo "  ./corpus status"
	@echo "  ./corpus sql \"select title, language from articles\""
	@echo "  ./corpus --help"
	@echo "or put corpus on PATH for this shell: . .venv/bin/activate"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check flows transforms warehouse expectations tests bench
	$(BIN)/mypy transforms flows expectations

# The 10k case: about 4 minutes on 2 cores. Figures and commands are recorded in BENCHMARKS.md.
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/make_corpus.py --n 10000 --out bench/out/corpus10k
	$(BIN)/python bench/throughput.py engine --corpus bench/out/corpus10k/articles
	rm -rf bench/out/home10k
	$(BIN)/python bench/throughput.py flow --corpus bench/out/corpus10k/articles --home bench/out/home10k
	@echo "quality on the synthetic 10k corpus:"
	$(BIN)/python ../shared/eval/score.py --home bench/out/home10k --gold bench/out/corpus10k/gold.json | tail -1
	$(BIN)/python bench/throughput.py html
	$(BIN)/python bench/extraction_aeb.py
	$(BIN)/python bench/names_speed.py
	$(BIN)/python bench/validation_speed.py

# Name linking on real text (../shared/eval/real_dev): P/R/F1 per language group, about 1 minute.
names-dev: $(VENV)/.installed-dev
	$(BIN)/python bench/names_real_dev.py

# False links on 892 out-of-domain pages (AEB + WCXB dev), against bench/ood_judgements.yaml: several minutes.
names-ood: $(VENV)/.installed-dev
	$(BIN)/python bench/names_out_of_domain.py

server: $(VENV)/.installed
	$(BIN)/prefect server start --host 127.0.0.1

clean-demo:
	rm -rf corpus_data
