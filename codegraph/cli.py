"""The `codegraph` command. Each subcommand lives in its own module with ``main(argv) -> int``.

Modules are imported only when their subcommand runs, so `codegraph scan --help`
does not pay for loading torch.
"""

from __future__ import annotations

import importlib
import os
import sys

from codegraph import __version__

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("codegraph.scan", "find bugs in files or directories (text, json, sarif, github)"),
    "fix": ("codegraph.fix", "apply the proposed repairs at or above a confidence"),
    "graph": ("codegraph.export", "print the code graph of a file (json, graphml, dot)"),
    "lsp": ("codegraph.lsp.server", "serve the Language Server Protocol on stdio"),
    "rules": ("codegraph.rule_docs", "list the rules, or explain one"),
    "corpus": ("codegraph.models.training.corpus", "download and split the training corpus"),
    "dataset": ("codegraph.models.training.dataset", "build or describe the training dataset"),
    "train": ("codegraph.models.training.train", "train the detector from a config file"),
    "eval": ("codegraph.models.training.evaluate", "evaluate checkpoints on the test split"),
    "realbugs": ("codegraph.models.training.realbugs", "mine real fixes from held-out releases, evaluate"),
    "threshold": (
        "codegraph.models.training.threshold",
        "choose the default threshold on the validation packages",
    ),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: codegraph COMMAND [ARGS...]   (codegraph {__version__})", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run `codegraph COMMAND --help` for a command's options."]
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


def main(argv: list[str] | None = None) -> int:
    isolate_imports()
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"codegraph {__version__}")
        return 0
    name = args[0]
    if name not in COMMANDS:
        from codegraph.config import did_you_mean

        hint = did_you_mean(name, COMMANDS)
        print(f"codegraph: unknown command {name!r}{hint}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    try:
        return int(module.main(args[1:]) or 0)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
