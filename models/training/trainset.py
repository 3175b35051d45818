"""The training units of a run: one or more datasets' training shards, resident or streamed.

Resident (``window = 0``): every unit is loaded once and held in memory (about 45 KB a
unit, int32 / float16), and an epoch is a shuffle of all of them.

Streamed (``window = N``): each epoch shuffles the order of the shards, cuts it into
windows of N shards, and shuffles the units inside each window; only the current
window is in memory. Memory is bounded by the window, not by the datasets, so a run can
train on several builds of the corpus (e.g. different injection seeds) at once.

Either way the plan of an epoch is a function of (seed, epoch) and of the shards' unit
sizes only, so every DDP process walks the same plan and a resumed run continues it
exactly. The sizes are read in one pass over the shards and kept in the run's cache.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_geometric.data import Data

from codegraph.models.tensors import UnitData, compact
from codegraph.models.training.shards import cached_shard_path, load_transformed_shard, node_budget_batches


def epoch_batches(
    sizes: Sequence[int], seed: int, epoch: int, batch_nodes: int, batch_graphs: int, salt: int = 0
) -> list[list[int]]:
    """The shuffled batches of one epoch: a function of (seed, epoch, salt), the same in every process."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch + salt * 7_777_777)
    order = torch.randperm(len(sizes), generator=g).tolist()
    packed = node_budget_batches([sizes[i] for i in order], batch_nodes, batch_graphs)
    return [[order[i] for i in batch] for batch in packed]


@dataclass(frozen=True)
class Shard:
    path: Path
    split: str
    take: int  # units used from the start of the shard (a unit limit may cut the last one)


class TrainSet:
    """The shards of a run's training data, their unit sizes, and the per-epoch plan."""

    def __init__(
        self,
        shards: Sequence[tuple[Path, str]],
        transform: Callable[[Data], Data] | None,
        cache_dir: Path,
        *,
        limit: int | None = None,
        window: int = 0,
    ) -> None:
        self.transform, self.cache_dir = transform, cache_dir
        self.window = max(0, window)
        self.shards: list[Shard] = []
        self.sizes: list[list[int]] = []  # per shard, the graph nodes of each used unit
        self._loaded: tuple[tuple[int, int], list[UnitData]] | None = None
        resident: list[UnitData] = []
        known = self._read_sizes()
        total = 0
        for path, split in shards:
            if limit and total >= limit:
                break
            units: list[UnitData] | None = None
            stamp = self._stamp(path, split)
            sizes = known.get(stamp)
            if sizes is None or not self.window:
                units = self._load(path, split)
                sizes = [int(d.num_nodes or 0) for d in units]
                known[stamp] = sizes
            take = min(len(sizes), limit - total) if limit else len(sizes)
            self.shards.append(Shard(path, split, take))
            self.sizes.append(sizes[:take])
            total += take
            if not self.window and units is not None:
                resident += [compact(d) for d in units[:take]]
        self._write_sizes(known)
        self.resident = resident if not self.window else None

    # -- sizes, kept between runs of the same cache ----------------------------------------------
    def _stamp(self, path: Path, split: str) -> str:
        """The shard's cache name: keyed on the shard file and the transform."""
        return cached_shard_path(path, split, self.transform, self.cache_dir).name

    def _sizes_file(self) -> Path:
        return self.cache_dir / "unit-sizes.json"

    def _read_sizes(self) -> dict[str, list[int]]:
        try:
            data = json.loads(self._sizes_file().read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_sizes(self, known: dict[str, list[int]]) -> None:
        path = self._sizes_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known))
        os.replace(tmp, path)

    def _load(self, path: Path, split: str) -> list[UnitData]:
        return load_transformed_shard(path, split, self.transform, self.cache_dir)

    # -- the plan ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return sum(s.take for s in self.shards)

    def windows(self, seed: int, epoch: int) -> list[list[int]]:
        """The shard indices of each window of an epoch (one window, in file order, when resident)."""
        n = len(self.shards)
        if not self.window or self.window >= n:
            return [list(range(n))]
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch + 500_009)
        order = torch.randperm(n, generator=g).tolist()
        return [order[i : i + self.window] for i in range(0, n, self.window)]

    def epoch_plan(
        self, seed: int, epoch: int, batch_nodes: int, batch_graphs: int
    ) -> list[tuple[int, list[int]]]:
        """Every batch of the epoch as (window, unit positions inside the window), in order."""
        plan: list[tuple[int, list[int]]] = []
        windows = self.windows(seed, epoch)
        for w, shard_ids in enumerate(windows):
            sizes = [x for s in shard_ids for x in self.sizes[s]]
            salt = 0 if len(windows) == 1 else w + 1
            plan += [(w, b) for b in epoch_batches(sizes, seed, epoch, batch_nodes, batch_graphs, salt)]
        return plan

    def units(self, seed: int, epoch: int, window: int) -> list[UnitData]:
        """The units of one window of an epoch (the resident list when not streaming)."""
        if self.resident is not None:
            return self.resident
        key = (epoch, window)
        if self._loaded is None or self._loaded[0] != key:
            self._loaded = None  # free the previous window before loading the next
            out: list[UnitData] = []
            for s in self.windows(seed, epoch)[window]:
                shard = self.shards[s]
                out += [compact(d) for d in self._load(shard.path, shard.split)[: shard.take]]
            self._loaded = (key, out)
        return self._loaded[1]
