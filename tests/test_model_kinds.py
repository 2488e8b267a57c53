"""Model kinds and model lookup: config.json's kind picks the loader, models are found by
--model, then $TEXT2LIPS_MODELS, then the checkout, and a missing one stops the server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from text2lips import Text2LipsError
from text2lips.runtime import LoadOptions, ModelNotFound, Synthesizer, locate, register_kind
from text2lips.runtime.kinds import kind_of, model_kind

REPO = Path(__file__).resolve().parents[1]
VISEME_DIR = REPO / "models" / "viseme"


def test_checkout_models_declare_their_kind() -> None:
    assert model_kind(VISEME_DIR) == "viseme"
    assert kind_of("viseme") == "viseme" and kind_of("models/viseme") == "viseme"
    # Tacotron checkpoints predate the field or record ModelInfo's "neural".
    assert model_kind(REPO / "models" / "tacotron") == "tacotron"
    assert kind_of("default") == "phoneme"


def test_viseme_loads_as_a_model_directory(tmp_path: Path) -> None:
    copy = tmp_path / "my-visemes"
    shutil.copytree(VISEME_DIR, copy)
    synth = Synthesizer.load(copy)
    assert synth.info.kind == "viseme" and synth.timed
    assert synth.synthesize("Hello there.").shape[1] == 60


def test_a_registered_kind_is_loaded_by_config(tmp_path: Path) -> None:
    seen: list[tuple[Path, LoadOptions]] = []
    viseme = Synthesizer.load("viseme")

    def loader(path: Path, options: LoadOptions) -> Synthesizer:
        seen.append((path, options))
        return viseme

    register_kind("test-kind", loader)
    (tmp_path / "config.json").write_text(json.dumps({"kind": "test-kind", "model": {}}))
    assert Synthesizer.load(tmp_path, backend="onnxruntime", threads=3) is viseme
    assert seen == [(tmp_path, LoadOptions(backend="onnxruntime", threads=3))]
    with pytest.raises(Text2LipsError, match="already registered"):
        register_kind("test-kind", lambda p, o: viseme)


def test_unknown_kind_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"kind": "wavenet", "model": {}}))
    with pytest.raises(Text2LipsError, match=r"unknown model kind 'wavenet'.*tacotron.*viseme"):
        Synthesizer.load(tmp_path)


def test_models_env_comes_before_the_checkout(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(VISEME_DIR, tmp_path / "viseme")
    monkeypatch.setenv(locate.MODELS_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path / "viseme")  # no models/ folder in the working directory
    assert locate.resolve_model("viseme") == tmp_path / "viseme"
    assert locate.resolve_model("models/viseme") == tmp_path / "viseme"
    assert locate.resolve_model("default") == locate.CHECKOUT_MODELS / "default"
    # A directory given as a path wins over any name lookup.
    assert locate.resolve_model(VISEME_DIR) == VISEME_DIR


def test_a_missing_model_names_where_it_looked(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(locate.MODELS_ENV, str(tmp_path))
    with pytest.raises(ModelNotFound) as err:
        locate.resolve_model("nope")
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "nope") in msg and "--model" in msg
    with pytest.raises(ModelNotFound, match="no model directory at /no/such/dir"):
        locate.resolve_model("/no/such/dir")


# The server run as an installed package: no checkout models/, an empty $TEXT2LIPS_MODELS.
_SERVE_WITHOUT_MODELS = """
import sys
from pathlib import Path
from text2lips.runtime import locate
locate.CHECKOUT_MODELS = Path(sys.argv[1]) / "no-checkout"
from text2lips.cli import main
sys.exit(main(["serve", "--port", "0"]))
"""


def test_serve_without_a_model_refuses_to_start(tmp_path: Path) -> None:
    env = {**os.environ, locate.MODELS_ENV: str(tmp_path / "models")}
    env.pop("TEXT2LIPS_MODEL", None)
    proc = subprocess.run(
        [sys.executable, "-c", _SERVE_WITHOUT_MODELS, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # one line, no traceback, no log of a model loading
    assert lines[0].startswith("text2lips serve: error: no model 'models/default'")
    assert str(tmp_path / "models" / "default") in lines[0]
    assert "text2lips phoneme train" in lines[0]
    assert proc.stdout == ""


def test_serve_with_a_missing_model_dir_refuses_to_start(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "text2lips", "serve", "--port", "0", "--model",
         str(tmp_path / "gone")],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"text2lips serve: error: no model directory at {tmp_path / 'gone'}; "
        + locate.HOW_TO_GET
    )
