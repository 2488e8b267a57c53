# text2lips — every target sets up what it needs (virtualenv, dependencies, generated code).
# `make run` serves the shipped default model; `make test` runs the whole suite.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch; override (e.g. TORCH_SPEC='torch==2.13.0 --index-url ...') elsewhere.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed
PROTO  := proto/text2lips/v1/lipsync.proto
PY_GEN := text2lips/v1/lipsync_pb2.py text2lips/v1/lipsync_pb2_grpc.py text2lips/v1/lipsync_pb2.pyi
CS_GEN := unity_package/Runtime/Generated/Lipsync.cs
APT    := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
PROFILE ?= default
ARGS   ?=

.PHONY: setup proto run test test-fast test-py bench lint sysdeps clean help

help:
	@echo "make run      start the sidecar on 127.0.0.1:50051 with models/default"
	@echo "make test     run the test suite (sets everything up first)"
	@echo "make test-fast  the suite without the slow tests (bench smoke, C#, Node, trained weights)"
	@echo "make bench    measure speed (PROFILE=default|edge|cpu-server|grpc|gpu|phoneme|voice)"
	@echo "make setup    create $(VENV) and generate code;  make proto  regenerate wire code"
	@echo "make lint     ruff"

setup: $(STAMP) $(PY_GEN)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# Python stubs: grpcio-tools' protoc, written into the text2lips.v1 package (git-ignored).
$(PY_GEN) &: $(PROTO) $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=. --pyi_out=. --grpc_python_out=. $(PROTO)

# C# messages for Unity: protoc --csharp_out (Debian's protobuf-compiler), committed.
$(CS_GEN): $(PROTO)
	@command -v protoc >/dev/null || $(APT) protobuf-compiler
	protoc -Iproto --csharp_out=unity_package/Runtime/Generated $(PROTO)

proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=. --pyi_out=. --grpc_python_out=. $(PROTO)
	@command -v protoc >/dev/null || $(APT) protobuf-compiler
	protoc -Iproto --csharp_out=unity_package/Runtime/Generated $(PROTO)

# Debian tools the tests use for real: espeak-ng (phoneme timing), Mono + NUnit (C# tests),
# protoc (C# regeneration check), Node (an independent gRPC client). Installed when missing.
sysdeps:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	ldconfig -p 2>/dev/null | grep -q libespeak-ng || missing="$$missing libespeak-ng1"; \
	command -v mcs >/dev/null || missing="$$missing mono-mcs"; \
	command -v nunit-console >/dev/null || missing="$$missing nunit-console"; \
	[ -f /usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll ] || missing="$$missing libnunit-framework2.6.3-cil"; \
	command -v protoc >/dev/null || missing="$$missing protobuf-compiler"; \
	[ -d /usr/share/games/fortunes ] || missing="$$missing fortunes"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  (apt-get update -q >/dev/null && $(APT) $$missing) || echo "warning: could not install$$missing"; \
	fi
	@if [ -f tests/node/package.json ] && [ ! -d tests/node/node_modules ]; then \
	  (cd tests/node && npm install --no-audit --no-fund --silent) || echo "warning: npm install failed"; \
	fi

run: setup
	$(BIN)/text2lips serve $(ARGS)

test: setup sysdeps
	$(BIN)/python -m pytest -q $(ARGS)

# Without the `slow` marker's tests; `-m "not data"` also skips those that need ../shared/data.
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow" $(ARGS)

bench: setup
	$(BIN)/python -m benchmarks --profile $(PROFILE) $(ARGS)

lint: setup
	$(BIN)/ruff check text2lips sidecar engine_build benchmarks tests

clean:
	rm -rf $(VENV) text2lips/v1 .pytest_cache build *.egg-info
