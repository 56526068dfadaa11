"""Roles, permissions, API scopes and password hashing.

Two vocabularies, one for people and one for machines:

* a **role** (``admin``, ``analyst``, ``agent``, ``viewer``) belongs to a user and grants
  fine-grained **permissions** (:data:`ROLE_PERMISSIONS`);
* a **scope** (``ingest``, ``read``, ``admin``, ``tickets``) belongs to an API key. A signed-in user
  may also call an endpoint that needs a scope when the role grants it
  (:data:`ROLE_SCOPES`: ``read`` admin/analyst/viewer, ``ingest`` admin/analyst, ``admin`` admin,
  ``tickets`` admin/agent).

>>> role_allows("analyst", "ingest"), role_allows("viewer", "journey.edit")
(True, False)
>>> verify_password(hash_password("correct horse battery"), "correct horse battery")
True
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from journeylens.errors import ParameterError

ROLES: tuple[str, ...] = ("admin", "analyst", "agent", "viewer")
SCOPES: tuple[str, ...] = ("ingest", "read", "admin", "tickets")

#: Every permission the product checks.
PERMISSIONS: tuple[str, ...] = (
    "read",             # analyses, journey map, dashboards, reports
    "ingest",           # load events / feedback (files or HTTP)
    "journey.edit",     # change the journey definition, targets, cohorts
    "customer.lookup",  # one customer's whole journey (frontline)
    "tickets",          # work the hot-ticket inbox, close the loop
    "admin",            # users, API keys, settings
)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "analyst": frozenset({"read", "journey.edit", "ingest", "customer.lookup"}),
    "agent": frozenset({"customer.lookup", "tickets"}),
    "viewer": frozenset({"read"}),
}

#: The API scopes a signed-in user's role stands in for (cookie instead of a key).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "analyst": frozenset({"read", "ingest"}),
    "agent": frozenset({"tickets"}),  # customer lookup and tickets (surfaces/policy.py), no analyses
    "viewer": frozenset({"read"}),
}

MIN_PASSWORD_CHARS = 10


def check_role(role: str) -> str:
    """Return ``role`` if it is known, else raise :class:`ParameterError`."""
    if role not in ROLES:
        raise ParameterError(f"Unknown role {role!r}; allowed roles: {', '.join(ROLES)}.",
                             code="invalid_role", details={"allowed": list(ROLES)})
    return role


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate and de-duplicate scopes, returned in the canonical order of :data:`SCOPES`."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ParameterError(
            f"Unknown or missing API key scopes {unknown}; allowed scopes: {', '.join(SCOPES)} (at least one).",
            code="invalid_scope", details={"allowed": list(SCOPES)})
    return tuple(s for s in SCOPES if s in scopes)


def role_allows(role: str, permission: str) -> bool:
    """Whether users with ``role`` hold ``permission`` (see :data:`ROLE_PERMISSIONS`)."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def role_grants_scope(role: str, scope: str) -> bool:
    """Whether a signed-in user with ``role`` may call an endpoint that needs ``scope``."""
    return scope in ROLE_SCOPES.get(role, frozenset())


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted, self-describing)."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; never raises on a bad hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def dummy_password_hash() -> str:
    """A hash to verify against when the user does not exist, so timing does not tell."""
    import secrets

    return hash_password(secrets.token_urlsafe(16))
