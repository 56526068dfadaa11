"""Signed survey links: one token per invitation (single customer), one per QR poster (anonymous).

Tokens are signed with itsdangerous. The key is ``JOURNEYLENS_SECRET_KEY`` when set, else a
key generated once and kept in the app database (``app_secrets``), so links keep working
after a restart. An invitation token names the invitation and a digest of its customer; its
expiry is the invitation's ``expires_at``. A QR token names the survey and the touchpoint.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.exc import IntegrityError

from journeylens.operations.appdb import AppDatabase
from journeylens.operations.surveys.models import AppSecret
from journeylens.settings import Settings

_INVITATION_SALT = "journeylens.survey.invitation"
_QR_SALT = "journeylens.survey.qr"
_KEYS: dict[str, str] = {}


def signing_key(db: AppDatabase, settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    cached = _KEYS.get(db.url)
    if cached:
        return cached
    with db.session() as session:
        row = session.get(AppSecret, "survey_links")
        if row is None:
            try:
                with session.begin_nested():
                    row = AppSecret(name="survey_links", value=secrets.token_urlsafe(32))
                    session.add(row)
            except IntegrityError:
                row = session.get(AppSecret, "survey_links")
        assert row is not None
        _KEYS[db.url] = row.value
        return row.value


def _customer_digest(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode()).hexdigest()[:10]


def invitation_token(key: str, invitation_id: str, customer_id: str) -> str:
    return URLSafeSerializer(key, salt=_INVITATION_SALT).dumps([invitation_id, _customer_digest(customer_id)])


def qr_token(key: str, survey: str, touchpoint: str) -> str:
    return URLSafeSerializer(key, salt=_QR_SALT).dumps([survey, touchpoint])


@dataclass(frozen=True)
class TokenTarget:
    """What a valid token opens: an invitation, or a survey anonymously at a touchpoint."""

    invitation_id: str | None = None
    customer_digest: str | None = None
    survey: str | None = None
    touchpoint: str | None = None

    def matches_customer(self, customer_id: str) -> bool:
        return self.customer_digest == _customer_digest(customer_id)


def read_token(key: str, token: str) -> TokenTarget | None:
    """The token's target, or ``None`` when it is not one of ours (tampered, wrong key, garbage)."""
    try:
        invitation_id, digest = URLSafeSerializer(key, salt=_INVITATION_SALT).loads(token)
        return TokenTarget(invitation_id=str(invitation_id), customer_digest=str(digest))
    except (BadData, ValueError, TypeError):
        pass
    try:
        survey, touchpoint = URLSafeSerializer(key, salt=_QR_SALT).loads(token)
        return TokenTarget(survey=str(survey), touchpoint=str(touchpoint))
    except (BadData, ValueError, TypeError):
        return None


def base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def survey_url(settings: Settings, token: str) -> str:
    return f"{base_url(settings)}/s/{quote(token)}"
