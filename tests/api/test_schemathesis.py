"""Schemathesis against the API's own OpenAPI spec: no request it generates may get a 5xx.

A real server on loopback over a store holding the sample records, with a write token, so
the write endpoints are exercised past authentication too. Examples per operation are
bounded so the whole run stays short.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from cipd_graph import Settings
from cipd_graph.api import create_app

from .conftest import Server, start_server


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the generated writes may change its store."""
    # A short query limit: generated SPARQL should not hold the run up.
    yield from start_server(Path(tmp_path_factory.mktemp("schemathesis")), query_timeout=3.0)


def _schema() -> schemathesis.BaseSchema:
    # The spec as the app serves it at /openapi.json (checked against the server below).
    return schemathesis.openapi.from_dict(create_app(Settings(store="unused")).openapi())


OPERATIONS = {result.ok().label: result.ok() for result in _schema().get_all_operations()}


def test_the_spec_is_the_one_served(fuzzed_server: Server):
    with fuzzed_server.client() as client:
        served = client.get("/openapi.json").json()
    assert sorted(f"{m.upper()} {p}" for p, ops in served["paths"].items() for m in ops) == sorted(
        OPERATIONS
    )


# Schemathesis's own pytest plugin does not run under pytest 9, so each operation's
# strategy is driven with hypothesis directly: the same generated cases.
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_request_gets_a_server_error(label: str, fuzzed_server: Server):
    operation = OPERATIONS[label]
    token = {"Authorization": f"Bearer {fuzzed_server.token}"}

    # valid requests and invalid ones (wrong types, missing fields, bad values)
    cases = operation.as_strategy(
        generation_mode=schemathesis.GenerationMode.POSITIVE
    ) | operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        # no explain phase: it traces every line of a failing case again (minutes over HTTP)
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=cases)
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=fuzzed_server.url, headers=token, timeout=30)
        assert response.status_code < 500, (
            f"{label} -> {response.status_code}: {response.text[:500]}\n"
            f"reproduce: {case.as_curl_command()}"
        )

    check()
