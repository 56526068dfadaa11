"""Every reason code is documented in docs/ingest.md (and nothing stale is)."""

from __future__ import annotations

import re
from pathlib import Path

from journeylens.ingest.reasons import REASONS

DOC = Path(__file__).parents[2] / "docs" / "ingest.md"


def test_every_reason_code_is_documented() -> None:
    text = DOC.read_text()
    table = text[text.index("## Reason codes"):]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))
    assert documented == set(REASONS)
