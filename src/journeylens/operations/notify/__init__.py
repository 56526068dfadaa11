"""Delivery channels: one small interface, every shipped channel a plugin of it.

A channel is any object with a ``name`` and a ``send(message, settings)`` method, returned
by a plugin's ``journeylens_notify_channels`` hook (:mod:`journeylens.hooks`). ``send``
returns a short receipt on success, raises :class:`~journeylens.errors.DeliveryError`
for a failure worth retrying and :class:`~journeylens.errors.PermanentDeliveryError` for
one that is not. Delivery is at least once, so every message carries its idempotency key
(``Message-ID`` for email, ``webhook-id`` for webhooks) for the receiver to deduplicate.

Every message payload uses the same keys, so one message can go to any channel:
``subject``, ``text`` (plain text, required), ``html`` (optional), ``event_type`` and
``data`` (machine-readable, for webhooks).

>>> sorted(channel_names())
['email', 'slack', 'sms', 'teams', 'webhook']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from journeylens.errors import ConfigError
from journeylens.hooks import plugin_manager
from journeylens.settings import Settings


@dataclass(frozen=True)
class Message:
    """What a channel receives: one outbox row, detached from the database."""

    id: int
    channel: str
    target: str
    payload: dict[str, Any]
    idempotency_key: str
    attempt: int = 1
    created_at: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return str(self.payload.get("subject") or "")

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or "")

    @property
    def html(self) -> str | None:
        html = self.payload.get("html")
        return str(html) if html else None


@runtime_checkable
class Channel(Protocol):
    """The interface every delivery channel implements."""

    name: str

    def send(self, message: Message, settings: Settings) -> str:
        """Deliver ``message``; return a receipt, raise ``DeliveryError`` to retry."""
        ...


def channels() -> dict[str, Channel]:
    """Every registered channel by name (a later plugin may replace a shipped one)."""
    found: dict[str, Channel] = {}
    for provided in reversed(plugin_manager().hook.journeylens_notify_channels()):
        for channel in provided or ():
            found[channel.name] = channel
    return found


def channel_names() -> tuple[str, ...]:
    return tuple(channels())


def get_channel(name: str) -> Channel:
    """The channel called ``name``, or a :class:`ConfigError` listing the known ones."""
    known = channels()
    if name not in known:
        raise ConfigError(f"Unknown delivery channel {name!r}; known channels: {', '.join(sorted(known))}.",
                          code="unknown_channel", details={"allowed": sorted(known)})
    return known[name]
