"""Configuration from ``CIPD_*`` environment variables, with documented defaults."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cipd_graph._errors import ConfigError
from cipd_graph.limits import MEANING as LIMIT_MEANING
from cipd_graph.limits import VARIABLE as LIMIT_VARIABLE
from cipd_graph.limits import Limits

#: Every variable cipd-graph reads, its default and what it is for (shown by ``cipd config``).
VARIABLES: dict[str, tuple[str, str]] = {
    "CIPD_STORE": (
        "var/store",
        "Where the graph is kept: a directory for the embedded Oxigraph store, "
        "or the http(s) URL of a remote SPARQL 1.1 query endpoint (such as "
        "http://127.0.0.1:8890/sparql for Virtuoso).",
    ),
    "CIPD_STORE_UPDATE": (
        "",
        "With a remote CIPD_STORE: the SPARQL 1.1 Update endpoint URL; empty means the "
        "query URL (Virtuoso takes authenticated updates at /sparql-auth).",
    ),
    "CIPD_STORE_GSP": (
        "",
        "With a remote CIPD_STORE: a SPARQL 1.1 Graph Store Protocol URL used to read and "
        "write whole graphs (much faster than INSERT DATA); empty means SPARQL only.",
    ),
    "CIPD_STORE_USER": ("", "With a remote CIPD_STORE: the user name for updates; empty: none."),
    "CIPD_STORE_PASSWORD": ("", "With a remote CIPD_STORE: the password of CIPD_STORE_USER."),
    "CIPD_STORE_AUTH": (
        "basic",
        "With a remote CIPD_STORE: HTTP authentication scheme, basic or digest (Virtuoso).",
    ),
    "CIPD_API_TOKEN": (
        "",
        "Bearer token that API write requests must present; empty turns writes off.",
    ),
    "CIPD_BASE_IRI": (
        "https://w3id.org/cipd/data/",
        "Base IRI under which records get their IRIs (must end with '/' or '#').",
    ),
    "CIPD_PSEUDONYM_KEY": (
        "",
        "Secret key for pseudonymising person identifiers (keyed SHA-256); empty means a "
        "random key kept in the store directory (<store>/pseudonym.key), made on first use.",
    ),
    "CIPD_USER": (
        "",
        "Who is loading, recorded in each batch's provenance; empty means the login name.",
    ),
    "CIPD_HOST": ("127.0.0.1", "Address `cipd serve` listens on."),
    "CIPD_PORT": ("8000", "Port `cipd serve` listens on."),
    "CIPD_QUERY_TIMEOUT": ("10", "Seconds a SPARQL query may run before it is stopped."),
    "CIPD_RESULT_CAP": ("10000", "Most results (rows or triples) a SPARQL query returns."),
    "CIPD_QUERY_SLOTS": (
        "2",
        "Most SPARQL queries of the public endpoint run at once (each in a child process).",
    ),
    "CIPD_QUERY_QUEUE": (
        "8",
        "Most SPARQL queries waiting for a slot (each waits at most CIPD_QUERY_TIMEOUT); beyond "
        "that the endpoint answers 503 with Retry-After.",
    ),
    "CIPD_QUERY_MEMORY": (
        "2048",
        "Address space (MB) a SPARQL query's child process may use; 0: no limit.",
    ),
    "CIPD_REFRESH_DELAY": (
        "2",
        "Seconds without a write before `cipd serve` computes its whole-store answers again "
        "in the background (/stats, the analytics of scope all); every write puts them off "
        "again, so that they never compete with a run of writes.",
    ),
    "CIPD_CORS_ORIGINS": ("", "Comma-separated origins allowed by CORS; empty allows none."),
    "CIPD_MAX_CONCURRENT": (
        "8",
        "Most API requests worked on at once (each holds a thread, a SPARQL query also a "
        "child process); /health is not counted.",
    ),
    "CIPD_MAX_QUEUE": (
        "32",
        "Most API requests waiting for one of those slots; beyond that the API answers 429 "
        "with Retry-After.",
    ),
    "CIPD_BULK_FILES": (
        "500",
        "A load of at least this many files into an on-disk store is staged: written chunk by "
        "chunk into a copy of the store that replaces it atomically at the end (low memory); "
        "0 never stages.",
    ),
    "CIPD_BULK_CHUNK": (
        "250",
        "Files parsed, validated and written together in each chunk of a staged load.",
    ),
    "CIPD_STAGE_QUADS": (
        "0",
        "Quads a staged load keeps pending (in a file indexed by subject, for reading context) "
        "before writing them to its copy of the store in one go; 0 keeps them all until the "
        "last chunk, then writes once (fastest: look-ups never meet a store being written); a "
        "number bounds the index's memory at the price of slower look-ups.",
    ),
    "CIPD_LOAD_WORKERS": (
        "0",
        "Worker processes that parse, map and validate the chunks of a staged load "
        "(0: one per CPU core; 1: none, all in the loading process). With more than one, a "
        "load in one step of 10,000 triples or more (about 25 project files) is validated "
        "in a forked process while the loading process plans the write.",
    ),
    "CIPD_SHACL": (
        "native",
        "SHACL engine for validation: native (built in, fast; runs the SHACL Core subset the "
        "shapes use, plus SPARQL targets) or pyshacl. Shapes using a feature the native engine "
        "lacks are validated with pyshacl either way.",
    ),
    "CIPD_ONTOLOGY": (
        "",
        "Directory holding cipd.ttl and catalog-v001.xml; empty means the copy "
        "shipped with the package (or the repository's ontology/).",
    ),
    # Limits on one input (cipd_graph.limits), checked before the work it would cause.
    **{
        LIMIT_VARIABLE[name]: (str(getattr(Limits(), name)), LIMIT_MEANING[LIMIT_VARIABLE[name]])
        for name in LIMIT_VARIABLE
    },
    "CIPD_DEBUG": (
        "",
        "Set to 1 to let the command line show the traceback of an internal error (a bug) "
        "instead of a one-line message.",
    ),
}


@dataclass(frozen=True)
class Settings:
    """The effective configuration.

    >>> s = Settings.from_env({"CIPD_STORE": "/tmp/g"})
    >>> s.store, s.api_token, s.writes_enabled
    ('/tmp/g', None, False)
    """

    store: str = VARIABLES["CIPD_STORE"][0]
    store_update: str | None = None
    store_gsp: str | None = None
    store_user: str | None = None
    store_password: str | None = field(default=None, repr=False)
    store_auth: str = "basic"
    api_token: str | None = field(default=None, repr=False)
    ontology_dir: Path | None = None
    base_iri: str = VARIABLES["CIPD_BASE_IRI"][0]
    pseudonym_key: str | None = field(default=None, repr=False)
    user: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    query_timeout: float = 10.0
    result_cap: int = 10_000
    query_slots: int = 2
    query_queue: int = 8
    query_memory: int = 2048
    cors_origins: tuple[str, ...] = ()
    max_concurrent: int = 8
    max_queue: int = 32
    refresh_delay: float = 2.0
    bulk_files: int = 500
    bulk_chunk: int = 250
    stage_quads: int = 0
    #: Worker processes for a staged load; 0 means one per CPU core.
    load_workers_setting: int = 0
    shacl: str = "native"
    #: Limits on one input (CIPD_MAX_*): upload sizes, numbers' digits, nesting.
    limits: Limits = field(default_factory=Limits)
    debug: bool = False

    @property
    def store_is_remote(self) -> bool:
        """Whether CIPD_STORE names a remote SPARQL server rather than a directory."""
        return bool(re.match(r"^https?://", self.store))

    @property
    def load_workers(self) -> int:
        """How many worker processes a staged load uses (CIPD_LOAD_WORKERS, 0: one per core)."""
        return self.load_workers_setting or os.cpu_count() or 1

    @property
    def writes_enabled(self) -> bool:
        """Whether write requests can be accepted at all (a token is configured)."""
        return bool(self.api_token)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        store = env.get("CIPD_STORE", "").strip() or VARIABLES["CIPD_STORE"][0]
        token = env.get("CIPD_API_TOKEN", "").strip() or None
        onto = env.get("CIPD_ONTOLOGY", "").strip()
        ontology_dir = Path(onto) if onto else None
        if ontology_dir is not None and not (ontology_dir / "cipd.ttl").is_file():
            raise ConfigError(
                f"CIPD_ONTOLOGY={onto!r}: no cipd.ttl in that directory; "
                "point it at a directory that holds cipd.ttl and catalog-v001.xml, or unset it"
            )
        base = env.get("CIPD_BASE_IRI", "").strip() or VARIABLES["CIPD_BASE_IRI"][0]
        if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+[/#]", base):
            raise ConfigError(
                f"CIPD_BASE_IRI={base!r}: give an http(s) IRI ending with '/' or '#', "
                "such as https://example.org/cipd/"
            )

        def url(name: str) -> str | None:
            value = env.get(name, "").strip()
            if value and not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", value):
                raise ConfigError(f"{name}={value!r}: give an http(s) URL")
            return value or None

        shacl = shacl_engine(env)
        auth = env.get("CIPD_STORE_AUTH", "").strip().lower() or "basic"
        if auth not in ("basic", "digest"):
            raise ConfigError(f"CIPD_STORE_AUTH={auth!r}: use basic or digest")
        if re.match(r"^https?://", store):
            url("CIPD_STORE")

        def number(name: str, kind: type[float] | type[int], low: float) -> Any:
            text = env.get(name, "").strip() or VARIABLES[name][0]
            try:
                value = kind(text)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value) or value < low:
                raise ConfigError(f"{name}={text!r}: give a number of at least {low:g}")
            return value

        return cls(
            host=env.get("CIPD_HOST", "").strip() or "127.0.0.1",
            port=number("CIPD_PORT", int, 1),
            query_timeout=number("CIPD_QUERY_TIMEOUT", float, 0.1),
            result_cap=number("CIPD_RESULT_CAP", int, 1),
            query_slots=number("CIPD_QUERY_SLOTS", int, 1),
            query_queue=number("CIPD_QUERY_QUEUE", int, 0),
            query_memory=number("CIPD_QUERY_MEMORY", int, 0),
            max_concurrent=number("CIPD_MAX_CONCURRENT", int, 1),
            max_queue=number("CIPD_MAX_QUEUE", int, 0),
            refresh_delay=number("CIPD_REFRESH_DELAY", float, 0),
            bulk_files=number("CIPD_BULK_FILES", int, 0),
            bulk_chunk=number("CIPD_BULK_CHUNK", int, 1),
            stage_quads=number("CIPD_STAGE_QUADS", int, 0),
            load_workers_setting=number("CIPD_LOAD_WORKERS", int, 0),
            shacl=shacl,
            cors_origins=tuple(
                o.strip() for o in env.get("CIPD_CORS_ORIGINS", "").split(",") if o.strip()
            ),
            store=store,
            store_update=url("CIPD_STORE_UPDATE"),
            store_gsp=url("CIPD_STORE_GSP"),
            store_user=env.get("CIPD_STORE_USER", "").strip() or None,
            store_password=env.get("CIPD_STORE_PASSWORD", "") or None,
            store_auth=auth,
            api_token=token,
            ontology_dir=ontology_dir,
            base_iri=base,
            pseudonym_key=env.get("CIPD_PSEUDONYM_KEY", "").strip() or None,
            user=env.get("CIPD_USER", "").strip() or None,
            limits=Limits.from_env(env),
            debug=env.get("CIPD_DEBUG", "").strip().lower() in ("1", "true", "yes"),
        )

    def describe(self) -> list[tuple[str, str, str]]:
        """(variable, effective value, meaning) for each variable, secrets masked."""
        values = {
            "CIPD_STORE": self.store,
            "CIPD_STORE_UPDATE": self.store_update
            or ("(not set: the query URL)" if self.store_is_remote else "(not used)"),
            "CIPD_STORE_GSP": self.store_gsp or "(not set)",
            "CIPD_STORE_USER": self.store_user or "(not set)",
            "CIPD_STORE_PASSWORD": "(set)" if self.store_password else "(not set)",
            "CIPD_STORE_AUTH": self.store_auth,
            "CIPD_API_TOKEN": "(set)" if self.api_token else "(not set: writes off)",
            "CIPD_BASE_IRI": self.base_iri,
            "CIPD_PSEUDONYM_KEY": "(set)"
            if self.pseudonym_key
            else "(not set: key file in the store)",
            "CIPD_USER": self.user or "(not set: login name)",
            "CIPD_HOST": self.host,
            "CIPD_PORT": str(self.port),
            "CIPD_QUERY_TIMEOUT": f"{self.query_timeout:g}",
            "CIPD_RESULT_CAP": str(self.result_cap),
            "CIPD_QUERY_SLOTS": str(self.query_slots),
            "CIPD_QUERY_QUEUE": str(self.query_queue),
            "CIPD_QUERY_MEMORY": f"{self.query_memory} MB" if self.query_memory else "0 (no limit)",
            "CIPD_REFRESH_DELAY": f"{self.refresh_delay:g}",
            "CIPD_CORS_ORIGINS": ",".join(self.cors_origins) or "(none)",
            "CIPD_MAX_CONCURRENT": str(self.max_concurrent),
            "CIPD_MAX_QUEUE": str(self.max_queue),
            "CIPD_BULK_FILES": str(self.bulk_files) if self.bulk_files else "0 (never staged)",
            "CIPD_BULK_CHUNK": str(self.bulk_chunk),
            "CIPD_STAGE_QUADS": str(self.stage_quads),
            "CIPD_LOAD_WORKERS": str(self.load_workers)
            + ("" if self.load_workers_setting else " (one per CPU core)"),
            "CIPD_SHACL": self.shacl,
            "CIPD_ONTOLOGY": str(self.ontology_dir) if self.ontology_dir else "(packaged)",
            **{v: str(getattr(self.limits, name)) for name, v in LIMIT_VARIABLE.items()},
            "CIPD_DEBUG": "1" if self.debug else "(not set)",
        }
        return [(name, values[name], VARIABLES[name][1]) for name in VARIABLES]


#: The SHACL engines CIPD_SHACL may name.
SHACL_ENGINES = ("native", "pyshacl")


def shacl_engine(environ: Mapping[str, str] | None = None) -> str:
    """The SHACL engine CIPD_SHACL names (default ``native``); ConfigError if unknown.

    >>> shacl_engine({}), shacl_engine({"CIPD_SHACL": " PySHACL "})
    ('native', 'pyshacl')
    """
    env = os.environ if environ is None else environ
    value = env.get("CIPD_SHACL", "").strip().lower() or VARIABLES["CIPD_SHACL"][0]
    if value not in SHACL_ENGINES:
        raise ConfigError(
            f"CIPD_SHACL={env.get('CIPD_SHACL')!r}: use native (the built-in engine) or pyshacl"
        )
    return value
