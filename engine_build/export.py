"""`text2lips export`: the encoder and the pure decoder step as two ONNX graphs, checked for parity.

The Python stop loop stays outside the graphs (runtime.synthesizer), as in NVIDIA's Tacotron 2.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from text2lips import Text2LipsError
from text2lips.model.checkpoint import load_model
from text2lips.model.tacotron import DecoderState, LipDecoder
from text2lips.runtime.graphs import (
    ENCODER_FILE,
    ENCODER_INPUTS,
    ENCODER_OUTPUTS,
    EXPORT_JSON,
    STATE_NAMES,
    STEP_FILE,
    STEP_INPUTS,
    STEP_OUTPUTS,
    TEXT_AXIS,
    model_fingerprint,
)

PARITY_STEPS = 200
PARITY_TOL_MM = 1e-3
"""fp32 graphs must match torch this closely (max abs frame difference, mm) over PARITY_STEPS."""
# fp16 drifts more over a free run; its figure is recorded, and only gross failure refuses.
PARITY_TOL_FP16_MM = 0.5
OPSETS = range(9, 21)
"""What torch 2.13's TorchScript exporter can write for this model: arange needs 9, 20 is its
declared maximum. Checked up front, since a failing export also dumps its whole IR to stderr."""
# Example sizes for tracing; distinct from every model width so no size is mistaken for another.
_TRACE_BATCH, _TRACE_LEN = 3, 13


class _EncoderGraph(nn.Module):
    """encode() with unpacked LSTM: exact for unpadded items (the runtime encodes one at a time)."""

    def __init__(self, model: LipDecoder) -> None:
        super().__init__()
        self.model = model
        # The exporter puts the wrapper back in the mode it found it in, recursively: a
        # wrapper left in train mode would switch dropout and batch-norm updates on after it.
        self.eval()

    def forward(self, text: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        enc = self.model.encode(text, lengths, pack=False)
        return enc.memory, enc.processed_memory, enc.mask


class _StepGraph(nn.Module):
    """step() with the DecoderState spread into seven tensors (ONNX has no tuples)."""

    def __init__(self, model: LipDecoder) -> None:
        super().__init__()
        self.model = model
        # The exporter puts the wrapper back in the mode it found it in, recursively: a
        # wrapper left in train mode would switch dropout and batch-norm updates on after it.
        self.eval()

    def forward(self, prev_frame: Tensor, *args: Tensor) -> tuple[Tensor, ...]:
        state, (memory, processed_memory, mask) = DecoderState(*args[:7]), args[7:]
        frame, gate_logit, new = self.model.step(prev_frame, state, memory, processed_memory, mask)
        return (frame, gate_logit, *new)


def _dynamic_axes(names: tuple[str, ...]) -> dict[str, dict[int, str]]:
    text_axis = TEXT_AXIS | {f"new_{n}" for n in TEXT_AXIS} | {"text", *ENCODER_OUTPUTS}
    return {n: {0: "batch", 1: "text_len"} if n in text_axis else {0: "batch"} for n in names}


def _export(module: nn.Module, args: tuple[Tensor, ...], file: Path, inputs: tuple[str, ...],
            outputs: tuple[str, ...], opset: int) -> None:
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated, but it needs no onnxscript and writes the
        # BiLSTM as one ONNX LSTM op. Its warning about LSTM batch sizes is moot: the encoder
        # is traced at batch 1 and the runtimes run it one utterance at a time.
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module, args, str(file), dynamo=False, opset_version=opset,
                input_names=list(inputs), output_names=list(outputs),
                dynamic_axes=_dynamic_axes(inputs + outputs), do_constant_folding=True,
            )
        except (RuntimeError, torch.onnx.OnnxExporterError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Text2LipsError(
                f"cannot export {file.name} at opset {opset} with torch {torch.__version__}: "
                f"{first} (opset 17 is the tested one)"
            ) from None


def _io_spec(file: Path) -> dict[str, dict[str, Any]]:
    """Names, dtypes and shapes (symbolic where dynamic) as written in the graph."""
    import onnx

    graph = onnx.load(str(file), load_external_data=False).graph

    def spec(values: Any) -> dict[str, Any]:
        out = {}
        for v in values:
            t = v.type.tensor_type
            out[v.name] = {
                "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
                "shape": [d.dim_param or d.dim_value for d in t.shape.dim],
            }
        return out

    return {"inputs": spec(graph.input), "outputs": spec(graph.output)}


def _parity(model: LipDecoder, out_dir: Path, steps: int, seed: int = 0) -> dict[str, Any]:
    """Free-run torch and onnxruntime side by side, each fed its own outputs; max differences.

    Two texts of different lengths, joined as the runtime joins them (padded memory), so the
    masked step is checked too.
    """
    from text2lips.runtime.backend import TorchBackend
    from text2lips.runtime.onnx_backend import OnnxBackend

    c = model.config
    rng = np.random.default_rng(seed)
    texts = [rng.integers(1, c.n_symbols, size=n).tolist() for n in (37, 21)]
    threads = torch.get_num_threads()
    # One thread each: tiny per-step ops only lose to thread hand-offs on a shared machine.
    ref, ort = TorchBackend(model, threads=1), OnnxBackend(out_dir, threads=1)
    try:
        with torch.inference_mode():
            enc = model.encode(torch.tensor(texts[:1]), torch.tensor([len(texts[0])]), pack=True)
        memory = ort._encode_one(texts[0])[0]
        memory_diff = float(np.abs(memory - enc.memory.numpy()).max())
        # torch encodes the batch packed (its reference path); onnxruntime one item at a time.
        rows_t, rows_o = ref.start(texts), ort.start(texts)
        frames = gates = 0.0
        for _ in range(steps):
            rows_t, a = ref.step(rows_t)
            rows_o, b = ort.step(rows_o)
            frames = max(frames, float(np.abs(a.frames - b.frames).max()))
            gates = max(gates, float(np.abs(a.stop_prob - b.stop_prob).max()))
    finally:
        torch.set_num_threads(threads)
    return {
        "runtime": "onnxruntime CPUExecutionProvider",
        "steps": steps,
        "text_lengths": [len(t) for t in texts],
        "memory_max_abs": memory_diff,
        "frames_max_abs_mm": frames,
        "stop_prob_max_abs": gates,
    }


def export_onnx(model_dir: str | Path, out_dir: str | Path, opset: int = 17, *, fp16: bool = False,
                check: bool = True) -> dict[str, Any]:
    """Write encoder.onnx, decoder_step.onnx and export.json for the model in `model_dir`.

    `fp16` stores weights and float inputs/outputs as float16 (for GPU runtimes). `check` runs
    onnx.checker and the free-running parity test against torch; a graph that fails either
    raises. Returns what export.json holds.
    """
    import onnx

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if opset not in OPSETS:
        raise Text2LipsError(
            f"opset {opset}: the exporter writes opsets {OPSETS.start}..{OPSETS.stop - 1} "
            "(17 is the tested one)"
        )
    model = load_model(model_dir)
    digest = model_fingerprint(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graph_model = load_model(model_dir).half() if fp16 else model
    dtype = torch.float16 if fp16 else torch.float32

    t0 = time.perf_counter()
    with torch.inference_mode():
        g = torch.Generator().manual_seed(0)
        text = torch.randint(1, model.config.n_symbols, (1, _TRACE_LEN), generator=g)
        lengths = torch.tensor([_TRACE_LEN])
        _export(_EncoderGraph(graph_model), (text, lengths), out_dir / ENCODER_FILE,
                ENCODER_INPUTS, ENCODER_OUTPUTS, opset)
        text = torch.randint(1, model.config.n_symbols, (_TRACE_BATCH, _TRACE_LEN), generator=g)
        enc = graph_model.encode(text, torch.full((_TRACE_BATCH,), _TRACE_LEN), pack=False)
        state = graph_model.initial_state(enc)
        prev = graph_model.initial_frame(_TRACE_BATCH).to(dtype)
        _export(_StepGraph(graph_model), (prev, *state, *enc), out_dir / STEP_FILE,
                STEP_INPUTS, STEP_OUTPUTS, opset)
    export_s = time.perf_counter() - t0

    graphs = {}
    for key, file in (("encoder", ENCODER_FILE), ("decoder_step", STEP_FILE)):
        if check:
            try:
                onnx.checker.check_model(str(out_dir / file))
            except onnx.checker.ValidationError as exc:
                raise Text2LipsError(f"{out_dir / file} fails the ONNX checker: {exc}") from None
        size = (out_dir / file).stat().st_size
        graphs[key] = {"file": file, "bytes": size, **_io_spec(out_dir / file)}

    doc: dict[str, Any] = {
        "format": 1,
        "model_dir": str(model_dir),
        "model_sha256": digest,
        "model_config": model.config.to_dict(),
        "precision": "fp16" if fp16 else "fp32",
        "opset": opset,
        "exporter": "torch.onnx.export(dynamo=False) (TorchScript)",
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "state_names": list(STATE_NAMES),
        "graphs": graphs,
        "export_s": round(export_s, 3),
        "notes": "encoder is exact for unpadded input only: run it one utterance at a time "
                 "(batch 1) and pad memory/processed_memory/mask to the batch's text_len.",
    }
    if check:
        import onnxruntime

        doc["onnxruntime_version"] = onnxruntime.__version__
        parity = _parity(model, out_dir, PARITY_STEPS)  # always against fp32 torch
        tol = PARITY_TOL_FP16_MM if fp16 else PARITY_TOL_MM
        parity["tolerance_mm"] = tol
        doc["parity"] = parity
        if not parity["frames_max_abs_mm"] <= tol:  # also refuses NaN
            raise Text2LipsError(
                f"exported graphs in {out_dir} do not match torch: frames differ by "
                f"{parity['frames_max_abs_mm']:.3g} mm over {PARITY_STEPS} steps "
                f"(tolerance {tol} mm)"
            )
    (out_dir / EXPORT_JSON).write_text(json.dumps(doc, indent=2) + "\n")
    return doc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path,
                        help="model directory (config.json + weights)")
    parser.add_argument("-o", "--out", type=Path, default=None,
                        help="output directory (default MODEL/onnx, where the onnxruntime backend "
                        "looks)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--fp16", action="store_true", help="float16 weights and I/O (GPUs)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the ONNX checker and the onnxruntime parity run")


def run(args: argparse.Namespace) -> int:
    from text2lips.runtime.kinds import PHONEME, model_kind
    from text2lips.runtime.locate import resolve_model

    args.model = resolve_model(args.model)  # a directory, or a name (`default`) as serve takes
    out = args.out if args.out is not None else args.model / "onnx"
    if model_kind(args.model) == PHONEME:
        if args.fp16 or args.no_check or args.opset != 17:
            raise Text2LipsError("a phoneme model exports as one fp32 opset-17 graph, always "
                                 "checked: drop --fp16, --no-check and --opset")
        from text2lips.phoneme.onnx import export_onnx as export_phoneme

        path = export_phoneme(args.model, out)
        print(f"{path}: {path.stat().st_size / 1e6:.1f} MB (fp32, opset 17); checked against "
              "torch with onnxruntime")
        return 0
    args.out = out
    doc = export_onnx(args.model, args.out, args.opset, fp16=args.fp16, check=not args.no_check)
    sizes = ", ".join(f"{g['file']} {g['bytes'] / 1e6:.1f} MB" for g in doc["graphs"].values())
    parity = doc.get("parity")
    checked = (f"; onnxruntime vs torch over {parity['steps']} steps: max frame difference "
               f"{parity['frames_max_abs_mm']:.2e} mm" if parity else "; not checked")
    print(f"{args.out}: {sizes} ({doc['precision']}, opset {doc['opset']}){checked}")
    return 0
