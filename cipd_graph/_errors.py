"""The exceptions of cipd-graph: one base class, one subclass per kind of failure."""

from __future__ import annotations


class CipdError(Exception):
    """Base class of every error cipd-graph raises on purpose."""


class ConfigError(CipdError):
    """A ``CIPD_*`` environment variable has a value that cannot be used."""


class OntologyError(CipdError):
    """The ontology files cannot be found, read or parsed."""


class ElementNotFoundError(CipdError, KeyError):
    """No model element matches the IRI, CURIE or notation asked for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "model element not found"
