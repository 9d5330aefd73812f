# lockgate: the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLAUDE_CODE_VERSION := 2.1.197
TOOLS := .tools
CLAUDE_DIR := $(TOOLS)/claude-code
CODEX_VERSION := 0.171.0
CODEX_DIR := $(TOOLS)/codex
GEMINI_CLI_VERSION := 0.61.0
GEMINI_CLI_DIR := $(TOOLS)/gemini-cli

.PHONY: run test lint bench install install-test claude-code codex-cli gemini-cli test-servers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Claude Code CLI, pinned, project-local (git ignores .tools/); a second run reuses it.
$(CLAUDE_DIR)/.installed-$(CLAUDE_CODE_VERSION):
	mkdir -p $(CLAUDE_DIR)
	npm install --prefix $(CLAUDE_DIR) --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)
	touch $@

claude-code: $(CLAUDE_DIR)/.installed-$(CLAUDE_CODE_VERSION)

# Codex CLI, pinned, project-local (its npm package brings the native binary for this platform).
$(CODEX_DIR)/.installed-$(CODEX_VERSION):
	mkdir -p $(CODEX_DIR)
	npm install --prefix $(CODEX_DIR) --no-audit --no-fund --loglevel=error @openai/codex@$(CODEX_VERSION)
	touch $@

codex-cli: $(CODEX_DIR)/.installed-$(CODEX_VERSION)

# Gemini CLI, pinned the same way (tests/e2e/test_gemini_cli*.py run it headless).
$(GEMINI_CLI_DIR)/.installed-$(GEMINI_CLI_VERSION):
	mkdir -p $(GEMINI_CLI_DIR)
	npm install --prefix $(GEMINI_CLI_DIR) --no-audit --no-fund --loglevel=error @google/gemini-cli@$(GEMINI_CLI_VERSION)
	touch $@

gemini-cli: $(GEMINI_CLI_DIR)/.installed-$(GEMINI_CLI_VERSION)

# What the tests run for real, from Debian's packages, installed once when run as root:
# Redis and PostgreSQL servers (tests/support/ starts its own on loopback ports), tmux
# (the interactive Claude Code test), promtool (Debian's prometheus package: it checks
# /metrics) and Chromium (the dashboard's browser test).
test-servers:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v tmux >/dev/null 2>&1 || missing="$$missing tmux"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
	  || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (Debian packages) for the tests"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "the tests need$$missing: install Debian's packages" >&2; exit 1; \
	  fi; \
	fi

run: install
	$(BIN)/lockgate start

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install-test claude-code codex-cli gemini-cli test-servers lint
	LOCKGATE_CLAUDE_DIR=$(CURDIR)/$(CLAUDE_DIR) LOCKGATE_GEMINI_CLI_DIR=$(CURDIR)/$(GEMINI_CLI_DIR) \
	  $(BIN)/python -m pytest -q -n 2

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
