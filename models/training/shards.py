"""Dataset shards for training and evaluation: listing, loading, transforming once, batching.

A dataset directory holds ``vocab.json`` and ``train/``, ``valid/``, ``test/`` shards
(written by ``codegraph train dataset build``). :func:`load_transformed_shard` applies a
model's feature transform (shortcut edges, positional encodings) and caches the result
beside the run, so every epoch and every evaluation pays for it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from torch_geometric.data import Data

from codegraph.models.runtime import pack_batches
from codegraph.models.tensorize import Vocabulary
from codegraph.models.tensors import UnitData, load_shard, save_shard


# -- data ---------------------------------------------------------------------------------------
def shard_files(data_dir: Path, split: str) -> list[Path]:
    return sorted((data_dir / split).glob("*.pt"))


def load_split(
    data_dir: str | Path,
    split: str,
    transform: Callable[[Data], Data] | None = None,
    cache_dir: str | Path | None = None,
    limit: int | None = None,
) -> list[UnitData]:
    """All units of ``DIR/SPLIT/*.pt`` with ``transform`` applied.

    With ``cache_dir``, transformed shards are kept in ``cache_dir/SPLIT/`` under a
    name that depends on the shard file and the transform, so positional encodings are
    computed once per dataset and feature configuration.
    """
    data_dir = Path(data_dir)
    files = shard_files(data_dir, split)
    if not files:
        raise FileNotFoundError(
            f"no shards in {data_dir / split} "
            "(expected *.pt files written by `codegraph train dataset build`)"
        )
    out: list[UnitData] = []
    for f in files:
        out += load_transformed_shard(f, split, transform, Path(cache_dir) if cache_dir else None)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def cached_shard_path(shard: Path, split: str, transform: Callable[[Data], Data], cache_dir: Path) -> Path:
    """Where the transformed copy of ``shard`` lives: keyed on the shard file and the transform."""
    st = shard.stat()
    stamp = f"{shard.resolve()}|{st.st_size}|{st.st_mtime_ns}|{transform!r}"
    return cache_dir / split / f"{shard.stem}-{hashlib.sha1(stamp.encode()).hexdigest()[:16]}.pt"


def load_transformed_shard(
    shard: Path, split: str, transform: Callable[[Data], Data] | None, cache_dir: Path | None
) -> list[UnitData]:
    """One shard with ``transform`` applied, through the cache when ``cache_dir`` is given.

    Shards whose samples already carry what the transform adds (the dataset builder
    precomputes the default encodings) are not copied into the cache.
    """
    if transform is None:
        return load_shard(shard)
    cached = cached_shard_path(shard, split, transform, cache_dir) if cache_dir is not None else None
    if cached is not None and cached.is_file():
        try:
            return load_shard(cached)
        except (OSError, ValueError, RuntimeError):
            pass  # unreadable: rebuilt below
    raw = load_shard(shard)
    out = []
    computed = False  # False when the shard already had everything the transform adds
    for d in raw:
        t = transform(d)
        t = t if isinstance(t, UnitData) else UnitData(**t.to_dict())
        same = set(t.keys()) == set(d.keys()) and all(t[k] is d[k] for k in d.keys())  # noqa: SIM118
        computed = computed or not same
        out.append(t)
    if cached is not None and computed:
        save_shard(out, cached)
    return out


def dataset_vocabulary(data_dir: str | Path) -> Vocabulary:
    path = Path(data_dir) / "vocab.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the dataset builder writes the vocabulary there")
    return Vocabulary.load(path)


def node_budget_batches(sizes: Sequence[int], batch_nodes: int, batch_graphs: int) -> list[list[int]]:
    """Consecutive indices packed greedily, at most ``batch_nodes`` nodes / ``batch_graphs`` units each."""
    return pack_batches(range(len(sizes)), sizes, batch_nodes, batch_graphs)


#: per-unit labels two evaluations of one dataset share, unit by unit
