"""The phoneme model as one ONNX graph (frame inputs of any length -> displacements), checked
against torch with onnxruntime when written, and served by onnxruntime without torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from text2lips import Text2LipsError

GRAPH_NAME = "phoneme.onnx"
"""File in MODEL/onnx/."""
INPUTS = ("ids", "continuous")
OUTPUT = "displacement"


def export_onnx(model_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write MODEL/onnx/phoneme.onnx (or out_dir/phoneme.onnx) and check it against torch."""
    import torch

    from text2lips.files import atomic_path
    from text2lips.phoneme.checkpoint import load_phoneme_model
    from text2lips.phoneme.features import frame_inputs
    from text2lips.text.timeline import espeak_timeline

    model = load_phoneme_model(model_dir)
    out = Path(out_dir) if out_dir is not None else Path(model_dir) / "onnx"
    out.mkdir(parents=True, exist_ok=True)
    x = frame_inputs(espeak_timeline("Hello there, how are you?"))
    ids = torch.from_numpy(x.stacked_ids())[None]
    cont = torch.from_numpy(x.continuous)[None]
    path = out / GRAPH_NAME
    with atomic_path(path) as tmp:  # a failed check leaves no graph behind
        torch.onnx.export(
            model, (ids, cont), str(tmp), input_names=list(INPUTS), output_names=[OUTPUT],
            dynamic_axes={n: {1: "frames"} for n in (*INPUTS, OUTPUT)},
            opset_version=17, dynamo=False,
        )  # fmt: skip
        run = _session_runner(tmp, threads=1)
        y = x.slice(0, 37)  # another length than the traced one
        for part in (x, y):
            want = model.render(part)
            got = run(part.stacked_ids()[None], part.continuous[None])[0]
            if not np.allclose(want, got, atol=1e-3):  # mm
                raise Text2LipsError(
                    f"exported graph differs from torch by {np.abs(want - got).max():.2e} mm"
                )
    return path


def _session_runner(path: Path, threads: int | None):
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise Text2LipsError(
            "onnxruntime is not installed; install the serve extra (pip install 'text2lips[serve]')"
        ) from exc
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run(ids: np.ndarray, cont: np.ndarray) -> np.ndarray:
        feed = {"ids": ids.astype(np.int64), "continuous": cont.astype(np.float32)}
        return sess.run([OUTPUT], feed)[0]

    return run


def onnx_runner(model_dir: str | Path, threads: int | None = None):
    """Runner over MODEL/onnx/phoneme.onnx; an error naming the export command if missing."""
    path = Path(model_dir) / "onnx" / GRAPH_NAME
    if not path.is_file():
        raise Text2LipsError(
            f"{path} is missing; write it with `text2lips export --model {model_dir}`"
        )
    return _session_runner(path, threads)
