"""One builder per edge family. Each is a pure function CodeGraph -> list of edges."""
