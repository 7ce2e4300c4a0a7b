# Teller's entry points. Each target bootstraps what it needs on a machine with only python3, pip and make:
# uv is installed into .tools/ (no virtualenv module needed), then uv builds .venv from the committed uv.lock.
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test lint format chromium clean

demo: $(VENV)/.synced
	$(VENV)/bin/teller demo

test: $(VENV)/.synced chromium
	$(VENV)/bin/pytest

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .

format: $(VENV)/.synced
	$(VENV)/bin/ruff check --fix .

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .tools uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

# Browser tests drive Debian's Chromium; never a browser downloaded by a test tool.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Chromium from apt for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf .tools $(VENV) .pytest_cache .ruff_cache test-artifacts
