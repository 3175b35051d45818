"""The shipped checkpoint is what `make train` trains: phase 2 (realfix.toml) on phase 1b
(adapt.toml) on phase 1 (shipped.toml); its recorded recipe is realfix.toml's, its
architecture that of all three."""

from __future__ import annotations

import json
from pathlib import Path

from codegraph.models.training.train import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_checkpoint_was_trained_by_the_shipped_recipe() -> None:
    metadata = json.loads((ROOT / "models/weights/detector.json").read_text())["metadata"]
    recorded = metadata["train_config"]
    recipe = load_config(ROOT / "models/training/realfix.toml")
    assert recorded["seed"] == recipe["seed"]
    for section in ("model", "optim"):
        assert recorded[section] == recipe[section], section
    for key in ("dir", "extra_train", "extra_repeat", "max_train_units", "window_shards"):
        assert recorded["data"][key] == recipe["data"][key], key
    assert recorded["train"]["select"] == recipe["train"]["select"] == "top_joint"
    # phase 2 starts from phase 1b's export, and phase 1b from phase 1's
    adapt = load_config(ROOT / "models/training/adapt.toml")
    assert recorded["train"]["init"] == recipe["train"]["init"] == "runs/adapt/export/detector"
    assert adapt["train"]["init"] == "runs/phase1/export/detector"
    # the recipe stops at 1,000 steps (make realfix) and keeps the best validation step
    assert metadata["steps_trained"] == 1000 and metadata["best_step"] == metadata["exported_step"]
    # phases 1 and 1b have the same architecture
    assert load_config(ROOT / "models/training/shipped.toml")["model"] == recipe["model"] == adapt["model"]


def test_every_training_config_loads() -> None:
    configs = sorted((ROOT / "models/training").glob("*.toml"))
    assert {p.name for p in configs} == {"adapt.toml", "realfix.toml", "shipped.toml", "tiny.toml"}
    for path in configs:
        config = load_config(path)  # unknown keys and bad values are errors
        assert config["model"]["hidden"] > 0, path.name
