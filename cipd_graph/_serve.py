"""``cipd serve``: the API and SPARQL endpoint under uvicorn."""

from __future__ import annotations

import functools
import sys

from cipd_graph._config import Settings
from cipd_graph.graph import GraphStore


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve the app on ``host:port`` (default CIPD_HOST:CIPD_PORT, 127.0.0.1:8000) until stopped.

    The store is opened first, so a store in use by another process is a clear error
    rather than a failed start-up.
    """
    import uvicorn

    from cipd_graph.api import create_app

    with GraphStore.open(settings) as store:
        if not store.derived_facts_current():
            # Here, not in the first write request, which would wait for all of it.
            say = functools.partial(print, file=sys.stderr, flush=True)
            say(
                "the store's derived facts come from other rules or another ontology (an "
                "upgrade): deriving them all again before serving"
            )
            store.derive_all(progress=lambda message: say(f"  {message}"))
        app = create_app(settings, store)
        uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")
