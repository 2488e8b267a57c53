"""Unity package checks without Unity: the core assembly's NUnit tests under Mono, the glue
type-checked against API stubs, generated C# in sync with the .proto, and stable .meta files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "unity_package"
STUBS = ROOT / "tools" / "csharp" / "stubs"
PROTO = "proto/text2lips/v1/lipsync.proto"
NUNIT_DLL_GLOBS = (
    "/usr/lib/cli/nunit.framework*/nunit.framework.dll",
    "/usr/lib/mono/gac/nunit.framework/*/nunit.framework.dll",
    "/usr/lib/nunit/nunit.framework.dll",
)

sys.path.insert(0, str(ROOT / "tools" / "csharp"))
import make_meta  # noqa: E402

pytestmark = pytest.mark.slow  # compiles and runs the C# tests under Mono


def _nunit_framework() -> Path | None:
    for pattern in NUNIT_DLL_GLOBS:
        found = sorted(Path("/").glob(pattern.lstrip("/")))
        if found:
            return found[-1]
    return None


@pytest.fixture(scope="module")
def mcs() -> str:
    path = shutil.which("mcs")
    if path is None:
        pytest.skip("mcs (Debian package mono-mcs) is not installed; `make test` installs it")
    return path


@pytest.fixture(scope="module")
def nunit() -> tuple[str, Path]:
    console, framework = shutil.which("nunit-console"), _nunit_framework()
    if console is None or framework is None:
        pytest.skip(
            "NUnit 2.6 is not installed (needs nunit-console and nunit.framework.dll from "
            "Debian's nunit-console and libnunit-framework2.6.3-cil)"
        )
    return console, framework


def compile_cs(
    mcs: str, out: Path, sources: list[Path], refs: list[Path] = (), extra: list[str] = ()
) -> None:
    assert sources, f"no sources for {out.name}"
    cmd = [mcs, "-target:library", "-warnaserror+", f"-out:{out}", *extra,
           *[f"-r:{r}" for r in refs], *map(str, sources)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"mcs failed for {out.name}:\n{res.stdout}{res.stderr}"


def core_sources() -> list[Path]:
    return sorted((PACKAGE / "Runtime" / "Core").glob("*.cs"))


@pytest.fixture(scope="module")
def core_dll(mcs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cs") / "Text2Lips.Core.dll"
    # -doc turns on CS1591, so with -warnaserror every public member must have a /// doc.
    compile_cs(mcs, out, core_sources(), extra=[f"-doc:{out.with_suffix('.xml')}"])
    return out


def test_core_nunit_tests_pass_under_mono(mcs, nunit, core_dll):
    console, framework = nunit
    work = core_dll.parent
    tests_dll = work / "Text2Lips.Core.Tests.dll"
    tests = sorted((PACKAGE / "Tests" / "Runtime").glob("*.cs"))
    compile_cs(mcs, tests_dll, tests, [core_dll, framework])
    shutil.copy(framework, work)  # nunit-console loads it from beside the tests
    result_xml = work / "results.xml"
    res = subprocess.run(
        [console, "-nologo", "-noshadow", f"-xml={result_xml}", str(tests_dll)],
        capture_output=True, text=True, timeout=300, cwd=work,
    )
    assert result_xml.exists(), f"nunit-console wrote no results:\n{res.stdout}{res.stderr}"
    root = ET.parse(result_xml).getroot()
    keys = ("total", "errors", "failures", "not-run", "inconclusive")
    counts = {k: int(root.get(k, "0")) for k in keys}
    failed = [c.get("name") for c in root.iter("test-case") if c.get("success") == "False"]
    assert counts["errors"] == 0 and counts["failures"] == 0, (
        f"{counts}: {failed}\n{res.stdout[-4000:]}"
    )
    assert counts["not-run"] == 0 and counts["inconclusive"] == 0, counts
    ran = [c.get("name") for c in root.iter("test-case") if c.get("executed") == "True"]
    # The behaviours the brief names must actually have run (not just compiled).
    for name in (
        "LateFramesAreSkippedAndTheClockKeepsRunning", "OutOfOrderAndDuplicateArrivalPlaysTheSame",
        "MissingFramesAreInterpolatedAcross", "FinishesAtTheFinalFrameAndEasesToNeutral",
        "WaitsForThePrebufferBeforeStarting", "SmoothingDoesNotDependOnTheRenderRate",
        "IrregularRenderStepsStayOnTheTimeline",
    ):
        assert any(r.endswith("." + name) for r in ran), f"{name} did not run"
    for name in (
        "StreamedVoiceKeepsTheLipsWithinOneFrameFor60Seconds",
        "AGameClipDrivesTheLipsThroughAHitchAndAPause",
        "ThreeSpeaksWithAReenteringListenerGiveThreeFinished",
        "ARetryBudgetEndsTheUtteranceWithinItsSeconds",
        "TheBreakerOpensAfterConsecutiveFailuresAndFailsFast",
        "WithTheSidecarDownTheFirstLineGivesUpInItsBudgetAndTheRestFailAtOnce",
        "AGameClipWaitsForTheLipsPrebufferThenPlaysInSync",
        "AVoicedLinePlaysItsAudioOnceWithTheLipsOnTop",
        "RefusesDamagedBytesWithAReason",
    ):
        assert any(r.endswith("." + name) for r in ran), f"{name} did not run"
    rates = [r for r in ran if ".PlaysByTimestampsAtAnyRenderRate(" in r]
    assert len(rates) >= 4, f"render-rate cases that ran: {rates}"
    assert counts["total"] >= 40


def test_core_is_engine_and_grpc_free():
    asmdef = json.loads((PACKAGE / "Runtime" / "Core" / "Text2Lips.Core.asmdef").read_text())
    assert asmdef["noEngineReferences"] is True and asmdef["references"] == []
    for src in core_sources():
        text = src.read_text()
        for forbidden in ("UnityEngine", "UnityEditor", "Grpc", "Google.Protobuf"):
            assert forbidden not in text, f"{src.name} mentions {forbidden}"


def _samples() -> list[Path]:
    return sorted(p for p in (PACKAGE / "Samples~").iterdir() if p.is_dir())


def test_unity_glue_type_checks_against_api_stubs(mcs, core_dll):
    # Unity, grpc-dotnet and protobuf are not on this machine: compile the glue against
    # signature stubs of the APIs it calls, so typos and API misuse still fail here. The
    # network assembly compiles with protoc's real output (Lipsync.cs), as Unity builds it.
    work = core_dll.parent
    stubs = work / "Stubs.dll"
    compile_cs(mcs, stubs, sorted(STUBS.glob("*.cs")), extra=["-nowarn:1591"])
    runtime = work / "Text2Lips.Runtime.dll"
    compile_cs(mcs, runtime, sorted((PACKAGE / "Runtime").glob("*.cs")), [stubs, core_dll])
    network = sorted((PACKAGE / "Runtime" / "Network").glob("*.cs"))
    network += [PACKAGE / "Runtime" / "Generated" / "Lipsync.cs"]
    defines = ["-d:TEXT2LIPS_GRPC", "-d:TEXT2LIPS_PROTOBUF", "-d:TEXT2LIPS_YAHH"]
    compile_cs(mcs, work / "Text2Lips.Network.dll", network, [stubs, core_dll, runtime], defines)
    refs = [stubs, core_dll, runtime]
    compile_cs(mcs, work / "Text2Lips.Editor.dll", sorted((PACKAGE / "Editor").glob("*.cs")), refs)
    for sample in _samples():
        out = work / f"Sample.{sample.name}.dll"
        compile_cs(mcs, out, sorted(sample.glob("*.cs")), refs)
        if (sample / "Editor").is_dir():
            compile_cs(mcs, work / f"Sample.{sample.name}.Editor.dll",
                       sorted((sample / "Editor").glob("*.cs")), [*refs, out])


def test_everything_but_the_network_assembly_compiles_without_grpc(mcs, core_dll, tmp_path):
    # Without grpc-dotnet, protobuf and YetAnotherHttpHandler (not installed yet, or WebGL)
    # Text2Lips.Network compiles out; the avatar, baked clips, editor and samples must not need it.
    unity_only = tmp_path / "UnityOnly.dll"
    compile_cs(mcs, unity_only, [STUBS / "UnityStubs.cs"], extra=["-nowarn:1591"])
    runtime = tmp_path / "Text2Lips.Runtime.dll"
    compile_cs(mcs, runtime, sorted((PACKAGE / "Runtime").glob("*.cs")), [unity_only, core_dll])
    refs = [unity_only, core_dll, runtime]
    compile_cs(mcs, tmp_path / "Editor.dll", sorted((PACKAGE / "Editor").glob("*.cs")), refs)
    for sample in _samples():
        compile_cs(mcs, tmp_path / f"{sample.name}.dll", sorted(sample.glob("*.cs")), refs)
    network = json.loads((PACKAGE / "Runtime" / "Network" / "Text2Lips.Network.asmdef").read_text())
    assert network["excludePlatforms"] == ["WebGL"]
    gated = {v["define"] for v in network["versionDefines"]}
    assert set(network["defineConstraints"]) == gated == {
        "TEXT2LIPS_GRPC", "TEXT2LIPS_PROTOBUF", "TEXT2LIPS_YAHH"}
    asmref = PACKAGE / "Runtime" / "Generated" / "Text2Lips.Network.asmref"
    assert json.loads(asmref.read_text())["reference"] == "Text2Lips.Network", (
        "Lipsync.cs must compile out with the network assembly")


def test_generated_messages_match_the_proto(tmp_path):
    protoc = shutil.which("protoc")
    if protoc is None:
        pytest.skip("protoc (Debian's protobuf-compiler) is not installed; `make test` installs it")
    res = subprocess.run([protoc, "-Iproto", f"--csharp_out={tmp_path}", PROTO],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    fresh = (tmp_path / "Lipsync.cs").read_bytes()
    committed = (PACKAGE / "Runtime" / "Generated" / "Lipsync.cs").read_bytes()
    assert fresh == committed, "Lipsync.cs is out of date with the .proto: run `make proto`"


def test_the_protobuf_stubs_cover_every_field_kind(mcs, core_dll, tmp_path):
    # The wire will grow (voice audio as bytes, timing marks...): protoc's C# for a message
    # with every proto3 field kind must compile against the stubs as Lipsync.cs does.
    protoc = shutil.which("protoc")
    if protoc is None:
        pytest.skip("protoc (Debian's protobuf-compiler) is not installed; `make test` installs it")
    probe = ROOT / "tools" / "csharp" / "probe"
    res = subprocess.run([protoc, f"-I{probe}", f"--csharp_out={tmp_path}", "probe.proto"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    stubs = tmp_path / "Stubs.dll"
    compile_cs(mcs, stubs, sorted(STUBS.glob("*.cs")), extra=["-nowarn:1591"])
    compile_cs(mcs, tmp_path / "Probe.dll", [tmp_path / "Probe.cs"], [stubs])


def test_meta_files_are_complete_and_stable():
    assert make_meta.main(["--check", str(PACKAGE)]) == 0, "run: python tools/csharp/make_meta.py"
    metas = make_meta.expected_metas(PACKAGE)
    guids = [t.split("guid: ")[1][:32] for t in metas.values()]
    assert len(set(guids)) == len(guids)
    assert PACKAGE / "Runtime" / "Generated" / "Lipsync.cs.meta" in metas
    assert PACKAGE / "Samples~" / "NpcDialog" / "NpcDialog.cs.meta" in metas
    assert PACKAGE / "Samples~" / "SpeakingMouth" / "greeting.t2lb.meta" in metas
    assert not any("Documentation~" in str(p) for p in metas)


def test_package_layout():
    manifest = json.loads((PACKAGE / "package.json").read_text())
    assert manifest["name"] == "com.text2lips.lipsync" and manifest["version"] == "0.1.0"
    assert manifest["unity"] == "2021.3" and manifest["displayName"] and manifest["description"]
    for sample in manifest["samples"]:
        assert (PACKAGE / sample["path"]).is_dir(), sample
    for name in ("README.md", "CHANGELOG.md", "LICENSE.md", "Documentation~/text2lips.md"):
        assert (PACKAGE / name).is_file(), name
    parsed = [json.loads(p.read_text()) for p in PACKAGE.rglob("*.asmdef")]
    asmdefs = {a["name"]: a for a in parsed}
    assert len(asmdefs) == len(parsed), "asmdef names must be unique"
    ours = {"Text2Lips.Core", "Text2Lips.Runtime", "Text2Lips.Network", "Text2Lips.Editor",
            "Text2Lips.Core.Tests"}
    assert ours <= set(asmdefs)
    external = {"YetAnotherHttpHandler", "UnityEngine.TestRunner", "UnityEditor.TestRunner"}
    for name, asmdef in asmdefs.items():
        for ref in asmdef["references"]:
            assert ref in asmdefs or ref in external, f"{name} references unknown assembly {ref}"
    assert asmdefs["Text2Lips.Editor"]["includePlatforms"] == ["Editor"]
    assert "nunit.framework.dll" in asmdefs["Text2Lips.Core.Tests"]["precompiledReferences"]
    # Only the network assembly touches gRPC; the NuGet packages come from the UnityNuGet
    # registry (README), YetAnotherHttpHandler from its git URL or OpenUPM.
    assert asmdefs["Text2Lips.Runtime"]["references"] == ["Text2Lips.Core"]
    nuget = {"org.nuget.grpc.net.client", "org.nuget.google.protobuf"}
    assert set(manifest["dependencies"]) == nuget
    assert (PACKAGE / "Runtime" / "link.xml").is_file()
    samples = {s["path"] for s in manifest["samples"]}
    assert samples == {"Samples~/SpeakingMouth", "Samples~/NpcDialog"}


# --- baked clips: the Python CLI bakes, the C# core reads and plays -------------------------

BAKE_LINES = (
    "id,text,voice\n"
    'greet_01,"Welcome, traveller. The road north has been closed since the storm.",none\n'
    "bye,Safe journeys!,\n"
)


def _has_voice() -> bool:
    from text2lips.bake import _voice_module

    return _voice_module() is not None


@pytest.fixture(scope="module")
def baked(mcs, core_dll, tmp_path_factory) -> tuple[Path, Path]:
    """Bakes two lines with the real CLI (viseme model, lips only), plays them with the C# core."""
    if shutil.which("mono") is None:
        pytest.skip("mono (Debian's mono-runtime, which nunit-console needs too) is not installed")
    work = tmp_path_factory.mktemp("baked")
    lines = work / "lines.csv"
    rows = BAKE_LINES + ("voiced,Hello there.,espeak\n" if _has_voice() else "")
    lines.write_text(rows)
    out = work / "clips"
    bake = [sys.executable, "-m", "text2lips.cli", "bake", str(lines), "-o", str(out),
            "--model", "viseme"]
    res = subprocess.run(bake, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    exe = work / "PlayBaked.exe"
    cmd = [mcs, "-target:exe", "-warnaserror+", f"-out:{exe}", f"-r:{core_dll}",
           str(ROOT / "tests" / "csharp" / "PlayBaked.cs")]
    comp = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert comp.returncode == 0, comp.stdout + comp.stderr
    shutil.copy(core_dll, work)
    played = work / "played"
    played.mkdir()
    run = subprocess.run(["mono", str(exe), str(played), *map(str, sorted(out.glob("*.t2lb")))],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return out, played


def test_a_baked_clip_plays_in_the_csharp_core(baked):
    import numpy as np

    from text2lips.bake import decode

    out, played = baked
    manifest = json.loads((out / "lines.json").read_text())
    summary = {s["id"]: s for s in json.loads((played / "summary.json").read_text())}
    assert sorted(summary) == sorted(e["id"] for e in manifest["lines"])
    for entry in manifest["lines"]:
        clip = decode((out / entry["file"]).read_bytes())
        s = summary[clip.id]
        t, k = clip.weights.shape
        assert (s["frames"], s["weights"], s["frame_rate"]) == (t, k, clip.frame_rate) and t > 40
        assert s["first_name"] == clip.weight_names[0] == "jawOpen"
        assert s["phonemes"] == len(clip.phonemes) > 0 and s["words"] == len(clip.words) > 0
        # What C# read is bit for bit what Python wrote.
        cs_landmarks = np.fromfile(played / f"{clip.id}.landmarks.f32", "<f4").reshape(t, -1)
        cs_weights = np.fromfile(played / f"{clip.id}.weights.f32", "<f4").reshape(t, k)
        np.testing.assert_array_equal(cs_landmarks, clip.landmarks)
        np.testing.assert_array_equal(cs_weights, clip.weights)
        assert clip.weights.std() > 0.01, "the weights of speech must move"
        # Played on the core's clock, one tick per frame, the mouth shows every frame in turn
        # (on the final one it already eases towards neutral, as the player's own tests require).
        shown = np.fromfile(played / f"{clip.id}.played.f32", "<f4").reshape(-1, k)
        assert s["finished"] is True and len(shown) == t, (len(shown), t)
        tol = 1e-5
        if clip.voice != "none":
            # A voiced line runs on the audio clock, which counts whole samples: at 22,050 Hz a
            # 12.5 ms frame is 275.625 samples, so a frame can be shown up to one sample early or
            # late, i.e. moved by at most one sample's share of the change to the next frame.
            per_sample = clip.frame_rate / clip.sample_rate
            tol += float(np.abs(np.diff(clip.weights, axis=0)).max()) * per_sample
        np.testing.assert_allclose(shown[:-1], clip.weights[:-1], atol=tol)
        assert s["last_frame_s"] == pytest.approx((t - 1) / clip.frame_rate)
        if clip.voice == "none":
            assert s["audio_s"] == 0 and s["mode"] == "LipsOnly" and "wav" not in entry
        else:
            # The sound lasts as long as the lips: the last frame falls in the audio's last frame.
            assert s["mode"] == "Streamed"
            frame = 1 / clip.frame_rate
            assert abs(s["audio_s"] - (s["last_frame_s"] + frame)) <= frame
            assert s["audio_heard"] >= len(clip.audio)


def test_a_corrupt_baked_clip_is_refused_with_a_reason(baked, tmp_path):
    out, played = baked
    data = (out / "bye.t2lb").read_bytes()
    exe = played.parent / "PlayBaked.exe"
    for name, broken, reason in (
        ("half", data[: len(data) // 2], "do not fit"),
        ("tail", data[:-3], "cut or corrupt"),
        ("magic", b"RIFF" + data[4:], "bad magic"),
    ):
        path = tmp_path / f"{name}.t2lb"
        path.write_bytes(broken)
        run = subprocess.run(["mono", str(exe), str(tmp_path), str(path)], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 3 and reason in run.stderr, (name, run.stderr)


def test_the_readme_steps_match_the_package():
    """Every step of the README's 'empty project to speaking mouth' names something real."""
    import re

    from text2lips.bake import decode
    from text2lips.cli import COMMANDS

    readme = (PACKAGE / "README.md").read_text()
    manifest = json.loads((PACKAGE / "package.json").read_text())
    code = {p.relative_to(PACKAGE).as_posix(): p.read_text() for p in PACKAGE.rglob("*.cs")}
    everything = "\n".join(code.values())
    # Step 2: the manifest snippet parses and resolves what package.json depends on.
    snippet = next(b for b in re.findall(r"```json\n(.*?)```", readme, re.S) if "scoped" in b)
    project = json.loads(snippet)
    scopes = [s for r in project["scopedRegistries"] for s in r["scopes"]]
    for dep in manifest["dependencies"]:
        assert any(dep.startswith(scope + ".") for scope in scopes), dep
    deps = project["dependencies"]
    assert manifest["name"] in deps
    network = json.loads((PACKAGE / "Runtime" / "Network" / "Text2Lips.Network.asmdef").read_text())
    for gate in network["versionDefines"]:
        # Each gate names a package the snippet installs or package.json depends on.
        assert gate["name"] in deps or gate["name"] in manifest["dependencies"], gate
    yahh = deps["com.cysharp.yetanotherhttphandler"]
    assert yahh.endswith("?path=src/YetAnotherHttpHandler#1.11.5"), yahh
    # Steps 3-5: the sidecar command, the sample, its menu, its bundled clip and line.
    assert re.search(r"^run:", (ROOT / "Makefile").read_text(), re.M)
    assert 'serverAddress = "http://127.0.0.1:50051"' in code["Runtime/LipSyncAvatar.cs"]
    assert "http://127.0.0.1:50051" in readme
    assert "Speaking Mouth" in {s["displayName"] for s in manifest["samples"]}
    menus = re.findall(r"\*((?:Tools|Assets|Add Component) → [^*]+)\*", readme)
    assert len(menus) >= 3, menus
    for menu in menus:
        parts = [p.strip() for p in menu.split("→")]
        if parts[0] == "Assets":
            assert f'menuName = "{"/".join(parts[2:])}"' in everything, menu
        elif parts[0] == "Add Component":
            assert f'[AddComponentMenu("{"/".join(parts[1:])}")]' in everything, menu
        else:
            assert f'[MenuItem("{"/".join(parts)}")]' in everything, menu
    clip = decode((PACKAGE / "Samples~" / "SpeakingMouth" / "greeting.t2lb").read_bytes())
    assert clip.id == "greeting" and f'"{clip.text}"' in " ".join(readme.split())
    assert f'line = "{clip.text}"' in code["Samples~/SpeakingMouth/SpeakingMouthDemo.cs"]
    assert 'FindAssets("t:BakedLipClip greeting")' in everything
    # Your own avatar and baked lines: the calls and the command exist.
    avatar = code["Runtime/LipSyncAvatar.cs"]
    for call in set(re.findall(r"avatar\.(\w+)\(", readme)):
        assert re.search(rf"public void {call}\(", avatar), call
    for member in ("IsSpeaking", "Weights", "onFinished", "onError"):
        assert re.search(rf"public \S+ {member}\b", avatar), member
    assert "bake" in COMMANDS and (PACKAGE / "Runtime" / "link.xml").is_file()
    assert '[ScriptedImporter(1, "t2lb")]' in everything


def test_marks_written_in_csharp_are_read_by_the_sidecar(mcs, core_dll, tmp_path):
    """A game's own word timing (LipSyncAvatar.Speak with marks) goes to SpeakVoiced as the
    "words" format, written by Text2Lips.Core: the Python reader must get the same words back,
    quotes, backslashes, non-ASCII and exact times included."""
    from text2lips.voice.marks import parse_marks

    exe = tmp_path / "MarksJson.exe"
    cmd = [mcs, "-target:exe", "-warnaserror+", f"-out:{exe}", f"-r:{core_dll}",
           str(ROOT / "tests" / "csharp" / "MarksJson.cs")]
    comp = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert comp.returncode == 0, comp.stdout + comp.stderr
    shutil.copy(core_dll, tmp_path)
    words = [("Hello", "0", "0.42"), ('"quoted"', "0.5", "0.8125"), ("back\\slash", "0.9", "1.1"),
             ("café", "1.2", "1.7000000000000002")]
    env = {**os.environ, "LANG": "C.UTF-8"}  # how mono decodes the arguments
    run = subprocess.run(["mono", str(exe), *[x for w in words for x in w]], capture_output=True,
                         timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    got = parse_marks(run.stdout.decode("utf-8"), "words")
    assert [(w.word, w.start_s, w.end_s) for w in got] == [
        (w, float(a), float(b)) for w, a, b in words]
