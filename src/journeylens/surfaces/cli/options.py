"""Options shared by the analysis commands: ``--json`` and the common filters."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the HTTP API's JSON shape.")]
StartOpt = Annotated[str | None, typer.Option("--start", help="First day (ISO date, inclusive).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="End (ISO date, exclusive).")]
CohortOpt = Annotated[str | None, typer.Option("--cohort", help="Only customers of this cohort.")]
ChannelOpt = Annotated[str | None, typer.Option("--channel", help="Only these channels (comma-separated).")]
StageOpt = Annotated[str | None, typer.Option("--stage", help="Only these stages (comma-separated).")]
TouchpointOpt = Annotated[str | None, typer.Option("--touchpoint", help="Only these touchpoints (comma-separated).")]
BuildOpt = Annotated[list[str] | None, typer.Option(
    "--build", help="With --by cohort: also a cohort built from conditions, such as "
                    "'segment=business; performed=Card delivered' (repeatable).")]
SavedCohortsOpt = Annotated[bool, typer.Option(
    "--saved-cohorts", help="With --by cohort: also every built cohort kept in a saved view.")]
