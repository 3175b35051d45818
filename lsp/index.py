"""Workspace index glue: URIs <-> paths, file texts, and the cross-file Project kept current.

The :class:`~codegraph.project.Project` gives the analysis cross-file context (callee
parameters, class headers, module definitions in other files). It is created on the
analysis thread when first needed (it lists the workspace's files; their graphs are
built lazily, when an analysis needs them) and kept current: open documents are fed to
it by every analysis (their unsaved text is what the user sees), saved files on
didSave, files changed outside the editor on workspace/didChangeWatchedFiles, and a
closed document goes back to its text on disk.

Not thread-safe: everything except the module functions runs on the analysis thread.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from codegraph.lsp.convert import LineIndex
from codegraph.syntax import SourceError, decode_source, read_source

if TYPE_CHECKING:
    from codegraph.project import Project

logger = logging.getLogger(__name__)

#: a workspace with more Python files than this is indexed as its files are opened
MAX_WORKSPACE_FILES = 20_000
MAX_LISTING_SECONDS = 5.0


def path_for(uri: str) -> str | None:
    """The filesystem path of a ``file:`` URI (percent-decoded), None for other schemes (untitled, ...)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if parsed.netloc and parsed.netloc != "localhost":
        path = f"//{parsed.netloc}{path}"
    if os.name == "nt":
        path = path.lstrip("/") if len(path) > 2 and path[2] == ":" else path
        path = path.replace("/", "\\")
    return path


def uri_for(path: str) -> str:
    """The URI of a path the pipeline reported (absolute, or relative to the current directory)."""
    if "://" in path or path.startswith("untitled:"):
        return path  # a document without a file reports its URI
    return Path(path).absolute().as_uri()


def make_project(root: Path | None) -> Project | None:
    """A Project for the workspace root, or None when the cross-file index is not available."""
    if root is None:
        return None
    try:
        from codegraph.project import Project
    except ImportError:
        logger.warning("codegraph.project is not available: analysing files without cross-file context")
        return None
    files = workspace_files(root)
    if files is None:
        logger.warning(
            "%s holds more than %d Python files (or takes over %.0f s to list): indexing only the files "
            "that are opened or saved",
            root, MAX_WORKSPACE_FILES, MAX_LISTING_SECONDS,
        )  # fmt: skip
        files = []
    try:
        return Project(root, files)
    except Exception:
        logger.exception("cannot create the workspace index for %s", root)
        return None


def workspace_files(root: Path) -> list[str] | None:
    """The Python files below ``root`` as a scan finds them (.gitignore, caches and virtual
    environments left out), or None when there are too many to index at start-up (an editor
    opened on a home directory)."""
    from codegraph.files import Budget, python_files

    return python_files(root, Budget(MAX_WORKSPACE_FILES, time.monotonic() + MAX_LISTING_SECONDS))


class WorkspaceIndex:
    """The Project of one workspace root, plus the texts needed to place related locations."""

    def __init__(
        self,
        root: Path | None,
        open_text: Callable[[str], str | None] = lambda path: None,
        project_factory: Callable[[Path | None], Any] = make_project,
    ) -> None:
        self.root = root
        self.open_text = open_text  # the editor's text of an open document, by path
        self._factory = project_factory
        self._project: Any = None
        self._made = False

    @property
    def project(self) -> Project | None:
        """The workspace's Project (made on first use; None without a root or a project module)."""
        if not self._made:
            self._made = True
            self._project = self._factory(self.root)
        return self._project

    # -- texts -------------------------------------------------------------------------------
    def text_for(self, path: str) -> str | None:
        """The current text of ``path``: the editor's buffer when it is open, else the file on disk."""
        text = self.open_text(path)
        if text is not None:
            return text
        try:
            return decode_source(Path(path).read_bytes())[0]
        except (OSError, SourceError):
            return None

    def line_index(self, path: str, encoding: str) -> LineIndex | None:
        text = self.text_for(path)
        return None if text is None else LineIndex(text, encoding)

    # -- keeping the Project current -----------------------------------------------------------
    def update(self, path: str, text: str | bytes) -> None:
        """Index ``path`` with ``text`` (a saved or changed file)."""
        if self.project is None:
            return
        source = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        try:
            self.project.update_file(path, source)
        except Exception:  # a file the index cannot take must not stop the others
            logger.exception("cannot index %s", path)

    def reload(self, path: str) -> None:
        """Re-read ``path`` from disk (changed outside the editor); an open document keeps its buffer."""
        if self.open_text(path) is not None:
            return
        try:
            source = read_source(path)
        except OSError:
            self.remove(path)
            return
        except SourceError:
            source = Path(path).read_bytes()  # indexed as it is: the project records why it has no graph
        self.update(path, source)

    def remove(self, path: str) -> None:
        if self.project is None:
            return
        try:
            self.project.remove_file(path)
        except Exception:
            logger.exception("cannot remove %s from the index", path)
