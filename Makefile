# Two commands do all the set-up on a fresh machine:
#   make run    virtualenv, install, local S3 (SeaweedFS), migrate, demo data, dev server
#   make test   install what the tests need and run them all
# `make run STORAGE=local` uses the filesystem instead of SeaweedFS;
# `make run HOST=0.0.0.0` also serves phones on the local network.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STORAGE ?= s3
PORT ?= 8000
S3_PORT ?= 8333
DATA_DIR ?= .dev
# Not from the environment, where HOST often names the machine.
HOST = 127.0.0.1
PYTEST_ARGS ?=
# make run is for development: DEBUG on (no secret key needed), whatever .env says.
DEBUG ?= true

.PHONY: run test test-fast bench install lock system-tools messages clean

# Installs the versions the suite passes with: constraints.txt pins every
# package (made by `make lock` from the ranges in requirements*.txt).
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed

run: export DJANGO_DEBUG = $(DEBUG)
run: $(VENV)/.installed
	$(PY) manage.py rundev --storage $(STORAGE) --host $(HOST) --port $(PORT) --s3-port $(S3_PORT) --data-dir $(abspath $(DATA_DIR))

# Debian packages the tests drive: Chromium for the browser tests (Playwright
# never downloads one), curl, jq and openssl for the README's curl example,
# docker-compose (v1, no engine needed) to validate docker-compose.yml,
# redis-server to run the compose stack's redis service without Docker,
# wrk to load the API (tests/benchmarks/bench_tickets.py), nginx as the
# buffering reverse proxy of the upload-cost benchmark (started on a free
# port with its own configuration, tests/support/nginx.py; the package may
# also start the system's nginx on port 80, which no test uses).
# Each command is named after its package; nginx is in /usr/sbin, which a
# user's PATH may leave out.
SYSTEM_TOOLS := chromium curl jq openssl docker-compose redis-server wrk nginx
# Debian data packages the tests read: real photographs for the mobile-data
# benchmark and the upload size tests (tests/support/photos.py).
SYSTEM_DATA := lomiri-wallpapers-16.04
# GNU gettext's xgettext and msgfmt, for `make messages` and the test that
# every message marked in the code has its French (its package is not
# named after a command: gettext-base holds the gettext command).
GETTEXT_TOOLS := xgettext msgfmt

system-tools:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; done; \
	for package in $(SYSTEM_DATA); do dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	for tool in $(GETTEXT_TOOLS); do command -v $$tool >/dev/null || missing="$$missing gettext"; done; \
	if [ -n "$$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

# Uppy, from the npm registry, for the browser tests of
# frontend_snippets/uppy-direct-upload.js (tests/support/uppy.py): the
# versions its package-lock.json pins.
UPPY_TESTS := tests/system/browser/uppy
$(UPPY_TESTS)/node_modules/.installed: $(UPPY_TESTS)/package.json $(UPPY_TESTS)/package-lock.json
	npm ci --prefix $(UPPY_TESTS) --no-audit --no-fund --loglevel=error
	touch $@

# Bytecode is cached even where the environment turns that off
# (PYTHONDONTWRITEBYTECODE=1): otherwise every pytest process compiles and
# assertion-rewrites some 450 modules anew, seconds of each run.
test test-fast bench: export PYTHONDONTWRITEBYTECODE =

# Everything, on TEST_WORKERS processes (pytest-xdist). --dist worksteal: a
# worker that runs out of tests takes some of another's, so that the
# minute-long ones (make run from a fresh clone, the compose stack's start
# orders) don't leave the end of the run to one worker. On a quiet 2-core
# box it ran in 477 and 509 s, loadgroup (which grouped nothing, see the
# README) in 497 and 516 s: the same within the box's noise.
# TEST_WORKERS=0: all in this process.
TEST_WORKERS ?= 3
test: $(VENV)/.installed system-tools $(UPPY_TESTS)/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The quick loop while coding, in under a minute: no browser, fuzz or
# process tests (marked slow, see tests/conftest.py), stop at the first
# failure. On FAST_WORKERS processes (pytest-xdist), twice the cores of a
# 2-core machine: part of the run waits on stalled stores, SeaweedFS and
# retries, and the waits of one worker overlap the work of the others
# (on a quiet 2-core box: 3 workers 57-60 s, 4 workers 52 s).
FAST_WORKERS ?= 4
test-fast: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow" -x -q -n $(FAST_WORKERS) $(PYTEST_ARGS)

# Pin the newest versions the ranges in requirements*.txt allow; then run
# `make test` and commit constraints.txt if it passes.
# pip-tools lives in a venv of its own, so that it never changes what the
# app's venv holds.
LOCK_VENV ?= .venv-lock
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools; }
	$(LOCK_VENV)/bin/pip-compile --quiet --upgrade --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file=constraints.txt requirements-dev.txt

# Speed and memory measurements; not part of `make test`.
bench: $(VENV)/.installed system-tools
	$(PY) -m pytest tests/benchmarks -o python_files='bench_*.py' -s $(PYTEST_ARGS)

# Refresh the French translations after changing user-facing text; the
# compiled .mo files are committed, so the app needs no gettext (make test's
# check that every marked message has its French does: system-tools).
messages: $(VENV)/.installed
	cd uploads && ../$(PY) ../manage.py makemessages -l fr && ../$(PY) ../manage.py compilemessages
	cd inventory && ../$(PY) ../manage.py makemessages -l fr && ../$(PY) ../manage.py compilemessages
	cd legacy_media && ../$(PY) ../manage.py makemessages -l fr && ../$(PY) ../manage.py compilemessages

clean:
	rm -rf $(VENV) $(LOCK_VENV) .dev staticfiles .pytest_cache $(UPPY_TESTS)/node_modules
