"""Shared fixtures: the real data folder, a few real clips committed with the tests, and the
markers: a test that takes the real data folder (`data_dir`) is marked `data`, so
`pytest -m "not data"` runs on a clone without ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from text2lips.data.dataset import default_data_dir

FIXTURE_DATA = Path(__file__).resolve().parent / "fixtures" / "data"
"""Five LRS3 clips (three pretrain, two trainval, four speakers) and one RAVDESS clip, copied
unchanged from the shared data folder, laid out as it is (tests/fixtures/data/README.md)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.data)


@pytest.fixture(scope="session")
def fixture_data() -> Path:
    """The committed clips: real OpenFace tracks and transcripts, no ../shared needed."""
    return FIXTURE_DATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = default_data_dir()
    if not (d / "lrs3_ted93").is_dir():
        pytest.fail(
            f"real data not found at {d}; set TEXT2LIPS_DATA or put ../shared beside the repo"
        )
    return d


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Test models are tiny and the CI box has 2 shared cores: threads would only contend."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
