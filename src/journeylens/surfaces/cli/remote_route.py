"""``POST /v1/cli``: the server runs a read-only CLI command for a CLI beside it (ADR 0020).

The command runs in this process on the request's lens, so its output (human or ``--json``)
is exactly what it would print locally; the client is :mod:`journeylens.surfaces.cli.remote`.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from journeylens.errors import JourneyLensError, ParameterError
from journeylens.surfaces.api.deps import LensDep, Principal, SettingsDep, require_scope
from journeylens.surfaces.cli.remote import REMOTE_COMMANDS, command_path


class CliRequest(BaseModel):
    args: list[str] = Field(min_length=1, max_length=200, description="The command and its options, as typed.")


class CliOutput(BaseModel):
    exit_code: int
    stdout: str
    stderr: str


router = APIRouter(tags=["cli"])
# Standard output is process-wide: one forwarded command at a time captures it.
_capture_lock = threading.Lock()


def run_here(args: list[str], lens: Any, settings: Any) -> CliOutput:
    """Run a read-only command in this process on ``lens``, capturing what it prints."""
    from journeylens.surfaces.cli.context import CliContext
    from journeylens.surfaces.cli.main import app

    path = command_path(args)
    if path not in REMOTE_COMMANDS:
        raise ParameterError(f"`{path or ' '.join(args)}` cannot run on the server; allowed: "
                             f"{', '.join(sorted(REMOTE_COMMANDS))}.", code="command_not_remote")
    out, err = io.StringIO(), io.StringIO()
    obj = CliContext(warehouse=settings.warehouse, settings=settings, _lens=lens, remote=True)
    code = 0
    with _capture_lock, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            returned = app(args=args, prog_name="journeylens", standalone_mode=False, obj=obj)
            code = returned if isinstance(returned, int) else 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        except JourneyLensError as exc:
            out.write(json.dumps(exc.to_dict()) + "\n" if "--json" in args else "")
            err.write(f"error [{exc.code}] {exc.message}\n")
            code = 2
        except Exception as exc:  # click usage errors and the like: reported, not a 500
            exit_code = getattr(exc, "exit_code", None)
            if exit_code is None:
                raise
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            err.write(f"error {message}\n")
            code = int(exit_code)
    return CliOutput(exit_code=code, stdout=out.getvalue(), stderr=err.getvalue())


@router.post("/v1/cli", response_model=CliOutput, summary="Run a read-only CLI command on the server's warehouse")
async def run_cli(body: CliRequest, lens: LensDep, settings: SettingsDep,
                  principal: Annotated[Principal, Depends(require_scope("read"))]) -> CliOutput:
    return await run_in_threadpool(run_here, body.args, lens, settings)
