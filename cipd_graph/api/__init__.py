"""The HTTP API: a FastAPI app over the same library functions as the CLI."""

from cipd_graph.api.main import create_app

__all__ = ["create_app"]
