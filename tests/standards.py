"""The official schemas of the standards the interop formats speak, as test validators.

Each schema file lives under ``tests/data/`` with its source and licence in
``tests/data/README.md``; nothing is fetched from the network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree

DATA = Path(__file__).parent / "data"
MEDBIQ = DATA / "medbiq"
_XHTML = "http://www.w3.org/2002/08/xhtml/xhtml1-strict.xsd"


class _Local(etree.Resolver):
    """Resolves the schemas' absolute imports (ns.medbiq.org, w3.org) to the local copies."""

    def resolve(self, url: str, pubid: str, context: object) -> Any:
        if url.startswith("http://ns.medbiq.org/"):
            return self.resolve_filename(
                str(MEDBIQ / url.removeprefix("http://ns.medbiq.org/")), context
            )
        if url == _XHTML:
            return self.resolve_filename(str(MEDBIQ / "standin" / "xhtml-div.xsd"), context)
        if url.startswith(("http://", "https://")):
            raise AssertionError(f"the schemas asked for {url}, which has no local copy")
        return None


@cache
def _ci_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_Local())
    xsd = MEDBIQ / "curriculuminventory" / "v1" / "curriculuminventory.xsd"
    return etree.XMLSchema(etree.parse(str(xsd), parser))


def ci_errors(document: bytes) -> list[str]:
    """What the MedBiquitous Curriculum Inventory v1 XSD says is wrong (empty: valid)."""
    schema = _ci_schema()
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    schema.validate(etree.fromstring(document, parser))
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


SCHEMAS = {
    "case": "case/cfpackage-v1p1.schema.json",
    "xapi": "xapi/statement.schema.json",
    "badges": "openbadges/achievement-v3p0.schema.json",
    "ctdl-asn": "ctdl-asn/framework-graph.schema.json",
}


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((DATA / SCHEMAS[name]).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def json_errors(name: str, document: Any) -> list[str]:
    """What the schema of standard ``name`` says is wrong with ``document`` (empty: valid)."""
    return [
        f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in _validator(name).iter_errors(document)
    ]
