"""The shipped checkpoint is what `make train` trains: its recorded recipe is shipped.toml's."""

from __future__ import annotations

import json
from pathlib import Path

from codegraph.models.training.train import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_checkpoint_was_trained_by_the_shipped_recipe() -> None:
    recorded = json.loads((ROOT / "models/weights/detector.json").read_text())["metadata"]["train_config"]
    recipe = load_config(ROOT / "models/training/shipped.toml")
    assert recorded["seed"] == recipe["seed"]
    for section in ("model", "optim"):
        assert recorded[section] == recipe[section], section
    for key in ("dir", "extra_train", "max_train_units", "window_shards"):
        assert recorded["data"][key] == recipe["data"][key], key


def test_every_training_config_loads() -> None:
    configs = sorted((ROOT / "models/training").glob("*.toml"))
    assert {p.name for p in configs} == {"realfix.toml", "shipped.toml", "tiny.toml"}
    for path in configs:
        config = load_config(path)  # unknown keys and bad values are errors
        assert config["model"]["hidden"] > 0, path.name
