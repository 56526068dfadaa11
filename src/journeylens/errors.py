"""One error tree for the whole package.

Every error carries a stable ``code`` (for the CLI's exit messages and the HTTP API's one
error shape) and a message that says what was wrong and what is allowed.
"""

from __future__ import annotations

from typing import Any


class JourneyLensError(Exception):
    """Base of every error JourneyLens raises on purpose."""

    code: str = "journeylens_error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The one error shape used by the HTTP API and ``--json`` output."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigError(JourneyLensError):
    code = "config_error"


class InputError(JourneyLensError):
    """A file or object that cannot be used at all (rows that cannot be used are quarantined instead)."""

    code = "input_error"


class MissingColumnsError(InputError):
    code = "missing_columns"


class UnsupportedFormatError(InputError):
    code = "unsupported_format"


class JourneyDefinitionError(JourneyLensError):
    code = "journey_definition_invalid"


class WarehouseError(JourneyLensError):
    code = "warehouse_error"
    http_status = 500


class EngineNotSupportedError(WarehouseError):
    """An engine cannot do something; raised instead of silently falling back."""

    code = "engine_not_supported"
    http_status = 501


class NotFoundError(JourneyLensError):
    code = "not_found"
    http_status = 404


class ParameterError(JourneyLensError):
    code = "invalid_parameter"
    http_status = 422


class AuthError(JourneyLensError):
    code = "unauthorized"
    http_status = 401


class PermissionDeniedError(JourneyLensError):
    code = "forbidden"
    http_status = 403


class EmptyDataError(JourneyLensError):
    code = "no_data"
    http_status = 404


class TooFewRowsError(ParameterError):
    """Too few responses or customers to fit a model; ``details`` has ``needed`` and ``got``."""

    code = "too_few_rows"


class UnknownNameError(ParameterError):
    """A target, driver or feature that does not exist; ``details["available"]`` lists what exists."""

    code = "unknown_name"


class DegenerateDataError(ParameterError):
    """Constant or perfectly collinear drivers, or a single outcome class; the culprits are named."""

    code = "degenerate_data"


class DeliveryError(JourneyLensError):
    """A message could not be delivered now; the outbox retries it with backoff."""

    code = "delivery_failed"
    http_status = 502


class PermanentDeliveryError(DeliveryError):
    """A message can never be delivered as it is (bad address, rejected); not retried."""

    code = "delivery_refused"


class OutOfMemoryError(WarehouseError):
    """The engine ran out of memory; the message names the setting to change."""

    code = "out_of_memory"
    http_status = 503


def engine_error(exc: BaseException, *, setting: str = "JOURNEYLENS_DUCKDB_MEMORY_LIMIT",
                 limit: str | None = None) -> JourneyLensError | None:
    """The :class:`JourneyLensError` for an engine exception we can explain (out of memory),
    else ``None``. ``setting`` is the memory limit that was in force (the warehouse's, or the
    ingest's lower budget while a file is loaded) and ``limit`` its value, named in the message."""
    name = type(exc).__name__
    text = str(exc)
    if name == "OutOfMemoryException" or "Out of Memory Error" in text or "OutOfMemoryError" in name:
        value = f", now {limit}" if limit else ", default: half of this machine's RAM"
        return OutOfMemoryError(
            f"The warehouse engine ran out of memory. Raise {setting} (for example '8GB'{value}), "
            "or point JOURNEYLENS_DUCKDB_TEMP_DIRECTORY at a disk with free space so DuckDB can spill; "
            "on Spark raise JOURNEYLENS_SPARK_DRIVER_MEMORY.",
            details={"engine_message": text.splitlines()[0][:300] if text else name,
                     "settings": [setting, "JOURNEYLENS_DUCKDB_TEMP_DIRECTORY"]})
    return None
