"""Every `codegraph` command's exit status, decided in one place.

A command is a function ``run(argv) -> int`` decorated with :func:`command`; it raises
:class:`CommandError` (or a subclass) for bad input and the wrapper turns that into one
line on stderr and exit status 2:

    0    success (``scan``: nothing at or above the threshold)
    1    findings (``scan``, ``fix --diff-only``)
    2    usage, configuration or internal error (one line; ``--debug`` or
         ``CODEGRAPH_DEBUG=1`` adds the traceback of an internal error)
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

Main = Callable[..., int]


class CommandError(Exception):
    """Bad input on the command line, in the configuration or in the data: exit status 2."""


def exit_status(code: object) -> int:
    """The status of a ``SystemExit`` (argparse: 0 after --help, 2 on a usage error)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 2


def command(prog: str) -> Callable[[Main], Main]:
    """Wrap ``run(argv, **kw) -> int`` as ``main(argv=None, **kw) -> int`` with the exit statuses
    above (keyword arguments are for tests, e.g. an injected analyzer)."""

    def wrap(run: Main) -> Main:
        @functools.wraps(run)
        def main(argv: Sequence[str] | None = None, **kwargs: Any) -> int:
            args = list(sys.argv[1:] if argv is None else argv)
            try:
                return int(run(args, **kwargs) or 0)
            except SystemExit as exc:
                return exit_status(exc.code)
            except CommandError as exc:
                print(f"{prog}: error: {exc}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                return 130
            except Exception as exc:  # the top level: one line, the traceback on request
                if "--debug" in args or os.environ.get("CODEGRAPH_DEBUG"):
                    traceback.print_exc()
                print(
                    f"{prog}: internal error: {type(exc).__name__}: {exc} (--debug for details)",
                    file=sys.stderr,
                )
                return 2

        return main

    return wrap
