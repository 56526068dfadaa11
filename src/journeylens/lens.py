"""The Python API: ``jl = journeylens.open(...)``.

A thin facade. Every method calls one analysis function with the warehouse's
``journey_events`` table; the CLI, HTTP API and dashboard call the same functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from journeylens import hooks
from journeylens.errors import JourneyLensError, ParameterError, engine_error
from journeylens.settings import Settings, get_settings
from journeylens.startup import freeze_startup_objects
from journeylens.warehouse import Warehouse, open_warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition


@contextmanager
def explain_engine_errors() -> Iterator[None]:
    """Engine errors with a known remedy (out of memory) become :class:`JourneyLensError`."""
    try:
        yield
    except JourneyLensError:
        raise
    except Exception as exc:
        error = engine_error(exc)
        if error is None:
            raise
        raise error from exc


class JourneyLens:
    """One warehouse plus one journey definition."""

    def __init__(self, warehouse: Warehouse, definition: JourneyDefinition | None = None,
                 settings: Settings | None = None):
        self.warehouse = warehouse
        self.settings = settings or get_settings()
        self._definition = definition

    # --- journey definition ---------------------------------------------------------
    @property
    def definition(self) -> JourneyDefinition:
        """The journey definition in use (suggested from the data when none was given)."""
        if self._definition is None:
            from journeylens.journeys.suggest import suggest_definition

            self._definition = suggest_definition(self.warehouse.table("events"))
            self._definition_suggested = True
        return self._definition

    @property
    def has_explicit_definition(self) -> bool:
        """Whether a journey definition was given (not merely suggested from the data)."""
        return self._definition is not None and not getattr(self, "_definition_suggested", False)

    # --- ingest -----------------------------------------------------------------------
    def ingest(self, table: str, source: Any, **options: Any) -> Any:
        """Ingest a file path or a pandas / polars / Arrow object into ``table``.

        Returns an :class:`journeylens.ingest.IngestSummary`; refreshes ``journey_events``
        when events were added, under the same memory budget as the load
        (``JOURNEYLENS_INGEST_MEMORY_LIMIT``).
        """
        from journeylens.ingest import ingest

        with explain_engine_errors():
            summary = ingest(self.warehouse, table, source, settings=self.settings, **options)
        if table == "events" and summary.accepted:
            self.refresh(memory_limit=self.settings.ingest_memory_limit)
        if summary.accepted:
            hooks.rows_landed(self, table, summary.batch)
        return summary

    def _gap(self) -> int | None:
        # An explicitly set JOURNEYLENS_EPISODE_GAP_MINUTES wins over the definition's own
        # settings.episode_gap_minutes; otherwise the definition's (else the default) applies.
        return self.settings.episode_gap_minutes if "episode_gap_minutes" in self.settings.model_fields_set else None

    def refresh(self, *, full: bool = False, memory_limit: str | None = None) -> Any:
        """Bring ``journey_events`` up to date with ``events`` and the definition: only the
        customers with new events are recomputed, unless the table is missing, the definition
        changed or ``full=True`` (then it is rebuilt and swapped in atomically). ``memory_limit``
        lowers DuckDB's limit while it runs (spilling instead). Returns a
        :class:`journeylens.journeys.incremental.JourneyUpdate`."""
        from journeylens.journeys.incremental import update_journey_events

        with explain_engine_errors():
            return update_journey_events(self.warehouse, self.definition, episode_gap_minutes=self._gap(), full=full,
                                         memory_limit=memory_limit)

    def events(self) -> ir.Table:
        """The enriched ``journey_events`` table, brought up to date first when events landed
        that it does not include yet (unless another thread is already doing so: then the
        current table is read while it works)."""
        from journeylens.journeys.incremental import needs_update, update_journey_events

        if needs_update(self.warehouse, lambda: self.definition, self._gap()):
            with explain_engine_errors():
                update_journey_events(self.warehouse, self.definition, episode_gap_minutes=self._gap(),
                                      wait=not self.warehouse.has(JOURNEY_EVENTS))
        return self.warehouse.table(JOURNEY_EVENTS)

    def __repr__(self) -> str:
        return f"JourneyLens({self.warehouse!r})"

    # Analyses are added below, one method per analysis function (keep each a one-liner
    # that calls journeylens.analyses.*).

    # --- journey map, cohorts, channels, conformance, timeline, retention (analyses part B) ---
    def _customers(self) -> ir.Table:
        return self.warehouse.table("customers")

    def journey_map(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.journey_map.journey_map` over this warehouse."""
        from journeylens.analyses.journey_map import journey_map

        return journey_map(self.events(), definition=self.definition, customers=self._customers(),
                           filters=filters, **params)

    def cohorts(self, filters: Any = None, built: Any = ()) -> Any:
        """:func:`journeylens.analyses.cohorts.cohorts`: every cohort and its size (plus ``built`` ones)."""
        from journeylens.analyses.cohorts import cohorts

        return cohorts(self.events(), definition=self.definition, customers=self._customers(), filters=filters,
                       built=tuple(built))

    def compare_cohorts(self, analysis: Any, cohorts: Any, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.cohorts.compare_cohorts`: one analysis per cohort, tested."""
        from journeylens.analyses.cohorts import compare_cohorts

        return compare_cohorts(self.events(), analysis, cohorts, definition=self.definition,
                               customers=self._customers(), filters=filters, **params)

    def channels(self, filters: Any = None) -> Any:
        """:func:`journeylens.analyses.channels.channels`: channel hopping."""
        from journeylens.analyses.channels import channels

        return channels(self.events(), definition=self.definition, customers=self._customers(), filters=filters)

    def switch_impact(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.switch_impact.switch_impact`: NPS and churn of channel switchers."""
        from journeylens.analyses.switch_impact import switch_impact

        return switch_impact(self.events(), self.warehouse.table("feedback"), definition=self.definition,
                             customers=self._customers(), filters=filters, **params)

    def conformance(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.conformance.conformance`: designed vs actual journeys."""
        from journeylens.analyses.conformance import conformance

        return conformance(self.events(), definition=self.definition, customers=self._customers(),
                           filters=filters, **params)

    def customer_timeline(self, customer_id: str) -> Any:
        """:func:`journeylens.analyses.timeline.customer_timeline`: one customer's whole history."""
        from journeylens.analyses.filters import check_text
        from journeylens.analyses.timeline import customer_timeline

        return customer_timeline(self.events(), check_text("customer_id", customer_id), feedback=self.warehouse.table("feedback"),
                                 customers=self._customers(), definition=self.definition)

    def retention(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.retention.retention`: cohort retention table."""
        from journeylens.analyses.retention import retention

        return retention(self.events(), definition=self.definition, customers=self._customers(),
                         filters=filters, **params)

    def time_to_stage(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.retention.time_to_stage`: time between stages."""
        from journeylens.analyses.retention import time_to_stage

        return time_to_stage(self.events(), definition=self.definition, customers=self._customers(),
                             filters=filters, **params)

    def outcomes(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.outcomes.outcomes`: conversion and churn per period, with intervals."""
        from journeylens.analyses.outcomes import outcomes

        return outcomes(self.events(), definition=self.definition, customers=self._customers(),
                        filters=filters, **params)

    # --- transitions, variants, funnels (analyses part A) --------------------------------
    def transitions(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.transitions.transitions`: the directly-follows graph."""
        from journeylens.analyses.transitions import transitions
        from journeylens.warehouse.memory import bucket_events

        params.setdefault("bucket_events", bucket_events(self.settings.duckdb_memory_limit))
        return transitions(self.events(), definition=self._definition, customers=self._customers(),
                           filters=filters, **params)

    def variants(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.variants.variants`: the most common paths."""
        from journeylens.analyses.variants import variants

        return variants(self.events(), definition=self._definition, customers=self._customers(),
                        filters=filters, **params)

    def funnel(self, steps: Any, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.funnel.funnel`: customers through ordered steps."""
        from journeylens.analyses.funnel import funnel

        return funnel(self.events(), steps=steps, definition=self._definition, customers=self._customers(),
                      filters=filters, **params)

    def funnel_vs_map(self, steps: Any, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.funnel_reconciliation.reconcile_funnel`: the map's customers
        at each step split into parts that add up (reached in the funnel, never did step 1, …)."""
        from journeylens.analyses.funnel_reconciliation import reconcile_funnel

        return reconcile_funnel(self.events(), steps=steps, definition=self._definition,
                                customers=self._customers(), filters=filters, **params)

    # --- marketing: attribution, spend and return; departures ---------------------------
    def attribution(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.marketing.attribution.attribution`: every model side by side."""
        from journeylens.analyses.marketing.attribution import attribution

        return attribution(self.events(), definition=self.definition, customers=self._customers(),
                           filters=filters, **params)

    def spend_return(self, filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.marketing.spend.spend_return`: CPA, ROAS, marginal return, what-if."""
        from journeylens.analyses.marketing.spend import spend_return

        return spend_return(self.events(), self.warehouse.table("spend"), definition=self.definition,
                            customers=self._customers(), filters=filters, **params)

    def departures(self, **params: Any) -> Any:
        """:func:`journeylens.analyses.cx.departures.departures`: why customers leave. Tickets come
        from the app database (``settings.app_database_url``) unless ``tickets=`` is given; without
        one the result's ``tickets`` section says so."""
        from journeylens.analyses.cx.departures import departures

        if "tickets" not in params:
            from journeylens.operations.tickets.frame import tickets_at

            params["tickets"], params["tickets_note"] = tickets_at(self.settings.app_database_url)
        return departures(self.events(), self.warehouse.table("feedback"), definition=self.definition,
                          customers=self._customers(), **params)

    # --- CX metrics, feedback links and text analytics (metrics engineer) ----------------
    def _feedback_sources(self, needs_events: bool) -> dict[str, Any]:
        """Events and definition for feedback analyses; events only when a grouping needs them."""
        has_events = needs_events and self.warehouse.count("events") > 0
        definition = self.definition if has_events else self._definition
        return {"events": self.events() if has_events else None, "definition": definition}

    def metrics(self, by: Any = ("touchpoint", "month"), filters: Any = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.metrics.cx_metrics` (``respondent="employee"`` → eNPS)."""
        from journeylens.analyses.metrics import FEEDBACK_DIMENSIONS, PERIODS, cx_metrics

        plain = {*FEEDBACK_DIMENSIONS, *PERIODS}
        needs = bool(set(by) - plain) or bool(filters and (filters.cohort or filters.stage))
        params.setdefault("min_sample_size", self.settings.min_sample_size)
        # The customers (a catalogue lookup) only where a grouping or a cohort filter reads them.
        return cx_metrics(self.warehouse.table("feedback"), by=by, filters=filters,
                          customers=self._customers() if needs else None, **self._feedback_sources(needs), **params)

    def metric_changes(self, by: Any = ("touchpoint",), period: str | None = "month", filters: Any = None,
                       baseline: str | None = None, **params: Any) -> Any:
        """:func:`journeylens.analyses.significance.changes` (period over period), or with
        ``period=None`` :func:`~journeylens.analyses.significance.group_differences` (group vs rest/baseline)."""
        from journeylens.analyses.metrics import FEEDBACK_DIMENSIONS, PERIODS
        from journeylens.analyses.significance import changes, group_differences

        by = [by] if isinstance(by, str) else list(by)
        needs = bool(set(by) - {*FEEDBACK_DIMENSIONS, *PERIODS}) or bool(filters and (filters.cohort or filters.stage))
        params.setdefault("min_sample_size", self.settings.min_sample_size)
        common = {"filters": filters, "customers": self._customers() if needs else None,
                  **self._feedback_sources(needs), **params}
        if period is None:
            return group_differences(self.warehouse.table("feedback"), by=by[0], baseline=baseline, **common)
        return changes(self.warehouse.table("feedback"), by=by, period=period, **common)

    def properties(self, top: int = 5, sources: Any = ("event", "feedback", "customer")) -> Any:
        """:func:`journeylens.analyses.properties.discover`: what can split a number, with cardinality."""
        from journeylens.analyses.properties import discover

        events = self.events() if "event" in sources and self.warehouse.count("events") else None
        return discover(events, self.warehouse.table("feedback"), self._customers(), top=top, sources=tuple(sources))

    def freshness(self, **params: Any) -> Any:
        """:func:`journeylens.analyses.freshness.freshness`: date range, last data per source, stale warnings."""
        from journeylens.analyses.freshness import freshness

        params.setdefault("stale_after_days", self.settings.stale_after_days)
        tables = {name: self.warehouse.table(name) for name in ("events", "feedback")}
        return freshness(tables, self.warehouse.table("ingest_log"), **params)

    def window_change(self, current: Any, base: Any, **params: Any) -> Any:
        """:func:`journeylens.analyses.significance.window_change`: one window against another, tested."""
        from journeylens.analyses.significance import window_change

        params.setdefault("min_sample_size", self.settings.min_sample_size)
        needs = bool(current.cohort or current.stage)
        return window_change(self.warehouse.table("feedback"), current=current, base=base,
                             customers=self._customers(), **self._feedback_sources(needs), **params)

    def feedback_links(self, **params: Any) -> Any:
        """:func:`journeylens.analyses.feedback_links.feedback_links` over ``journey_events``."""
        from journeylens.analyses.feedback_links import feedback_links

        params.setdefault("min_sample_size", self.settings.min_sample_size)
        return feedback_links(self.warehouse.table("feedback"), self.events(), definition=self.definition, **params)

    def touchpoint_scores(self, **params: Any) -> Any:
        """:func:`journeylens.analyses.feedback_links.touchpoint_scores` for journey-map cards."""
        from journeylens.analyses.feedback_links import touchpoint_scores

        params.setdefault("min_sample_size", self.settings.min_sample_size)
        sources = self._feedback_sources(True)
        return touchpoint_scores(self.warehouse.table("feedback"), sources["events"],
                                 definition=sources["definition"], **params)

    def sentiment(self, **params: Any) -> Any:
        """:func:`journeylens.text.comments.score_comments`: sentiment per comment and touchpoint."""
        from journeylens.text.comments import score_comments

        return score_comments(self.warehouse.table("feedback"), definition=self._definition, **params)

    def topics(self, **params: Any) -> Any:
        """:func:`journeylens.text.topics.topics`, cached by data version under ``settings.cache_dir``."""
        from journeylens.text.cache import EmbeddingCache, ResultCache, cache_key
        from journeylens.text.embeddings import MODEL_NAME
        from journeylens.text.topics import TopicsResult, topics

        cache = ResultCache(self.settings.cache_dir)
        params.setdefault("embedder", self.settings.text_topic_embedder)
        key = cache_key(self.warehouse.data_version(), "topics", {k: str(v) for k, v in params.items()})
        embed_cache = EmbeddingCache(self.settings.cache_dir, MODEL_NAME)
        scope = cache_key("", "registry", {"touchpoint": str(params.get("touchpoint")), "embedder": params["embedder"]})
        registry = Path(self.settings.cache_dir) / "topics" / f"{scope}.json"  # stable topic ids across versions
        return cache.get_or_compute(
            key, lambda: topics(self.warehouse.table("feedback"), definition=self._definition,
                                embed_cache=embed_cache, registry=registry, **params),
            lambda result: result.to_dict(), lambda payload: TopicsResult.from_dict(payload, params))

    def aspects(self, **params: Any) -> Any:
        """:func:`journeylens.text.aspect_analysis.aspects`, cached by data version (aspects from
        ``settings.text_aspects`` unless ``aspects_path`` is given; ``response_ids``: only those
        responses' comments)."""
        from journeylens.text.aspect_analysis import AspectsResult, aspects
        from journeylens.text.cache import EmbeddingCache, ResultCache, cache_key
        from journeylens.text.embeddings import MODEL_NAME

        if self.settings.text_aspects and not params.get("aspects_path"):
            params["aspects_path"] = str(self.settings.text_aspects)
        cache = ResultCache(self.settings.cache_dir)
        key = cache_key(self.warehouse.data_version(), "aspects", {k: str(v) for k, v in params.items()})
        embed_cache = EmbeddingCache(self.settings.cache_dir, MODEL_NAME)
        feedback = self.warehouse.table("feedback")
        ids = params.pop("response_ids", None)
        if ids is not None:  # only these responses (each comment's aspects do not depend on the others)
            feedback = feedback.filter(feedback.response_id.isin([str(i) for i in ids]))
        return cache.get_or_compute(
            key, lambda: aspects(feedback, definition=self._definition, embed_cache=embed_cache, **params),
            lambda result: result.to_dict(), lambda payload: AspectsResult.from_dict(payload, params))

    def response_aspects(self, **params: Any) -> list[dict[str, Any]]:
        """Every commented response with its aspect fields (what alert rules on aspects read)."""
        rows: list[dict[str, Any]] = self.aspects(response_limit=None, **params).to_dict()["responses"]
        return rows

    def pain_points(self, top: int = 20, min_comments: int = 5, **params: Any) -> Any:
        """:func:`journeylens.text.topics.pain_points`: touchpoint × topic and touchpoint × aspect
        cells ranked by pain."""
        from journeylens.text.topics import pain_points

        return pain_points(self.topics(**params), top=top, min_comments=min_comments,
                           aspect_cells=self.aspects().matrix)

    # --- models: drivers, what-if, churn, purchases, predicted NPS (journeylens.models) ---------
    def _dated_events(self) -> ir.Table | None:
        """``journey_events`` when there are events (models fall back to the customers table alone)."""
        return self.events() if self.warehouse.count("events") > 0 else None

    def drivers(self, target: str = "nps", drivers: Any = None, survey: str | None = None, journey: bool = False,
                **params: Any) -> Any:
        """:func:`journeylens.models.drivers.survey_drivers`, or with ``journey=True``
        :func:`journeylens.models.journey_drivers.journey_drivers`."""
        if journey:
            from journeylens.models.journey_drivers import journey_drivers

            return journey_drivers(self.events(), self.warehouse.table("feedback"), target=target, drivers=drivers,
                                   definition=self.definition, customers=self._customers(), **params)
        from journeylens.models.drivers import survey_drivers

        if params.get("funnel") is not None:
            raise ParameterError("funnel applies to journey drivers only: pass journey=True "
                                 "(HTTP journey_drivers=true, CLI --journey-drivers)")
        params.pop("funnel", None)
        return survey_drivers(self.warehouse.table("feedback"), target=target, drivers=drivers, survey=survey, **params)

    def what_if(self, target: str, changes: Any, drivers: Any = None, survey: str | None = None,
                journey: bool | None = None, **params: Any) -> Any:
        """:mod:`journeylens.models.whatif`: NPS/CSAT from survey ratings (ordinal model) or, when the
        changes name journey levers (``journey=None`` decides by the names), from journey drivers
        (:mod:`journeylens.models.whatif_journey`); churn or conversion from journey drivers (logistic)."""
        from journeylens.models import whatif
        from journeylens.models.journey_drivers import customer_table, is_journey_driver

        funnel = params.pop("funnel", None)
        if target not in whatif.TARGETS:
            raise ParameterError(f"Unknown what-if target {target!r}; allowed: {', '.join(whatif.TARGETS)}.")
        if journey is None:
            journey = target not in ("nps", "csat") or all(is_journey_driver(name) for name in changes)
        if target in ("nps", "csat") and not journey:
            return whatif.what_if_scores(self.warehouse.table("feedback"), target=target, changes=changes,
                                         drivers=drivers, survey=survey, **params)
        X, y, value, reached = customer_table(self.events(), self.warehouse.table("feedback"), target=target,
                                              definition=self.definition, customers=self._customers(),
                                              drivers=drivers, funnel=funnel, keep=list(changes))
        if target in ("nps", "csat"):
            from journeylens.models.whatif_journey import what_if_journey_scores

            fit = what_if_journey_scores(X, y, target=target, changes=changes, movable=reached, **params)
            return whatif.finish(target, fit)
        return whatif.what_if_outcome(X, y, value, target=target, changes=changes, reached=reached, **params)

    def predict_churn(self, **params: Any) -> Any:
        """:func:`journeylens.models.churn.predict_churn` (a customers table alone is enough)."""
        from journeylens.models.churn import predict_churn

        events = self._dated_events()  # the journey YAML given, never a suggested one: its outcomes decide labels
        return predict_churn(events, feedback=self.warehouse.table("feedback"), customers=self._customers(),
                             definition=self._definition if events is not None else None, **params)

    def predict_nps(self, **params: Any) -> Any:
        """:func:`journeylens.models.predicted_nps.predict_nps`: NPS of the non-respondents."""
        from journeylens.models.predicted_nps import predict_nps

        return predict_nps(self.events(), self.warehouse.table("feedback"), customers=self._customers(), **params)

    def survival(self, **params: Any) -> Any:
        """:func:`journeylens.models.survival.survival`: time to churn by segment (Kaplan-Meier)."""
        from journeylens.models.survival import survival

        return survival(self.events(), definition=self._definition, customers=self._customers(), **params)

    def predict_purchases(self, purchase: str, **params: Any) -> Any:
        """:func:`journeylens.models.purchases.predict_purchases` (BG/NBD + Gamma-Gamma)."""
        from journeylens.models.purchases import predict_purchases

        return predict_purchases(self.events(), purchase=purchase, **params)


def open(warehouse: str | None = None, journey: str | Path | None = None,
         settings: Settings | None = None) -> JourneyLens:
    """Open a warehouse (DuckDB path, ``duckdb://``, ``pyspark://DIR``) and a journey YAML."""
    settings = settings or get_settings()
    definition = None
    journey = journey or settings.journey
    if journey is not None:
        from journeylens.journeys.definition import load_definition

        definition = load_definition(Path(journey))
    lens = JourneyLens(open_warehouse(warehouse, settings), definition, settings)
    freeze_startup_objects()  # the engine libraries are imported: out of the cyclic GC (ADR 0103)
    return lens

