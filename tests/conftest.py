"""Shared fixtures: the real data folder, and tiny models built in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from text2lips.data.dataset import default_data_dir


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
