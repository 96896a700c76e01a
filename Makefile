# `make demo` and `make test` create .venv on first use (Python 3.10, the pinned lock, this
# package) and reuse it afterwards.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
DEMO_OUTPUT := demo_output
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 1
export PYTHONWARNINGS := ignore::FutureWarning

.PHONY: demo test browser lock clean

# Demo-sized, measured (docs/BENCHMARKS.md): 80 labels of 8,000 doodles, where the pool pays
# most; 90 steps of consistency training with adaptive thresholds (150 bought 2 points more and
# took 14-18 s longer: past 2 minutes with AVX2 kernels) and pre-training on 4,000 doodles for
# 48 steps (3 passes). The supervised reference keeps every setting of its own.
# tests/test_demo.py runs these settings on tiny data.
DEMO_ARGS := --data doodles/demo --labels 1% --set steps=90 --set steps_per_epoch=30 \
	--set adaptive_threshold=true --pretrain-max-images 4000 --pretrain-steps 48

demo: $(STAMP)
	$(VENV)/bin/fewlabels run $(DEMO_ARGS) --output $(DEMO_OUTPUT)

test: $(STAMP) browser
	$(PY) -m pytest -v -n auto --dist loadgroup --no-loadscope-reorder --durations=25 tests

# The report tests open pages in headless Chromium: Debian's package, installed when missing and
# the machine allows (root with apt); otherwise those tests skip and say why.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } ; } || \
	  echo "make: Chromium not installed: the browser tests of the reports will be skipped" >&2

# Re-resolve the lock after editing requirements.in (needs the package registry).
lock: $(STAMP)
	$(UV) pip compile requirements.in -o requirements.lock --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_28

# The packages' bytecode is compiled once, at install: Python compiles every module it imports
# from source when no .pyc exists, and where PYTHONDONTWRITEBYTECODE is set (as on these
# machines) it does so in every process: 23 s more for `fewlabels run`'s imports, 12 s more for a
# training worker's (bench/startup.py, docs/BENCHMARKS.md).
$(STAMP): requirements.lock setup.py
	@python310=$$(bash .ci/find_python310); \
	if [ -z "$$python310" ]; then \
	  echo "make: no Python 3.10 found: install it (pyenv install 3.10, apt install python3.10, or uv python install 3.10) and retry" >&2; exit 1; fi; \
	[ -x $(PY) ] || $$python310 -m venv $(VENV)
	$(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) pip install --compile-bytecode --python $(PY) -r requirements.lock
	$(UV) pip install --python $(PY) --no-deps -e .
	touch $(STAMP)

clean:
	rm -rf $(VENV) $(DEMO_OUTPUT) *.egg-info
