"""Write (or --check) the Unity .meta files of unity_package/ with GUIDs derived from paths.

Immutable UPM packages must ship their .meta files; deriving each GUID from the package name
and the asset's path keeps them stable across machines and regenerations.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACKAGE = ROOT / "unity_package"

_COMMON_TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"

_IMPORTERS = {
    ".cs": (
        "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
        "  executionOrder: 0\n  icon: {instanceID: 0}\n" + _COMMON_TAIL
    ),
    ".asmdef": "AssemblyDefinitionImporter:\n  externalObjects: {}\n" + _COMMON_TAIL,
    ".asmref": "AssemblyDefinitionReferenceImporter:\n  externalObjects: {}\n" + _COMMON_TAIL,
    ".xml": "TextScriptImporter:\n  externalObjects: {}\n" + _COMMON_TAIL,
    ".md": "TextScriptImporter:\n  externalObjects: {}\n" + _COMMON_TAIL,
    ".txt": "TextScriptImporter:\n  externalObjects: {}\n" + _COMMON_TAIL,
    ".json": "TextScriptImporter:\n  externalObjects: {}\n" + _COMMON_TAIL,
}
_PACKAGE_MANIFEST = "PackageManifestImporter:\n  externalObjects: {}\n" + _COMMON_TAIL
_DEFAULT = "DefaultImporter:\n  externalObjects: {}\n" + _COMMON_TAIL


def _hidden(name: str) -> bool:
    """Names Unity's asset database skips (and so never gives a .meta)."""
    return (
        name.startswith(".") or name.endswith("~") or name.lower() == "cvs" or name.endswith(".tmp")
    )


def guid(package_name: str, rel: str) -> str:
    """32 hex digits from the package name and the asset's path inside the package."""
    return hashlib.md5(f"{package_name}/{rel}".encode()).hexdigest()


def meta_text(package_name: str, rel: str, is_dir: bool) -> str:
    if is_dir:
        body = "folderAsset: yes\n" + _DEFAULT
    elif rel == "package.json":
        body = _PACKAGE_MANIFEST
    else:
        body = _IMPORTERS.get(Path(rel).suffix.lower(), _DEFAULT)
    return f"fileFormatVersion: 2\nguid: {guid(package_name, rel)}\n{body}"


def _walk(folder: Path, package: Path, out: dict[Path, str], name: str) -> None:
    for p in sorted(folder.iterdir()):
        if _hidden(p.name) or p.suffix == ".meta":
            continue
        rel = p.relative_to(package).as_posix()
        out[p.with_name(p.name + ".meta")] = meta_text(name, rel, p.is_dir())
        if p.is_dir():
            _walk(p, package, out, name)


def expected_metas(package: Path) -> dict[Path, str]:
    """Every .meta the package should hold -> its content.

    Unity imports the package's visible files and folders; samples are copied into Assets/
    on import, so the contents of each Samples~/<sample>/ get metas too (not the sample
    folder itself, which is not copied). Documentation~ and Tests~ are never imported.
    """
    name = json.loads((package / "package.json").read_text())["name"]
    out: dict[Path, str] = {}
    _walk(package, package, out, name)
    samples = package / "Samples~"
    if samples.is_dir():
        for sample in sorted(p for p in samples.iterdir() if p.is_dir() and not _hidden(p.name)):
            _walk(sample, package, out, name)
    return out


def existing_metas(package: Path) -> set[Path]:
    """The .meta files present in the parts of the package that get metas."""
    found = set()
    for p in package.rglob("*.meta"):
        rel = p.relative_to(package).parts
        hidden_parents = [part for part in rel[:-1] if _hidden(part)]
        in_sample = rel[0] == "Samples~" and len(rel) > 2 and len(hidden_parents) == 1
        if not hidden_parents or in_sample:
            found.add(p)
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("package", nargs="?", type=Path, default=DEFAULT_PACKAGE)
    ap.add_argument(
        "--check", action="store_true", help="report missing, stale or different metas only"
    )
    args = ap.parse_args(argv)
    package = args.package.resolve()
    want = expected_metas(package)
    stale = sorted(existing_metas(package) - set(want))
    problems = []
    for path, text in sorted(want.items()):
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            state = "missing" if current is None else "differs"
            problems.append(f"{state}: {path.relative_to(package)}")
        else:
            path.write_text(text)
    for path in stale:
        if args.check:
            problems.append(f"stale: {path.relative_to(package)}")
        else:
            path.unlink()
    if problems:
        print("\n".join(problems) + "\nrun: python tools/csharp/make_meta.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
