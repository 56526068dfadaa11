"""``journeylens customer ID`` (one customer's timeline) and ``journeylens customer forget ID``:
erase one customer everywhere (right to erasure).

    journeylens --warehouse bank.duckdb customer forget c-123 --yes --json

Removes the customer from events, feedback, customers, journey_events, identities,
quarantine, cached text results and every plugin's tables (tickets, survey invitations);
the audit trail records that an erasure ran (counts, not the id). See
:mod:`journeylens.operations.forget`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from journeylens.errors import JourneyLensError, ParameterError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.forget import forget_customer
from journeylens.surfaces.cli.context import console, emit_json, fail, get_ctx


class _CustomerGroup(TyperGroup):
    """``journeylens customer ID`` shows the timeline (``customer show ID``); ``customer forget ID``
    erases. A first word that is not a subcommand is taken as a customer id."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


customer_app = typer.Typer(cls=_CustomerGroup, no_args_is_help=True,
                           help="One customer: 'customer ID' shows the whole history, 'customer forget ID' erases it.")


def register(app: typer.Typer) -> None:
    app.add_typer(customer_app, name="customer")


@customer_app.command("forget")
def forget(ctx: typer.Context, customer_id: Annotated[str, typer.Argument(help="The customer id to erase.")],
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
           app_db: Annotated[str | None, typer.Option("--app-db", envvar="JOURNEYLENS_APP_DATABASE_URL",
                                                      help="App database URL (audit trail, plugins' tables).")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print the HTTP API's JSON shape.")] = False) -> None:
    """Erase CUSTOMER_ID from every table and cache; record that it happened (not the id)."""
    state = get_ctx(ctx)
    try:
        if not yes and not as_json and not typer.confirm(f"Erase every record of {customer_id!r}? This cannot be undone"):
            raise ParameterError("Nothing erased (not confirmed); pass --yes to skip the question.",
                                 code="not_confirmed")
        database = AppDatabase(app_db or state.settings.app_database_url)
        try:
            report = forget_customer(state.lens(), customer_id, db=database, actor="cli")
        finally:
            database.dispose()
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(report.to_dict())
    else:
        by_table = ", ".join(f"{t} {n:,}" for t, n in sorted(report.removed.items())) or "nothing was stored"
        console.print(f"Erased {report.total:,} rows ({by_table}); {report.anonymous_ids} linked anonymous ids.")
