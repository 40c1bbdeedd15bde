"""A real uvicorn server on loopback over a real on-disk store holding the sample records."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from cipd_graph import Settings
from cipd_graph.api import create_app
from cipd_graph.graph import GraphStore

from ..conftest import SAMPLES

TOKEN = "api-test-token-0123456789"


@dataclass
class Server:
    """A running server: its base URL, settings and the token that allows writes."""

    url: str
    settings: Settings
    token: str

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)  # type: ignore[arg-type]

    def writer(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {self.token}"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(location: Path, **overrides: object) -> Iterator[Server]:
    """Load the samples into ``location``, serve it on loopback, stop at the end."""
    fields = {
        "store": str(location),
        "pseudonym_key": "api-key-0123456789abcdef",
        "user": "api-test",
        "api_token": TOKEN,
    }
    fields.update(overrides)
    settings = Settings(**fields)  # type: ignore[arg-type]
    if not (location / "oxigraph").exists():
        with GraphStore(location, settings) as store:
            assert store.load([SAMPLES]).ok
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", settings, TOKEN)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A read-mostly server shared by the API tests (tests that write use their own)."""
    yield from start_server(tmp_path_factory.mktemp("api-store"))


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that write."""
    yield from start_server(tmp_path / "store")
