"""Listening: surveys as code, triggered by arriving events, delivered through the outbox.

See ``docs/surveys.md``. Modules: :mod:`.definition` (YAML), :mod:`.models` (tables),
:mod:`.registry` (add/pause/list), :mod:`.triggers` (events → invitations),
:mod:`.delivery` (channels), :mod:`.answers` (the hosted page's logic), :mod:`.stats`.
"""
