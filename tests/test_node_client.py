"""An independent client: Node's grpc-js, reading the .proto itself, speaks to the real server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.config import ServerConfig
from sidecar.logging import configure
from sidecar.server import BackgroundServer
from text2lips.runtime import Synthesizer
from text2lips.testing import tiny_test_model

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.slow,  # an independent Node gRPC client
    pytest.mark.timeout(120),
    pytest.mark.skipif(NODE is None, reason="node is not installed (make sysdeps installs it)"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir(),
        reason="tests/node/node_modules is missing: `npm install` in tests/node (make test does)",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    configure("warning")
    model = tiny_test_model(tmp_path_factory.mktemp("node") / "model")
    with BackgroundServer(ServerConfig(port=0, token=None), Synthesizer.load(model)) as srv:
        yield srv


def run_client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(NODE), str(NODE_DIR / "client.mjs"), *args],
                          capture_output=True, text=True, timeout=60)


def test_node_client_speaks(server: BackgroundServer) -> None:
    result = run_client(f"127.0.0.1:{server.port}", "Hello from Node.")
    assert result.returncode == 0, result.stdout + result.stderr
    line = result.stdout.strip()
    assert line.startswith("ok: ") and "frames" in line and "untrained-tiny" in line


def test_node_client_reports_errors(server: BackgroundServer) -> None:
    # Its failure path works too: an unspeakable text comes back as one FAIL line.
    result = run_client(f"127.0.0.1:{server.port}", "🙂")
    assert result.returncode == 1
    assert result.stdout.strip() == "FAIL: INVALID_ARGUMENT: nothing speakable in text '🙂'"


@pytest.fixture(scope="module")
def voiced_server() -> Iterator[BackgroundServer]:
    configure("warning")
    synth = Synthesizer.load(Path(__file__).resolve().parents[1] / "models" / "default")
    with BackgroundServer(ServerConfig(port=0, token=None), synth) as srv:
        yield srv


def test_node_client_speaks_aloud(voiced_server: BackgroundServer) -> None:
    # SpeakVoiced from outside Python: audio chunks then frames, on one clock.
    result = run_client(f"127.0.0.1:{voiced_server.port}", "Bob met me by the boat.", "espeak")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok voiced: ") and "s of audio" in result.stdout


def test_node_client_takes_frame_batches(voiced_server: BackgroundServer) -> None:
    # Opted in (frame_batches), a client reading the .proto gets the frames in LipFrames
    # events after their audio; every frame once, in order, the last one `last`.
    result = run_client(f"127.0.0.1:{voiced_server.port}", "Bob met me by the boat.", "espeak",
                        "batches")
    assert result.returncode == 0, result.stdout + result.stderr
    words = result.stdout.split()
    frames, batches = int(words[words.index("frames") - 1]), int(words[words.index("batches") - 1])
    assert 1 <= batches < frames / 10, result.stdout
