"""The planted problems are in the raw generated data, computed directly with pandas."""

from __future__ import annotations

import pandas as pd
import pytest

from journeylens.demo import PLANTED_PROBLEMS, DemoDataset
from journeylens.demo.planted import APP_RELEASE, CHANNEL_SWITCH, KYC_DROP_OFF


def _nps(scores: pd.Series) -> float:
    scores = scores.dropna()
    return 100 * ((scores >= 9).mean() - (scores <= 6).mean())


def test_the_constant_names_three_problems() -> None:
    assert set(PLANTED_PROBLEMS) == {"app_release_csat_drop", "kyc_drop_off", "online_to_call_centre"}
    assert PLANTED_PROBLEMS["kyc_drop_off"] is KYC_DROP_OFF


def test_app_login_csat_drops_after_the_release(medium_demo: DemoDataset) -> None:
    feedback = medium_demo.feedback.to_pandas()
    login = feedback[feedback.touchpoint == APP_RELEASE.touchpoint]
    after = login.timestamp >= medium_demo.window.release
    before_mean, after_mean = login[~after].csat.mean(), login[after].csat.mean()
    assert before_mean == pytest.approx(APP_RELEASE.csat_mean_before, abs=0.1)
    assert after_mean == pytest.approx(APP_RELEASE.csat_mean_after, abs=0.1)
    top2_before, top2_after = (login[~after].csat >= 4).mean(), (login[after].csat >= 4).mean()
    assert top2_before - top2_after > 0.3
    # Only that touchpoint: the other app touchpoint keeps its level.
    transfer = feedback[feedback.touchpoint == "Transfer"]
    moved = transfer[transfer.timestamp >= medium_demo.window.release].csat.mean() - transfer.csat.mean()
    assert abs(moved) < 0.15
    crash_words = login[after].comment.dropna().str.contains("crash|log(?:s|ging)? me out|update|log in twice", case=False)
    assert crash_words.mean() > 0.5
    assert not login[~after].comment.dropna().str.contains("crash", case=False).any()


def test_app_release_shows_in_behaviour_and_versions(medium_demo: DemoDataset) -> None:
    events = medium_demo.events.to_pandas()
    app = events[events.channel == "app"]
    after = app.timestamp >= medium_demo.window.release
    assert set(app[after].app_version) == {APP_RELEASE.app_version_after}
    assert set(app[~after].app_version) == {APP_RELEASE.app_version_before}
    logins = events[events.touchpoint == APP_RELEASE.touchpoint].sort_values(["customer_id", "timestamp"])
    quick = logins.groupby("customer_id").timestamp.diff() < pd.Timedelta(minutes=2)
    released = logins.timestamp >= medium_demo.window.release
    assert quick[~released].mean() < 0.02
    assert quick[released].mean() > 0.1


def _reached(events: pd.DataFrame, touchpoint: str) -> set[str]:
    return set(events.loc[events.touchpoint == touchpoint, "customer_id"].dropna())


def test_kyc_upload_loses_far_more_customers_than_other_onboarding_steps(medium_demo: DemoDataset) -> None:
    events = medium_demo.events.to_pandas()

    def drop_off(step: str, following: str) -> float:
        reached = _reached(events, step)
        return 1 - len(reached & _reached(events, following)) / len(reached)

    assert drop_off(KYC_DROP_OFF.touchpoint, KYC_DROP_OFF.next_touchpoint) == pytest.approx(KYC_DROP_OFF.drop_off, abs=0.04)
    for step, following in [("Open account online", "KYC document upload"),
                            ("Branch appointment", "Open account in branch"),
                            ("Open account in branch", "ID check in branch"),
                            ("ID check in branch", "Card delivered")]:
        assert drop_off(step, following) == pytest.approx(KYC_DROP_OFF.typical_drop_off, abs=0.04), step


def _switchers_and_served(events: pd.DataFrame) -> tuple[set[str], set[str]]:
    """Customers whose service episode goes online → call centre within 30 minutes, and all
    customers with a service-stage contact."""
    known = events.dropna(subset=["customer_id"]).sort_values(["customer_id", "timestamp"])
    previous = known.groupby("customer_id")[["touchpoint", "timestamp"]].shift()
    switch = ((known.channel == CHANNEL_SWITCH.to_channel)
              & previous.touchpoint.isin(CHANNEL_SWITCH.from_touchpoints)
              & (known.timestamp - previous.timestamp <= pd.Timedelta(minutes=30)))
    service = {"Help centre search", "Chat: dispute", "Call centre: card issue", "Call centre: fees query",
               "Branch service visit", "Complaint"}
    return set(known[switch].customer_id), set(known[known.touchpoint.isin(service)].customer_id)


def test_online_to_call_centre_switchers_are_less_loyal(medium_demo: DemoDataset) -> None:
    events, feedback = medium_demo.events.to_pandas(), medium_demo.feedback.to_pandas()
    switchers, served = _switchers_and_served(events)
    others = served - switchers
    assert len(switchers) > 300 and len(others) > 1500
    nps_switchers = _nps(feedback[feedback.customer_id.isin(switchers)].nps)
    nps_others = _nps(feedback[feedback.customer_id.isin(others)].nps)
    assert nps_others == pytest.approx(CHANNEL_SWITCH.nps_baseline, abs=6)
    assert nps_switchers - nps_others == pytest.approx(CHANNEL_SWITCH.nps_gap_points, abs=10)
    churned = medium_demo.customers.to_pandas().set_index("customer_id").churned
    ratio = churned[sorted(switchers)].mean() / churned[sorted(others)].mean()
    assert ratio == pytest.approx(CHANNEL_SWITCH.churn_ratio, abs=0.5)
    assert churned[sorted(others)].mean() == pytest.approx(CHANNEL_SWITCH.baseline_churn_share, abs=0.03)
