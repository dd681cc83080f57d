# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine:
# they create .venv, install the package with what each needs (demo: predicting only; test: every
# extra and a browser), then run.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BASE_STAMP := $(VENV)/.installed-base
UTKFACE ?= ../shared/data/utkface/images
AAF     ?= ../shared/data/aaf/images

.PHONY: setup setup-base browser test test-all lint demo serve data bench clean

# What predicting needs and nothing more (~500 MB, no PyTorch, no system packages): for make demo.
setup-base: $(BASE_STAMP)

$(BASE_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(BASE_STAMP)

# Everything the tests and the tools need: every extra, and Debian's Chromium for the browser tests.
setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory browser
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP) $(BASE_STAMP)

# The browser tests drive Debian's Chromium; install it where we may (root + apt-get).
browser:
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core; } \
	  || echo "warning: could not install chromium; the browser tests will be skipped"; }

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

demo: $(BASE_STAMP)
	$(BIN)/agegender predict src/agegender/assets/astronaut.jpg --annotate demo-output

serve: $(BASE_STAMP)
	$(BIN)/python -m pip install -q -e '.[server]'
	$(BIN)/agegender serve --host 127.0.0.1 --port 8000

# 64 px caches of the committed manifests (needs the images at $(UTKFACE) and $(AAF)); AAF's photos
# go through the analyzer's detector and alignment.
data: $(STAMP)
	$(BIN)/agegender data cache data/utkface_manifest.csv --root $(UTKFACE) -o cache/utk64 --size 64
	$(BIN)/agegender data cache data/aaf_manifest.csv --root $(AAF) -o cache/aaf64 --size 64 --detect

# Speed and memory on this machine: run them with nothing else busy (see benchmarks/README.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py --utkface $(UTKFACE) --out benchmarks/results
	$(BIN)/python benchmarks/bench_inference.py --utkface $(UTKFACE) --out benchmarks/results
	$(BIN)/python benchmarks/bench_detection.py --utkface $(UTKFACE) --out benchmarks/results
	$(BIN)/python benchmarks/bench_vs_peer.py --aaf $(AAF) --out benchmarks/results
	$(BIN)/python benchmarks/install_size.py --out benchmarks/results

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
