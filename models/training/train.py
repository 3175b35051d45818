"""`codegraph train run`: train the detector (or the baseline) from a TOML config.

    codegraph train run --config models/training/shipped.toml [--out DIR] [--resume]
                    [--max-steps N] [--max-minutes M] [--export models/weights/detector]
                    [--set model.kind=baseline] [--nproc 2]
    torchrun --nproc-per-node 4 -m codegraph.models.training.train --config ...

The dataset directory (``[data] dir``) holds ``vocab.json`` and shards
(``train/*.pt``, ``valid/*.pt``, ``test/*.pt``, written with
:func:`codegraph.models.tensorize.save_shard`). Shortcut edges and positional
encodings are added as the model config asks and cached in ``OUT/cache``.
``[data] extra_train`` adds more datasets' training splits (built from the same corpus,
e.g. with other injection seeds, or mined hard negatives; ``extra_repeat`` weights
them), and ``[data] window_shards = N`` streams the training
units N shards at a time instead of holding them all in memory
(:mod:`codegraph.models.training.trainset`).

The run is seeded; every ``checkpoint_every`` steps or ``checkpoint_minutes`` minutes
it writes ``OUT/last.pt`` (model, optimizer, schedule, step, data position, RNG
states) and ``--resume`` continues from there exactly. It validates every
``eval_every`` steps (0: every epoch), keeps the best weights in ``OUT/best.pt``,
and at the end fits the calibration temperatures on the validation split and exports
the best weights as ``OUT/detector.safetensors`` + ``OUT/detector.json`` (and to
``--export PATH``). Under ``torchrun`` (or ``--nproc N``) it runs
DistributedDataParallel: gloo on CPU, nccl on CUDA; each process takes its share of
every epoch's batches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import time
import tomllib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from codegraph.command import CommandError, command
from codegraph.models.detector import build_model
from codegraph.models.layers.bug_heads import bug_loss
from codegraph.models.model import BugModel, ModelConfig, count_parameters, feature_transform
from codegraph.models.predict import save_checkpoint
from codegraph.models.tensorize import Vocabulary
from codegraph.models.tensors import UnitData, collate, compact
from codegraph.models.training.calibrate import expected_calibration_error, fit_temperatures, merge_logits
from codegraph.models.training.metrics import Outcomes, outcomes, run_model, summary
from codegraph.models.training.shards import (
    cached_shard_path,
    dataset_vocabulary,
    load_transformed_shard,
    node_budget_batches,
    shard_files,
)
from codegraph.models.training.trainset import TrainSet

DEFAULT_CONFIG = Path(__file__).with_name("shipped.toml")

#: every config key with its default; a config file may set any subset
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "model": ModelConfig().to_dict(),
    "data": {
        "dir": "data/dataset",
        "train": "train",
        "valid": "valid",
        "max_train_units": 0,
        "max_valid_units": 0,
        "extra_train": [],  # more dataset dirs (same vocabulary) whose training splits join the run
        "extra_repeat": [],  # times each extra_train dataset's shards appear in an epoch (1 each if empty)
        "window_shards": 0,  # 0: every training unit in memory; N: stream N shards at a time
        "valid_dir": "",  # the dataset whose validation split is used ("": dir)
    },
    "optim": {
        "lr": 1e-3,
        "weight_decay": 0.01,
        "batch_nodes": 12_000,  # graph nodes per batch and process
        "batch_graphs": 64,  # at most this many units per batch
        "warmup": 500,
        "steps": 20_000,
        "clip": 1.0,
        "min_lr_ratio": 0.05,  # cosine decay to lr * min_lr_ratio at the last step
    },
    "train": {
        "out": "runs/default",
        "eval_every": 1000,  # steps between validations; 0: once per epoch
        "checkpoint_every": 500,
        "checkpoint_minutes": 10.0,
        "log_every": 50,
        "device": "auto",  # auto | cpu | cuda
        "threads": 0,  # torch threads per process; 0: cores / processes
        "prepare_workers": 0,  # processes computing encodings for the cache; 0: all cores
        "prune": True,  # layers compute only the graph nodes the loss depends on (same gradients)
        "init": "",  # an exported checkpoint whose weights start the run (same model and vocabulary)
        # the validation figure the kept (best) step maximises: "accuracy" (every unit: the bug
        # found and repaired, or no bug said) or "top_joint" (buggy units: the top candidate and
        # repair are the bug's, at any confidence; what real-fix fine-tuning is judged on)
        "select": "accuracy",
    },
    "export": {
        "path": "",
        "name": "codegraph-detector",
        "half": True,
    },
    "eval": {"baseline": "", "out": "models/weights/EVAL.md"},
}
# filled in from the data, and the rules and edge kinds are this code's: none is a recipe's switch
for _key in ("num_node_types", "num_subtokens", "num_repair_tokens", "rules", "edge_kinds"):
    DEFAULTS["model"].pop(_key)


#: what [train] select may name
SELECT = ("accuracy", "top_joint")


class TrainError(CommandError):
    """The run cannot start or continue; the message is one line for the user."""


# -- configuration ---------------------------------------------------------------------------------
def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if key not in base:
            raise TrainError(f"unknown config key {where}{key}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise TrainError(f"config key {where}{key} must be a table")
            out[key] = _merge(base[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Defaults <- the TOML file <- ``KEY.PATH=VALUE`` overrides (values parsed as TOML, else strings)."""
    config = DEFAULTS
    if path is not None:
        try:
            with open(path, "rb") as f:
                config = _merge(config, tomllib.load(f), "")
        except OSError as exc:
            raise TrainError(f"cannot read config {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise TrainError(f"{path}: invalid TOML ({exc})") from None
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise TrainError(f"--set expects KEY=VALUE, got {item!r}")
        nested: dict[str, Any] = {}
        node = nested
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = _parse_value(value.strip())
        config = _merge(config, nested, "")
    if config["train"]["select"] not in SELECT:
        raise TrainError(
            f"[train] select must be one of {', '.join(SELECT)}, not {config['train']['select']!r}"
        )
    try:
        ModelConfig.from_dict(config["model"])
    except (TypeError, ValueError) as exc:
        raise TrainError(f"invalid [model] config: {exc}") from None
    return config


# -- distributed -------------------------------------------------------------------------------------
@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def all_sum(self, t: Tensor) -> Tensor:
        if self.world > 1:
            t = t.to(self.device)
            dist.all_reduce(t)
        return t.cpu()

    def broadcast_flags(self, flags: list[bool]) -> list[bool]:
        if self.world == 1:
            return flags
        t = torch.tensor([int(f) for f in flags], device=self.device)
        dist.broadcast(t, 0)
        return [bool(v) for v in t.tolist()]


def setup_distributed(device_name: str) -> Dist:
    """Join the process group when started by torchrun / --nproc (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        raise TrainError("train.device = 'cuda' but no CUDA device is available")
    device = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timedelta(hours=2))
    return Dist(rank, world, local_rank, device)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn_worker(rank: int, world: int, port: int, argv: list[str]) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    code = main(argv)
    if code:
        raise SystemExit(code)


# -- data -----------------------------------------------------------------------------------------------
def _warm_cache(args: tuple[Path, str, Any, Path]) -> None:
    shard, split, transform, cache_dir = args
    load_transformed_shard(shard, split, transform, cache_dir)


def warm_cache(files: Sequence[Path], split: str, transform: Any, cache_dir: Path, workers: int) -> None:
    """Compute the missing transformed shards of ``files`` with ``workers`` processes."""
    missing = [f for f in files if not cached_shard_path(f, split, transform, cache_dir).is_file()]
    if workers > 1 and len(missing) > 1:
        ctx = get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(missing)), mp_context=ctx) as pool:
            list(pool.map(_warm_cache, [(f, split, transform, cache_dir) for f in missing]))


def prepare_split(
    data_dir: Path, split: str, transform: Any, cache_dir: Path, workers: int, limit: int | None = None
) -> list[UnitData]:
    """Load a split through the encoding cache, computing missing cache files with ``workers`` processes.

    Units are held :func:`compact` (int32 / float16); batches are widened by ``collate``."""
    files = shard_files(data_dir, split)
    if not files:
        raise TrainError(
            f"no shards in {data_dir / split}: build the dataset first (codegraph train dataset build)"
        )
    warm_cache(files, split, transform, cache_dir, workers)
    out: list[UnitData] = []
    for f in files:
        out += [compact(d) for d in load_transformed_shard(f, split, transform, cache_dir)]
        if limit and len(out) >= limit:
            return out[:limit]
    return out


def training_shards(
    data_dir: Path, split: str, extra: Sequence[str], vocab: Vocabulary, repeat: Sequence[int] = ()
) -> list[tuple[Path, str]]:
    """(shard, split) of the run's training data: ``data_dir``'s split, then each extra dataset's
    ``train`` split (``repeat[i]`` times for the i-th, once if ``repeat`` is empty); every
    extra dataset must share the vocabulary."""
    shards = [(f, split) for f in shard_files(data_dir, split)]
    if not shards:
        raise TrainError(
            f"no shards in {data_dir / split}: build the dataset first (codegraph train dataset build)"
        )
    repeat = list(repeat) or [1] * len(extra)
    if len(repeat) != len(extra) or not all(isinstance(r, int) and r >= 1 for r in repeat):
        raise TrainError("data.extra_repeat: one whole number >= 1 per data.extra_train entry (or none)")
    for name, times in zip(extra, repeat):
        other = Path(name)
        try:
            theirs = dataset_vocabulary(other)
        except (FileNotFoundError, ValueError) as exc:
            raise TrainError(f"data.extra_train: {exc}") from None
        if theirs.fingerprint() != vocab.fingerprint():
            raise TrainError(
                f"data.extra_train: {other} has another vocabulary than {data_dir}"
                " (build it from the same corpus)"
            )
        files = shard_files(other, "train")
        if not files:
            raise TrainError(f"data.extra_train: no shards in {other / 'train'}")
        shards += [(f, "train") for f in files] * times
    return shards


# -- the run ----------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    step: int
    finished: bool
    best: dict[str, float]
    out: Path
    exported: list[Path]
    model: BugModel


def _lr_lambda(warmup: int, total: int, floor: float) -> Any:
    def fn(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return fn


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


_TRAIN_COLUMNS = (
    TextColumn("[bold]train"),
    BarColumn(),
    MofNCompleteColumn(),
    TimeElapsedColumn(),
    TimeRemainingColumn(),
    TextColumn("{task.fields[status]}"),
)


@dataclass
class _Running:
    """The loss parts and units since the last log line (one every ``every`` steps)."""

    every: int
    sums: dict[str, float] = field(default_factory=dict)
    seen: int = 0
    tick: float = field(default_factory=time.monotonic)

    def add(self, parts: dict[str, float], units: int) -> None:
        for k, v in parts.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.seen += units

    def record(self, step: int, epoch: int, lr: float, world: int) -> dict[str, Any]:
        """The log line (mean loss parts, throughput of all processes); starts the next one."""
        now = time.monotonic()
        record: dict[str, Any] = {k: v / self.every for k, v in self.sums.items()}
        record.update(
            step=step, epoch=epoch, lr=lr, units_per_s=self.seen * world / max(1e-9, now - self.tick)
        )
        self.sums, self.seen, self.tick = {}, 0, now
        return record


class Trainer:
    """One training run (one process of it under DDP)."""

    def __init__(self, config: dict[str, Any], out: Path, *, quiet: bool = False) -> None:
        self.config = config
        self.out = out
        self.optim_cfg = config["optim"]
        self.train_cfg = config["train"]
        self.dist = setup_distributed(str(self.train_cfg["device"]))
        self.console = Console(stderr=True, quiet=quiet or not self.dist.main)
        self.quiet = quiet
        self._set_threads()
        self.seed = int(config["seed"])
        self._read_vocabulary(config["data"])
        self.model_config = ModelConfig.from_dict(config["model"]).with_vocab(self.vocab)
        self._prepare_data(config["data"], feature_transform(self.model_config))
        self._build_model()
        self._build_optimizer()
        self.step = 0
        self.epoch = 0
        self.pos = 0  # batches of the current epoch already done by this process
        self.best: dict[str, float] = {"accuracy": -1.0, "loss": float("inf"), "step": 0.0}
        torch.manual_seed(self.seed + 7919 * (self.dist.rank + 1))  # dropout / sign flips differ per process
        random.seed(self.seed + self.dist.rank)

    def _set_threads(self) -> None:
        threads = int(self.train_cfg["threads"])
        if threads <= 0 and self.dist.world > 1 and self.dist.device.type == "cpu":
            threads = max(1, (os.cpu_count() or 1) // self.dist.world)
        if threads > 0:
            torch.set_num_threads(threads)

    def _read_vocabulary(self, data_cfg: dict[str, Any]) -> None:
        """The training data's vocabulary (``[data] valid_dir``, when given, must share it)."""
        self.data_dir = Path(data_cfg["dir"])
        try:
            self.vocab = dataset_vocabulary(self.data_dir)
        except (FileNotFoundError, ValueError) as exc:
            raise TrainError(str(exc)) from None
        self.valid_dir = Path(data_cfg.get("valid_dir") or self.data_dir)
        if self.valid_dir != self.data_dir:
            try:
                if dataset_vocabulary(self.valid_dir).fingerprint() != self.vocab.fingerprint():
                    raise TrainError(f"{self.valid_dir} has another vocabulary than {self.data_dir}")
            except (FileNotFoundError, ValueError) as exc:
                raise TrainError(str(exc)) from None

    def _prepare_data(self, data_cfg: dict[str, Any], transform: Any) -> None:
        """The training set and the validation units, their encodings cached in ``OUT/cache``."""
        workers = int(self.train_cfg["prepare_workers"]) or (os.cpu_count() or 1)
        cache = self.out / "cache"
        shards = training_shards(
            self.data_dir,
            str(data_cfg["train"]),
            list(data_cfg["extra_train"]),
            self.vocab,
            list(data_cfg["extra_repeat"]),
        )
        self.valid_data: list[UnitData] = []
        for turn in (0, 1):  # the main process fills the cache first, the others then read it
            if (turn == 0) == self.dist.main:
                for split in sorted({sp for _, sp in shards}):
                    warm_cache(
                        list(dict.fromkeys(f for f, sp in shards if sp == split)),
                        split,
                        transform,
                        cache,
                        workers,
                    )
                self.train_set = TrainSet(
                    shards,
                    transform,
                    cache,
                    limit=int(data_cfg["max_train_units"]) or None,
                    window=int(data_cfg["window_shards"]),
                )
                limit = int(data_cfg["max_valid_units"]) or None
                try:
                    self.valid_data = prepare_split(
                        self.valid_dir, str(data_cfg["valid"]), transform, cache, workers, limit
                    )
                except TrainError:
                    self.valid_data = []
            self.dist.barrier()

    def _build_model(self) -> None:
        torch.manual_seed(self.seed)  # identical initial weights in every process
        self.model = build_model(self.model_config).to(self.dist.device)
        if self.train_cfg.get("init"):
            self._init_from(str(self.train_cfg["init"]))
        self.model.prune_training = bool(self.train_cfg["prune"])
        self.net: nn.Module = self.model
        if self.dist.world > 1:
            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)

    def _build_optimizer(self) -> None:
        """AdamW (no weight decay on embeddings, biases and norms), warmup then cosine decay."""
        decay = [p for n, p in self.model.named_parameters() if p.dim() >= 2 and "emb" not in n]
        no_decay = [p for n, p in self.model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": float(self.optim_cfg["weight_decay"])},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=float(self.optim_cfg["lr"]),
        )
        self.total_steps = int(self.optim_cfg["steps"])
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            _lr_lambda(
                int(self.optim_cfg["warmup"]), self.total_steps, float(self.optim_cfg["min_lr_ratio"])
            ),
        )

    # -- checkpoints ------------------------------------------------------------------------------
    @property
    def last_path(self) -> Path:
        return self.out / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.out / "best.pt"

    def save_last(self) -> None:
        # each process's generators: the CPU's, and the GPU's that draws dropout masks and
        # sign flips for tensors on it
        device = self.dist.device
        mine = (torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None)
        states: list[Any] = [mine]
        if self.dist.world > 1:
            states = [None] * self.dist.world
            dist.all_gather_object(states, mine)
        if self.dist.main:
            _atomic_save(
                {
                    "format": "codegraph-train-state",
                    "step": self.step,
                    "epoch": self.epoch,
                    "pos": self.pos,
                    "world": self.dist.world,
                    "best": self.best,
                    "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "scheduler": self.scheduler.state_dict(),
                    "rng": [cpu for cpu, _ in states],
                    "cuda_rng": [gpu for _, gpu in states],
                    "model_config": self.model_config.to_dict(),
                    "vocab_sha256": self.vocab.fingerprint(),
                },
                self.last_path,
            )
        self.dist.barrier()

    def _init_from(self, path: str) -> None:
        """Start from the weights of an exported checkpoint (fine-tuning); a resume replaces them."""
        from codegraph.models.predict import ModelError, load_checkpoint

        try:
            model, vocab, config, _ = load_checkpoint(path)
        except ModelError as exc:
            raise TrainError(f"[train] init: {exc}") from None
        if vocab.fingerprint() != self.vocab.fingerprint():
            raise TrainError(f"[train] init: {path} has another vocabulary than the training data")
        if config.to_dict() != self.model_config.to_dict():
            raise TrainError(f"[train] init: {path} has another model config than [model]")
        self.model.load_state_dict(model.state_dict())  # copied into this model's float32 weights

    def resume(self) -> bool:
        if not self.last_path.is_file():
            return False
        state = torch.load(self.last_path, weights_only=True, map_location=self.dist.device)
        saved = state.get("model_config")
        try:  # fields added since the checkpoint was written take their defaults
            same = ModelConfig.from_dict(saved).to_dict() == self.model_config.to_dict()
        except (TypeError, ValueError):
            same = False
        if not same:
            raise TrainError(f"{self.last_path} was trained with another model config: cannot resume")
        if state.get("vocab_sha256") != self.vocab.fingerprint():
            raise TrainError(f"{self.last_path} was trained with another vocabulary: cannot resume")
        if state["world"] != self.dist.world:
            raise TrainError(
                f"{self.last_path} was written by {state['world']} processes, not {self.dist.world}"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch, self.pos = int(state["step"]), int(state["epoch"]), int(state["pos"])
        self.best = {k: float(v) for k, v in state["best"].items()}
        torch.set_rng_state(state["rng"][self.dist.rank].cpu())
        cuda_rng = state.get("cuda_rng", [None] * self.dist.world)[self.dist.rank]
        if self.dist.device.type == "cuda" and cuda_rng is not None:
            torch.cuda.set_rng_state(cuda_rng.cpu(), self.dist.device)
        return True

    # -- validation -------------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Validation loss and accuracies over all processes (each scores its share)."""
        self.model.eval()
        mine = self.valid_data[self.dist.rank :: self.dist.world]
        parts: list[Outcomes] = []
        loss_sum = 0.0
        for idx in node_budget_batches(
            [int(d.num_nodes or 0) for d in mine], int(self.optim_cfg["batch_nodes"]), 256
        ):
            batch = collate([mine[i] for i in idx]).to(self.dist.device)
            logits = self.model(batch)
            loss, _ = bug_loss(logits, batch.y_loc, batch.y_rep)
            loss_sum += float(loss) * len(idx)
            parts.append(outcomes(logits, batch))
        self.model.train()
        o = Outcomes.cat(parts) if parts else Outcomes.empty()
        bug = o.is_bug
        counts = torch.tensor(
            [
                len(o),
                float(bug.sum()),
                float((o.said_no_bug & ~bug).sum()),
                float((o.loc_ok & bug).sum()),
                float(o.rep_ok.sum()),
                float(o.has_fix.sum()),
                float((o.joint_ok & bug).sum()),
                float(o.joint_ok.sum()),
                float((o.top_ok & bug).sum()),
                loss_sum,
            ],
            dtype=torch.float64,
        )
        n, nbug, clean_ok, loc_ok, rep_ok, nfix, joint_bug, joint_all, top_bug, loss_total = (
            self.dist.all_sum(counts).tolist()
        )

        def rate(a: float, b: float) -> float:
            return a / b if b else float("nan")

        return {
            "loss": rate(loss_total, n),
            "accuracy": rate(joint_all, n),
            "no_bug_accuracy": rate(clean_ok, n - nbug),
            "localisation": rate(loc_ok, nbug),
            "repair": rate(rep_ok, nfix),
            "joint": rate(joint_bug, nbug),
            "top_joint": rate(top_bug, nbug),
            "units": n,
        }

    def _maybe_keep_best(self, metrics: dict[str, float]) -> bool:
        chosen = metrics[str(self.train_cfg["select"])]
        acc = chosen if chosen == chosen else -metrics["loss"]
        better = acc > self.best["accuracy"] or (
            acc == self.best["accuracy"] and metrics["loss"] < self.best["loss"]
        )
        if better:
            self.best = {"accuracy": acc, "loss": metrics["loss"], "step": float(self.step)}
            if self.dist.main:
                _atomic_save(
                    {"model": self.model.state_dict(), "step": self.step, "metrics": metrics}, self.best_path
                )
        return better

    # -- training ------------------------------------------------------------------------------------
    def _log(self, record: dict[str, Any]) -> None:
        if self.dist.main:
            with open(self.out / "log.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    def fit(self, max_steps: int | None = None, max_minutes: float | None = None) -> bool:
        """Train until the schedule ends or a limit is hit; True when the schedule is complete."""
        start = time.monotonic()
        self._last_checkpoint = time.monotonic()
        stop_at = min(self.total_steps, max_steps) if max_steps is not None else self.total_steps
        bn, bg = int(self.optim_cfg["batch_nodes"]), int(self.optim_cfg["batch_graphs"])
        self.model.train()
        running = _Running(max(1, int(self.train_cfg["log_every"])))
        with Progress(
            *_TRAIN_COLUMNS, console=self.console, disable=self.quiet or not self.dist.main
        ) as progress:
            task = progress.add_task("train", total=self.total_steps, completed=self.step, status="")
            while self.step < stop_at:
                plan = self.train_set.epoch_plan(self.seed, self.epoch, bn, bg)
                usable = len(plan) - len(plan) % self.dist.world
                mine = plan[self.dist.rank : usable : self.dist.world]
                if not mine:
                    raise TrainError("the training split is smaller than one batch per process")
                stop = self._run_epoch(mine, progress, task, running, stop_at, start, max_minutes)
                if self.pos >= len(mine):
                    self.epoch, self.pos = self.epoch + 1, 0
                if stop:
                    break
        return self.step >= self.total_steps

    def _run_epoch(
        self,
        mine: Sequence[tuple[int, list[int]]],
        progress: Progress,
        task: TaskID,
        running: _Running,
        stop_at: int,
        start: float,
        max_minutes: float | None,
    ) -> bool:
        """This process's batches of the epoch from ``self.pos`` on, with their log lines,
        validations and checkpoints; True when the run is to stop."""
        eval_every = int(self.train_cfg["eval_every"])
        ckpt_every = int(self.train_cfg["checkpoint_every"])
        ckpt_seconds = 60.0 * float(self.train_cfg["checkpoint_minutes"])
        clip = float(self.optim_cfg["clip"])
        stop = False
        while self.pos < len(mine) and not stop:
            window, idx = mine[self.pos]
            units = self.train_set.units(self.seed, self.epoch, window)
            parts = self._train_step([units[i] for i in idx], clip)
            running.add(parts, len(idx))
            progress.update(task, completed=self.step, status=f"loss {parts['loss']:.3f}")
            if self.step % running.every == 0:
                lr = float(self.scheduler.get_last_lr()[0])
                self._log(running.record(self.step, self.epoch, lr, self.dist.world))
            epoch_end = self.pos == len(mine)
            if (eval_every > 0 and self.step % eval_every == 0) or (eval_every == 0 and epoch_end):
                self._validate_and_log(progress)
            elapsed = time.monotonic() - start
            due = (ckpt_every > 0 and self.step % ckpt_every == 0) or (
                time.monotonic() - self._last_checkpoint >= ckpt_seconds
            )
            out_of_time = max_minutes is not None and elapsed >= 60.0 * max_minutes
            stop, due = self.dist.broadcast_flags([self.step >= stop_at or out_of_time, due])
            if due or stop:
                if epoch_end:
                    self.epoch, self.pos = self.epoch + 1, 0
                self.save_last()
                self._last_checkpoint = time.monotonic()
                if epoch_end:
                    break
        return stop

    def _train_step(self, units: list[UnitData], clip: float) -> dict[str, float]:
        """One optimiser step on one batch; the parts of its loss."""
        batch = collate(units).to(self.dist.device)
        logits = self.net(batch)
        loss, parts = bug_loss(logits, batch.y_loc, batch.y_rep)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        self.pos += 1
        return parts

    def _validate_and_log(self, progress: Progress | None = None) -> dict[str, float]:
        if not self.valid_data and self.dist.world == 1:
            return {}
        metrics = self.validate()
        better = self._maybe_keep_best(metrics)
        self._log({"step": self.step, "valid": metrics, "best": better})
        text = (
            f"step {self.step}: valid loss {metrics['loss']:.4f}, accuracy {metrics['accuracy']:.3f}, "
            f"loc {metrics['localisation']:.3f}, repair {metrics['repair']:.3f}"
            + (" (best)" if better else "")
        )
        (progress.console if progress is not None else self.console).print(text)
        return metrics

    # -- export ---------------------------------------------------------------------------------------
    def export(self, paths: Sequence[Path], finished: bool) -> list[Path]:
        """Calibrate the best weights (the latest when no step was validated) on the validation
        split and write the shippable checkpoint(s)."""
        if not self.dist.main:
            return []
        from_best = self.best_path.is_file()
        if from_best:
            best = torch.load(self.best_path, weights_only=True, map_location=self.dist.device)
            self.model.load_state_dict(best["model"])
        t_loc, t_rep, ece, valid = 1.0, 1.0, float("nan"), {}
        if self.valid_data:
            raw_outcomes, raw = run_model(
                self.model,
                self.valid_data,
                batch_nodes=int(self.optim_cfg["batch_nodes"]),
                device=self.dist.device,
                keep_logits=True,
            )
            logits, y_loc, y_rep = merge_logits(raw)
            t_loc, t_rep = fit_temperatures(logits, y_loc, y_rep)
            calibrated, _ = run_model(
                self.model,
                self.valid_data,
                t_loc=t_loc,
                t_rep=t_rep,
                batch_nodes=int(self.optim_cfg["batch_nodes"]),
                device=self.dist.device,
            )
            ece = expected_calibration_error(calibrated.confidence.tolist(), calibrated.top_ok.tolist())
            valid = summary(raw_outcomes)
        metadata = {
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "data_dir": str(self.data_dir),
            "vocab_sha256": self.vocab.fingerprint(),
            "best_step": int(self.best["step"]),
            "exported_step": int(self.best["step"]) if from_best else self.step,
            "steps_trained": self.step,
            "schedule_finished": finished,
            "parameters": count_parameters(self.model),
            "valid": valid,
            "valid_ece_calibrated": ece,
            "torch": torch.__version__,
            "train_config": self.config,
        }
        written = []
        for p in paths:
            w, s = save_checkpoint(
                p,
                self.model.cpu(),
                self.vocab,
                name=str(self.config["export"]["name"]),
                temperature=(t_loc, t_rep),
                metadata=metadata,
                half=bool(self.config["export"]["half"]),
            )
            self.model.to(self.dist.device)
            runtime = w.with_suffix(".onnx")  # the runtime model, written by save_checkpoint
            written += [w, s, runtime]
            self.console.print(f"exported {w} and {runtime.name} (T_loc={t_loc:.3f}, T_rep={t_rep:.3f})")
        return written


def run(
    config: dict[str, Any],
    out: str | Path,
    *,
    resume: bool = False,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    export: str | Path | None = None,
    do_export: bool = True,
    quiet: bool = False,
) -> TrainResult:
    """Train (this process's part of) one run; see the module docstring."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(config, out, quiet=quiet)
    try:
        if resume:
            if trainer.resume():
                trainer.console.print(f"resumed from {trainer.last_path} at step {trainer.step}")
            else:
                trainer.console.print(f"nothing to resume in {out}: starting afresh")
        elif trainer.last_path.exists():
            raise TrainError(f"{out} already has a run (last.pt): pass --resume or choose another --out")
        if trainer.dist.main:
            (out / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
            trainer.console.print(
                f"{trainer.model_config.kind}: {count_parameters(trainer.model):,} parameters, "
                f"{len(trainer.train_set)} training / {len(trainer.valid_data)} validation units, "
                f"{trainer.dist.world} process(es) on {trainer.dist.device}"
            )
        finished = trainer.fit(max_steps, max_minutes)
        if trainer.best["step"] != trainer.step and (trainer.valid_data or trainer.dist.world > 1):
            trainer._validate_and_log()
        trainer.dist.barrier()
        exported: list[Path] = []
        if do_export:
            targets = [out / "detector"]
            extra = export or config["export"]["path"]
            if extra:
                targets.append(Path(extra))
            exported = trainer.export(targets, finished)
        trainer.dist.barrier()
        if trainer.dist.main:
            (out / "summary.json").write_text(
                json.dumps({"step": trainer.step, "finished": finished, "best": trainer.best}, indent=1),
                encoding="utf-8",
            )
        return TrainResult(trainer.step, finished, trainer.best, out, exported, trainer.model)
    finally:
        if trainer.dist.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


# -- command -----------------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="codegraph train run", description="Train the detector from a TOML config."
    )
    p.add_argument(
        "--config",
        default=str(DEFAULT_CONFIG),
        help="TOML config (default: shipped.toml, the shipped model's recipe)",
    )
    p.add_argument("--out", help="run directory (default: [train] out)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument(
        "--max-steps", type=int, help="stop at this global step (the schedule keeps [optim] steps)"
    )
    p.add_argument("--max-minutes", type=float, help="stop after this many minutes (a checkpoint is written)")
    p.add_argument("--export", help="also write the calibrated best weights to PATH(.safetensors/.json)")
    p.add_argument("--no-export", action="store_true", help="skip calibration and export at the end")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--nproc", type=int, default=1, help="local DDP processes (without torchrun)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


@command("codegraph train run")
def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    args = _parser().parse_args(argv)
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        rest = [a for i, a in enumerate(argv) if a != "--nproc" and (i == 0 or argv[i - 1] != "--nproc")]
        rest = [a for a in rest if not a.startswith("--nproc=")]
        import torch.multiprocessing as mp

        try:
            mp.spawn(_spawn_worker, args=(args.nproc, _free_port(), rest), nprocs=args.nproc, join=True)
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as exc:
            raise TrainError(f"a worker failed:\n{exc}") from None
        return 0
    config = load_config(args.config, args.set)
    run(
        config,
        args.out or config["train"]["out"],
        resume=args.resume,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        export=args.export,
        do_export=not args.no_export,
        quiet=args.quiet,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
