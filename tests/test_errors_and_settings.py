from __future__ import annotations

import re
from pathlib import Path

import pytest

from journeylens import errors
from journeylens.errors import ConfigError, JourneyLensError
from journeylens.settings import Settings

DOCS = Path(__file__).parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"JOURNEYLENS_{name.upper()}" in text, f"setting {name} is not in docs/configuration.md"


def test_every_setting_has_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_unsafe_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="unsafe"):
        Settings(secret_key="changeme")
    assert Settings(secret_key="x" * 32).secret_key == "x" * 32


def test_error_codes_are_unique_and_snake_case() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, JourneyLensError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z_]+", c) for c in codes)


def test_error_shape() -> None:
    err = errors.MissingColumnsError("no touchpoint", details={"found": ["a"]})
    assert err.to_dict() == {"error": {"code": "missing_columns", "message": "no touchpoint",
                                       "details": {"found": ["a"]}}}
