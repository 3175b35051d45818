"""The `codegraph` command. Each subcommand lives in its own module with ``main(argv) -> int``.

Modules are imported only when their subcommand runs, so `codegraph scan --help`
does not pay for loading torch. ``codegraph train`` is a group: training on your own
code (``train run``) and the research bench that builds and measures the shipped model.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from codegraph import __version__
from codegraph.command import CommandError, command

#: subcommand -> (module or group of subcommands, one-line help)
Table = dict[str, tuple["str | Table", str]]

TRAIN_COMMANDS: Table = {
    "run": ("codegraph.models.training.train", "train the detector from a config file"),
    "corpus": ("codegraph.models.training.corpus", "download and split the training corpus"),
    "dataset": ("codegraph.models.training.dataset", "build or describe the training dataset"),
    "eval": ("codegraph.models.training.evaluate", "evaluate checkpoints on a dataset split"),
    "export": (
        "codegraph.models.training.export_runtime",
        "export a checkpoint's runtime model (ONNX) beside it",
    ),
    "mine": ("codegraph.models.training.mining", "mine real one-token fixes from git histories, split them"),
    "realfixes": ("codegraph.models.training.realfixes", "real fixes as training units, scored"),
    "mutations": ("codegraph.models.training.mutations", "fit injected bugs to the real training fixes"),
    "threshold": (
        "codegraph.models.training.threshold",
        "choose the default threshold on the validation packages",
    ),
}

COMMANDS: Table = {
    "scan": ("codegraph.scan", "find bugs in files or directories (text, json, sarif, github)"),
    "fix": ("codegraph.fix", "apply the proposed repairs at or above a confidence"),
    "graph": ("codegraph.export", "print the code graph of a file (json, graphml, dot)"),
    "lsp": ("codegraph.lsp.server", "serve the Language Server Protocol on stdio"),
    "rules": ("codegraph.rule_docs", "list the rules, or explain one"),
    "candidates": ("codegraph.candidate_report", "list every candidate location and repair (no model)"),
    "train": (TRAIN_COMMANDS, "train the detector on your own code; build and measure a model"),
}


def usage(prog: str = "codegraph", table: Table | None = None) -> str:
    table = COMMANDS if table is None else table
    width = max(map(len, table))
    lines = [f"usage: {prog} COMMAND [ARGS...]   (codegraph {__version__})", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in table.items()]
    lines += ["", f"Run `{prog} COMMAND --help` for a command's options."]
    return "\n".join(lines)


def isolate_imports() -> None:
    """Import nothing from the current directory, which is usually the analysed tree.

    ``python -m codegraph`` (how the VS Code extension starts the server, with the workspace
    as the current directory) puts the current directory first on ``sys.path``, so a
    ``json.py`` there would run. This drops that entry, as ``python -P`` would, and sets
    ``PYTHONSAFEPATH`` so that worker processes (``python -c ...``) do not add it either.
    """
    os.environ["PYTHONSAFEPATH"] = "1"
    if sys.flags.safe_path or not sys.path:
        return
    first = sys.path[0]
    try:
        here = first == "" or os.path.samefile(first, os.getcwd())
    except OSError:
        here = False
    if here:
        del sys.path[0]


def single_threaded_blas() -> None:
    """numpy's BLAS on one thread (unless the environment says otherwise), before numpy loads.

    The positional encodings decompose many small matrices; BLAS threads that spin between
    those calls made the arrays of a scan 1.5x slower and the model beside them 1.2x slower
    on 2 cores. The model runs on one thread per process anyway (``models/runtime.py``), and
    torch's threads (training) are its own setting.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def dispatch(prog: str, table: Table, args: list[str]) -> int:
    """Run ``args[0]`` of ``table`` with the rest of ``args``."""
    if not args or args[0] in ("-h", "--help"):
        print(usage(prog, table))
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"codegraph {__version__}")
        return 0
    name = args[0]
    if name not in table:
        from codegraph.config import did_you_mean

        hint = did_you_mean(name, table)
        for group, (sub, _) in table.items():
            if isinstance(sub, dict) and name in sub:
                hint = f" (did you mean `{prog} {group} {name}`?)"
        raise CommandError(f"unknown command {name!r}{hint}\n\n{usage(prog, table)}")
    target = table[name][0]
    if isinstance(target, dict):
        return dispatch(f"{prog} {name}", target, args[1:])
    module = importlib.import_module(target)
    return int(module.main(args[1:]) or 0)


@command("codegraph")
def main(argv: Sequence[str]) -> int:
    isolate_imports()  # before any subcommand module is imported
    single_threaded_blas()
    return dispatch("codegraph", COMMANDS, list(argv))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
