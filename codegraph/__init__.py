"""codegraph: a bug finder for Python that reads code as a graph."""

__version__ = "0.1.1"
#: where the project lives: SARIF rule help links, the pre-commit `repo:`
REPOSITORY_URL = "https://github.com/codegraph-gnn/codegraph"
