"""Make a tiny, randomly initialised checkpoint for the language-server tests.

    python tests/lsp/make_tiny_model.py OUT                   # prints the checkpoint path (OUT.safetensors)
    python tests/lsp/make_tiny_model.py --prefer-shipped OUT  # the shipped model's path when it exists

Used by the pytest fixture ``tiny_model`` and by the VS Code extension's node test. The
model is untrained: with ``minConfidence`` 0 every analysed function still reports its
most likely candidate, which is all the protocol tests need. It loads in well under a
second, unlike a full-size model.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: small enough to run 1,000 functions in a few seconds on two cores
TINY = {"hidden": 16, "layers": 1, "heads": 2, "ffn_mult": 1, "rw_k": 4, "lap_k": 2}
#: the repair vocabulary's reserved tokens plus the common repairs (the rest map to <unk>)
REPAIRS = ["var", "swap", "not:add", "not:remove", "lit:0", "lit:1", "lit:True", "lit:False"]


def make_tiny_model(out: Path, seed: int = 0) -> Path:
    """Write ``out``.safetensors + ``out``.json and return the weights' path. Raises ImportError
    when the model package is not installed."""
    import torch

    from codegraph.models.detector import build_model
    from codegraph.models.model import ModelConfig
    from codegraph.models.predict import save_checkpoint
    from codegraph.models.tensorize import PAD, UNK, VIRTUAL, Vocabulary

    torch.manual_seed(seed)
    vocab = Vocabulary(
        node_types=[PAD, UNK, VIRTUAL, "module", "function_definition", "identifier", "return_statement"],
        subtokens=[PAD, UNK, "a", "b", "x", "y", "self", "width", "height", "items"],
        repair_tokens=[PAD, UNK, *REPAIRS],
    )
    config = ModelConfig(**TINY).with_vocab(vocab)  # type: ignore[arg-type]
    weights, _ = save_checkpoint(
        out, build_model(config), vocab, name="tiny-test-model", metadata={"purpose": "tests"}
    )
    return weights


def shipped_model() -> Path | None:
    """The shipped checkpoint, when the model package has one."""
    from codegraph.models.predict import DEFAULT_CHECKPOINT

    return DEFAULT_CHECKPOINT if DEFAULT_CHECKPOINT.is_file() else None


def main(argv: list[str]) -> int:
    prefer_shipped = "--prefer-shipped" in argv
    args = [a for a in argv if a != "--prefer-shipped"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print((prefer_shipped and shipped_model()) or make_tiny_model(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
