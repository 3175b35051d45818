"""Command-line parsing shared by the commands: no abbreviated flags, a "did you mean" for typos.

``--min-conf 0.5`` is an error rather than a silent ``--min-confidence``: an abbreviation
that works today breaks when a later flag shares its prefix. A mistyped flag or choice
names the closest one.
"""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

from codegraph.config import did_you_mean

_UNRECOGNIZED = re.compile(r"^unrecognized arguments: (?P<args>.+)$")
_CHOICE = re.compile(
    r"^argument (?P<arg>\S+): invalid choice: '(?P<value>[^']*)' \(choose from (?P<choices>.+)\)$"
)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser without abbreviations whose errors suggest the closest flag or choice."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def option_strings(self) -> list[str]:
        return [o for action in self._actions for o in action.option_strings]

    def suggest(self, message: str) -> str:
        """``message`` with a "did you mean" for each unknown flag or invalid choice in it."""
        m = _UNRECOGNIZED.match(message)
        if m:
            known = self.option_strings()
            parts = []
            for arg in m.group("args").split(" "):
                flag = arg.split("=", 1)[0]
                hint = did_you_mean(flag, known) if flag.startswith("--") else ""
                parts.append(f"{arg}{hint}")
            return f"unrecognized arguments: {' '.join(parts)}"
        m = _CHOICE.match(message)
        if m:
            choices = [c.strip().strip("'") for c in m.group("choices").split(",")]
            return message + did_you_mean(m.group("value"), choices)
        return message

    def error(self, message: str) -> NoReturn:
        super().error(self.suggest(message))
