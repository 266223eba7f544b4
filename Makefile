# The README's two commands:
#   make example   install everything, build the bundled example workspace, print a summary
#   make test      install everything (test servers included) and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
WS     ?= ws

.PHONY: install example test bench bench-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned: pip takes this CPU build from local disk; an unpinned torch pulls GBs of CUDA.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	# llama.cpp (paraphrasing) built for portable x86-64 with AVX2: its default -march=native build
	# segfaults on the first decode on CPUs with AMX/AVX-512 (seen here); --no-cache-dir so a native
	# wheel cached by an earlier install is not reused.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q --no-cache-dir llama-cpp-python==0.3.36
	$(BIN)/pip install -q -e ".[ml,test,server,rag]"
	touch $@

install: $(VENV)/.installed
	command -v apt-get >/dev/null && (test -f /usr/share/java/jena-tdb2.jar || apt-get install -y -q libapache-jena-java) || true

example: install
	$(BIN)/kg build examples/corpus -w $(WS) --schema examples/schema.yaml
	$(BIN)/kg stats -w $(WS)

test: install
	$(BIN)/python -m pytest tests

# PyKEEN (link-prediction baselines; its wheel also ships the Nations/Kinships/UMLS splits) installs
# next to the pinned CPU torch without replacing it.
bench-data: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[bench]"
	command -v apt-get >/dev/null && (test -d /usr/share/wordnet || apt-get install -y -q wordnet-base) || true

bench: install bench-data
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_stores.py
	$(BIN)/python benchmarks/eval_extraction.py
	$(BIN)/python benchmarks/bench_zh_ner.py
	$(BIN)/python benchmarks/bench_complete.py
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_embed.py
	$(BIN)/python benchmarks/bench_retrieve.py
	$(BIN)/python benchmarks/bench_inject.py

clean:
	rm -rf $(WS) .pytest_cache
