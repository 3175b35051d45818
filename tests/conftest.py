"""Fixtures shared across test packages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SCAN_TREE = Path(__file__).parent / "fixtures" / "scan_tree"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of tests/fixtures/scan_tree, made the current directory."""
    root = tmp_path / "tree"
    shutil.copytree(SCAN_TREE, root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-initialised checkpoint (hidden 16, one layer) written with save_checkpoint."""
    import torch

    from codegraph.models.detector import build_model
    from codegraph.models.model import ModelConfig
    from codegraph.models.predict import save_checkpoint
    from codegraph.models.tensorize import PAD, UNK, VIRTUAL, Vocabulary

    vocab = Vocabulary([PAD, UNK, VIRTUAL], [PAD, UNK], [PAD, UNK])
    config = ModelConfig(hidden=16, layers=1, heads=2, rw_k=4, lap_k=2).with_vocab(vocab)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny"
    save_checkpoint(path, build_model(config), vocab, name="tiny-random")
    return path
