"""What a browser shows once a page's ``hx-trigger="load"`` fragments arrived (for tests).

Each element with ``hx-get=URL hx-trigger="load"`` is replaced by the fragment at URL
(``hx-swap="outerHTML"``) or gets it as its content (``innerHTML``), as HTMX does."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

_LOADED = re.compile(r'<(?P<tag>\w+)(?P<attrs>[^>]*\bhx-trigger="load"[^>]*)>')


def with_fragments(client: Any, path: str) -> str:
    """``client.get(path)`` with every load-triggered fragment swapped in (each fetched once)."""
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return swap_fragments(client, response.text)


def swap_fragments(client: Any, text: str) -> str:
    while (match := _LOADED.search(text)) is not None:
        attrs = match.group("attrs")
        url = html_lib.unescape(re.search(r'hx-get="([^"]+)"', attrs).group(1))  # type: ignore[union-attr]
        swap = (re.search(r'hx-swap="(\w+)"', attrs) or re.search("(innerHTML)", "innerHTML")).group(1)  # type: ignore[union-attr]
        fragment = client.get(url)
        assert fragment.status_code == 200, (url, fragment.text[:500])
        close = text.index(f"</{match.group('tag')}>", match.end())
        if swap == "outerHTML":
            text = text[:match.start()] + fragment.text + text[close + len(match.group("tag")) + 3:]
        else:
            opening = match.group(0).replace('hx-trigger="load"', 'data-loaded="load"')
            text = text[:match.start()] + opening + fragment.text + text[close:]
    return text
