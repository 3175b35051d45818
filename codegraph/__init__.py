"""codegraph: a bug finder for Python that reads code as a graph."""

__version__ = "0.1.1"
