"""The package exposes a small, sorted, importable public API."""

from __future__ import annotations

import cipd_graph


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (the order ruff's RUF022 keeps)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_importable():
    assert cipd_graph.__all__ == sorted(cipd_graph.__all__, key=_isort_key)
    for name in cipd_graph.__all__:
        assert hasattr(cipd_graph, name), name


def test_every_error_derives_from_the_base_class():
    for name in ("ConfigError", "OntologyError", "ElementNotFoundError"):
        assert issubclass(getattr(cipd_graph, name), cipd_graph.CipdError)


def test_public_functions_have_docstrings():
    for name in cipd_graph.__all__:
        obj = getattr(cipd_graph, name)
        if callable(obj):
            assert obj.__doc__, f"{name} has no docstring"
