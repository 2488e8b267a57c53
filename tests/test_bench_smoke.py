"""`make bench` wiring: every profile in --quick mode with the tiny model writes a complete JSON,
a plot and the Markdown table. No timing assertions: the figures are noise at this size."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # the benchmark harness end to end

REPO = Path(__file__).resolve().parent.parent


def _sidecar_importable() -> bool:
    try:
        return all(
            importlib.util.find_spec(m) is not None
            for m in ("sidecar.server", "text2lips.v1.lipsync_pb2_grpc")
        )
    except ImportError:
        return False


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick run of all profiles (one process: torch is imported once)."""
    tmp = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--profile",
            "all",
            "--quick",
            "--tiny",
            "--out",
            str(tmp / "results"),
            "--cache-dir",
            str(tmp / "cache"),
            "--budget",
            "300",
            # One thread: on a shared machine a second OpenMP thread can wait seconds per step.
            "--cores",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted((tmp / "results").glob("all-*.json"))
    assert len(files) == 1, list((tmp / "results").iterdir())
    return {"doc": json.loads(files[0].read_text()), "json": files[0], "stdout": proc.stdout}


def _ok_variants(doc: dict, profile: str) -> list[dict]:
    return [v for v in doc["profiles"][profile]["variants"] if v["status"] == "ok"]


def test_document_says_where_and_how(run: dict) -> None:
    doc = run["doc"]
    assert doc["quick"] is True and doc["random_weights"] is True
    for key in (
        "cpu_model",
        "cores_usable",
        "torch",
        "python",
        "onnxruntime",
        "host",
        "load_average_start",
        "load_average_end",
    ):
        assert key in doc["machine"], key
    assert set(doc["profiles"]) == {"edge", "cpu-server", "gpu", "grpc", "phoneme"}
    assert run["json"].with_suffix(".png").is_file()


@pytest.mark.parametrize("profile", ["edge", "cpu-server"])
def test_cpu_profiles_have_every_figure(run: dict, profile: str) -> None:
    prof = run["doc"]["profiles"][profile]
    ok = _ok_variants(run["doc"], profile)
    assert ok, prof["variants"]
    assert prof["verdict"] in ("PASS", "FAIL")
    for v in ok:
        fig = v["figures"]
        assert {"p50", "p95", "max"} <= set(fig["ttff_ms"])
        for key in (
            "ms_per_step",
            "rtf",
            "fps",
            "max_streams_realtime",
            "max_streams_at_limit",
            "peak_rss_mb",
        ):
            assert fig[key] is not None, key
        assert fig["streams"] and fig["streams"][0]["streams"] == 1
        for name in ("ttff", "ms_per_step", "rtf"):
            assert v["ratios"][name]["n"] >= 1 and v["ratios"][name]["median"] > 0
        assert v["reference"]["decodes"] >= 1
        assert v["verdict"]["verdict"] in ("PASS", "FAIL")
        assert v["verdict"]["checks"][0]["figure"] == "rtf"
        assert v["model"]["random_weights"] is True
    for v in prof["variants"]:
        if v["status"] != "ok":  # e.g. onnxruntime before its backend exists
            assert v["status"] == "skipped" and v["reason"]
    if profile == "edge":
        assert all(v["threads_used"] == 1 for v in ok)


def test_gpu_profile_skips_cleanly_without_cuda(run: dict) -> None:
    prof = run["doc"]["profiles"]["gpu"]
    if torch.cuda.is_available():
        assert _ok_variants(run["doc"], "gpu")
        return
    assert prof["verdict"] == "SKIP"
    assert all(v["status"] == "skipped" and "CUDA" in v["reason"] for v in prof["variants"])


def test_grpc_profile(run: dict) -> None:
    prof = run["doc"]["profiles"]["grpc"]
    (v,) = prof["variants"]
    if not _sidecar_importable():
        assert v["status"] == "skipped" and v["reason"]
        return
    assert v["status"] == "ok", v.get("reason")
    fig = v["figures"]
    assert {"p50", "p95", "max"} <= set(fig["ttff_ms"])
    assert fig["rtf"] > 0 and fig["realtime"]["frames"] > 1
    for key in ("interval_ms_std", "jitter_p95_ms", "lateness_p95_ms"):
        assert fig["realtime"][key] is not None
    assert v["ratios"]["rtf"]["n"] >= 1
    assert [c["figure"] for c in v["verdict"]["checks"]] == ["ttff_p95_ms", "rtf", "jitter_p95_ms"]


def test_markdown_table_on_stdout(run: dict) -> None:
    out = run["stdout"]
    assert out.startswith("| profile | variant |")
    for name in ("edge", "cpu-server", "gpu", "grpc"):
        assert f"**{name}**" in out
    assert "QUICK run" in out


def test_reference_decodes_the_same_frames_as_ours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paper-style loop does the same work as the runtime (so the ratios compare like with
    like): same weights, same frames."""
    monkeypatch.syspath_prepend(str(REPO))
    import numpy as np

    from benchmarks.reference import PaperReference
    from text2lips.runtime import SynthesisOptions, Synthesizer
    from text2lips.testing import tiny_test_model

    model = tiny_test_model(tmp_path / "tiny")
    synth = Synthesizer.load(model, "torch-cpu", threads=1)
    text = "Keep your voice down, the guards are close."
    # The paper's loop has no closure rule: compare with the network alone.
    opts = SynthesisOptions(max_frames=40, stop=False, closure=False)
    ours = np.stack([f.displacement for f in synth.stream(text, opts)])
    frames, decode = PaperReference.from_model_dir(model).synthesize(text, 40)
    assert frames.shape == (40, 60) and decode.frames == 40
    assert decode.ttff_s == decode.total_s  # nothing is returned before the end
    np.testing.assert_allclose(frames, ours, atol=1e-5)


def test_jitter_figures_of_a_steady_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks.sidecar_e2e import jitter_figures

    arrivals = [0.0] + [0.040 + i * 0.0125 for i in range(9)]  # request, then 9 paced frames
    arrivals[5] += 0.004  # one frame 4 ms late
    fig = jitter_figures([arrivals])
    assert fig["frames"] == 9 and fig["ttff_ms"]["p50"] == pytest.approx(40.0)
    assert fig["jitter_max_ms"] == pytest.approx(4.0)
    assert fig["lateness_max_ms"] == pytest.approx(4.0)
    assert fig["interval_ms_mean"] == pytest.approx(12.5)


def test_phoneme_profile_reports_speed_and_the_timing_source(run: dict) -> None:
    prof = run["doc"]["profiles"]["phoneme"]
    (v,) = prof["variants"]
    assert v["status"] == "ok", v.get("reason")
    assert v["threads_used"] == 1 and v["model"]["random_weights"] is True
    fig = v["figures"]
    for key in ("ttff_ms", "ttff_from_text_ms", "timing_source_espeak_ms"):
        assert {"p50", "p95", "max"} <= set(fig[key]), key
    # from text = espeak-ng's timing + the model's first chunk
    assert fig["ttff_from_text_ms"]["p50"] >= fig["ttff_ms"]["p50"]
    assert fig["rtf"] > 0 and fig["batch"]["streams"] >= 1
    assert [c["figure"] for c in v["verdict"]["checks"]] == ["ttff_p50_ms", "rtf"]
    assert "| phoneme | phoneme 1 thread |" in run["stdout"]
