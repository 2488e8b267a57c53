"""Whole-file writes: the new file replaces the old in one rename, with the mode any other
file the user writes would get (not mkstemp's private 0600)."""

from __future__ import annotations

import os

import pytest

from text2lips.files import atomic_path, atomic_write_text


def test_written_file_gets_the_usual_mode_and_no_temporary_is_left(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.json"
        atomic_write_text(target, "{}")
        assert target.read_text() == "{}"
        assert target.stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        atomic_write_text(target, "[]")
        assert target.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
