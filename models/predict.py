"""The torch model of a checkpoint (training, evaluation, export): ``AnalysisUnit`` -> :class:`Prediction`.

A checkpoint is files side by side, with no pickle anywhere:

* ``NAME.safetensors`` - the weights (float16 by default; loaded as float32);
* ``NAME.onnx`` - the runtime model that scans load (:mod:`codegraph.models.runtime`);
* ``NAME.json`` - the sidecar: format/version, model name, the model config, the
  vocabulary, the calibration temperatures, free-form training metadata and the
  sha256 of each of the other files.

:func:`load_checkpoint` checks the sidecar and the weights and raises :class:`ModelError`
with a one-line message when a file is missing, corrupt, tampered with, or does not fit
the model. Scans never import this module (nor torch).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from codegraph.models.checkpoint import checkpoint_paths
from codegraph.models.detector import build_model
from codegraph.models.model import BugModel, ModelConfig, feature_transform
from codegraph.models.runtime import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    DEFAULT_MODEL,
    ModelError,
    Prediction,
    best_pair,
    predict_scored,
    read_checked,
    read_sidecar,
)
from codegraph.models.schema_map import SchemaMap
from codegraph.models.tensorize import UnitArrays, Vocabulary, atomic_write_bytes
from codegraph.models.tensors import collate
from codegraph.units import AnalysisUnit

#: the shipped model
DEFAULT_CHECKPOINT = DEFAULT_MODEL.with_name(DEFAULT_MODEL.name + ".safetensors")

__all__ = ["ModelError", "Prediction", "Predictor", "best_pair", "load_checkpoint", "save_checkpoint"]


def save_checkpoint(
    path: str | Path,
    model: BugModel,
    vocab: Vocabulary,
    *,
    name: str = "codegraph-detector",
    temperature: tuple[float, float] = (1.0, 1.0),
    metadata: dict[str, Any] | None = None,
    half: bool = True,
    runtime: bool = True,
) -> tuple[Path, Path]:
    """Write ``model`` as NAME.safetensors + NAME.json (and, with ``runtime``, NAME.onnx: the
    runtime model of the weights as stored, :func:`codegraph.models.export.export_runtime`);
    returns the weights' and the sidecar's paths.

    ``temperature`` is (location, repair); ``metadata`` must be JSON-serialisable.
    Floating-point weights are stored as float16 when ``half``.
    """
    weights, sidecar = checkpoint_paths(path)
    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu()
        if half and value.is_floating_point():
            value = value.to(torch.float16)
        state[key] = value.contiguous()
    blob = save_safetensors(state, metadata={"format": CHECKPOINT_FORMAT})
    info = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "name": name,
        "model": model.config.to_dict(),
        "vocab": vocab.to_dict(),
        "temperature": {"location": float(temperature[0]), "repair": float(temperature[1])},
        "metadata": metadata or {},
        "weights": {
            "file": weights.name,
            "sha256": hashlib.sha256(blob).hexdigest(),
            "dtype": "float16" if half else "float32",
            "bytes": len(blob),
        },
    }
    atomic_write_bytes(weights, blob)
    atomic_write_bytes(sidecar, (json.dumps(info, indent=1) + "\n").encode())
    if runtime:
        from codegraph.models.export import export_runtime

        export_runtime(load_checkpoint(weights)[0], weights)
    return weights, sidecar


LoadedCheckpoint = tuple[BugModel, Vocabulary, ModelConfig, dict[str, Any]]


def load_checkpoint(path: str | Path | None = None) -> LoadedCheckpoint:
    """Load (model in eval mode, vocabulary, config, metadata); ``None`` loads the shipped model.

    ``metadata`` is the sidecar's training metadata plus ``name``, ``sha256`` (of the
    weights) and ``temperature`` (``{"location": T, "repair": T}``). Raises ModelError.
    """
    info = read_sidecar(path if path is not None else DEFAULT_CHECKPOINT)
    weights, blob, digest = read_checked(info, "weights")
    config, vocab, metadata = info.config, info.vocab, dict(info.metadata)
    try:
        state = load_safetensors(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot read the model weights {weights}: {exc}") from None
    model = build_model(config)
    expected_state = model.state_dict()
    missing = sorted(set(expected_state) - set(state))
    unexpected = sorted(set(state) - set(expected_state))
    if missing or unexpected:
        raise ModelError(
            f"{weights} does not fit the model: {len(missing)} missing and "
            f"{len(unexpected)} unexpected tensors (e.g. {(missing or unexpected)[0]})"
        )
    for key, value in state.items():
        if value.shape != expected_state[key].shape:
            raise ModelError(
                f"{weights}: tensor {key} has shape {tuple(value.shape)}, expected "
                f"{tuple(expected_state[key].shape)}"
            )
        state[key] = value.to(expected_state[key].dtype)
    model.load_state_dict(state)
    model.eval()
    metadata.update(name=info.name, sha256=digest, temperature=info.temperature)
    return model, vocab, config, metadata


@contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    if not num_threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Predictor:
    """A loaded model that scores units in batches (``torch.inference_mode``)."""

    def __init__(
        self,
        model: BugModel,
        vocab: Vocabulary,
        config: ModelConfig,
        metadata: dict[str, Any] | None = None,
        *,
        num_threads: int | None = None,
        max_batch_nodes: int = 16_384,
        max_batch_units: int = 128,
    ) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.config = config
        self.metadata = dict(metadata or {})
        temperature = self.metadata.get("temperature") or {}
        self.t_loc = float(temperature.get("location", 1.0))
        self.t_rep = float(temperature.get("repair", 1.0))
        self.num_threads = num_threads
        self.max_batch_nodes = max_batch_nodes
        self.max_batch_units = max_batch_units
        self.transform = feature_transform(config)
        self.schema = SchemaMap(config.rules, config.edge_kinds)

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, *, num_threads: int | None = None) -> Predictor:
        model, vocab, config, metadata = load_checkpoint(path)
        return cls(model, vocab, config, metadata, num_threads=num_threads)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", "codegraph-detector"))

    @property
    def sha256(self) -> str:
        return str(self.metadata.get("sha256", ""))

    @property
    def missing_rules(self) -> tuple[str, ...]:
        """This code's rules that the model was not trained with: left off (probability 0)."""
        return self.schema.missing_rules

    def tensors(self, unit: AnalysisUnit) -> UnitArrays:
        """The model input of one unit (tensorize + shortcuts + positional encodings) in the model's
        rule and edge-type ids; its candidates must all be of rules the model scores."""
        return self.schema.model_input(unit, self.vocab, self.transform.transform)

    def predict(self, units: Sequence[AnalysisUnit]) -> list[Prediction]:
        """One Prediction per unit, in order. Units without candidates get ``p_no_bug = 1``;
        candidates of rules the model was not trained with get probability 0."""
        return predict_scored(self.schema, units, self._predict_scored)

    def _predict_scored(self, units: list[AnalysisUnit]) -> list[Prediction]:
        out: list[Prediction | None] = [None] * len(units)
        todo = []
        for i, unit in enumerate(units):
            if unit.candidates:
                todo.append(i)
            else:
                out[i] = Prediction(unit.function, unit.path, 1.0)
        todo.sort(key=lambda i: units[i].num_nodes)
        batches: list[list[int]] = []
        nodes = 0
        for i in todo:
            n = units[i].num_nodes
            if batches and nodes + n <= self.max_batch_nodes and len(batches[-1]) < self.max_batch_units:
                batches[-1].append(i)
                nodes += n
            else:
                batches.append([i])
                nodes = n
        with _threads(self.num_threads), torch.inference_mode():
            for idx in batches:
                for i, pred in zip(idx, self._predict_batch([units[i] for i in idx])):
                    out[i] = pred
        return [p for p in out if p is not None]

    def _predict_batch(self, units: list[AnalysisUnit]) -> list[Prediction]:
        batch = collate([self.tensors(u) for u in units])
        logits = self.model(batch)
        no_bug, loc, rep = (t.exp().tolist() for t in logits.log_probs(self.t_loc, self.t_rep))
        preds = []
        c0 = r0 = 0
        for g, unit in enumerate(units):
            loc_probs = loc[c0 : c0 + len(unit.candidates)]
            rep_probs = []
            for cand in unit.candidates:
                rep_probs.append(rep[r0 : r0 + len(cand.repairs)])
                r0 += len(cand.repairs)
            c0 += len(unit.candidates)
            preds.append(Prediction(unit.function, unit.path, no_bug[g], loc_probs, rep_probs))
        return preds


def load_predictor(path: str | Path | None = None, num_threads: int | None = None) -> Predictor:
    """The pipeline's entry point: a Predictor for ``path`` (None: the shipped model). Raises ModelError."""
    return Predictor.from_checkpoint(path, num_threads=num_threads)
