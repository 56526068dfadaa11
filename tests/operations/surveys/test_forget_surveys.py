"""Right to erasure: forgetting a customer removes their invitations, answers, suppressions and queued mail."""

from __future__ import annotations

import pandas as pd
from survey_helpers import EXAMPLE, add

from journeylens import hooks
from journeylens.lens import JourneyLens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.operations.surveys import answers, stats
from journeylens.operations.surveys.lifecycle import opt_out
from journeylens.settings import Settings


def test_forget_customer_erases_survey_records(lens: JourneyLens, survey_db: AppDatabase,
                                               survey_settings: Settings) -> None:
    add(survey_db, EXAMPLE.replace("deliver: [link]", "deliver: [link, email]"))
    now = utcnow()
    lens.ingest("events", pd.DataFrame([
        {"customer_id": c, "touchpoint": "Branch visit", "channel": "branch", "timestamp": now,
         "email": f"{c}@example.com"} for c in ("c1", "c2")]))
    lens.ingest("events", pd.DataFrame([{"customer_id": "c1", "touchpoint": "Branch visit", "channel": "branch",
                                         "timestamp": now, "event_id": "second"}]))  # suppressed: fatigue
    token = next(r for r in stats.invitations(survey_db, survey_settings) if r["customer_id"] == "c1")["url"]
    opened = answers.open_token(survey_db, survey_settings, token.rsplit("/", 1)[1])
    answers.complete(survey_db, opened, {"nps": 9}, "en", lambda row: None)
    opt_out(survey_db, "c1")
    counts = hooks.forget_customer(lens, "c1")
    assert {k: counts.get(k) for k in ("survey_invitations", "survey_responses", "survey_suppressions",
                                       "survey_opt_outs", "outbox")} == {
        "survey_invitations": 1, "survey_responses": 1, "survey_suppressions": 1, "survey_opt_outs": 1, "outbox": 1}
    assert [r["customer_id"] for r in stats.invitations(survey_db, survey_settings)] == ["c2"]
    assert stats.why_not(survey_db, "c1") == []
    with survey_db.session() as session:
        assert [m.target for m in session.query(OutboxMessage).all()] == ["c2@example.com"]
