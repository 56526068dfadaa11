"""The problems planted in the demo data, with their exact parameters.

A CX team exploring the demo should find these three; tests of analyses check that they do.
Dates depend on the seed, so the constants hold offsets and :func:`demo_window` resolves them.

>>> PLANTED_PROBLEMS["app_release_csat_drop"].touchpoint
'Mobile app login'
>>> demo_window(42).end.isoformat()
'2025-02-12T00:00:00+00:00'
>>> demo_window(42).release.isoformat()
'2024-09-15T00:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final

#: Length of the generated period (about 18 months).
WINDOW_DAYS: Final = 548
_EPOCH_END: Final = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SatisfactionDrop:
    """CSAT at ``touchpoint`` drops from ``csat_mean_before`` to ``csat_mean_after`` (means on
    1-5) for surveys answered on or after the app release; comments then talk about the new
    app crashing and logging people out, and ``relogin_share_after`` of app sessions show a
    second login within two minutes (the app logged them out)."""

    touchpoint: str = "Mobile app login"
    metric: str = "csat"
    csat_mean_before: float = 4.3
    csat_mean_after: float = 3.2
    release_days_before_end: int = 150
    app_version_before: str = "5.14.2"
    app_version_after: str = "6.0.0"
    relogin_share_after: float = 0.25


@dataclass(frozen=True)
class AbnormalDropOff:
    """In onboarding, ``drop_off`` of the customers who reach ``touchpoint`` never reach
    ``next_touchpoint``; every other onboarding step loses ``typical_drop_off``."""

    stage: str = "onboarding"
    touchpoint: str = "KYC document upload"
    next_touchpoint: str = "Account approved"
    drop_off: float = 0.35
    typical_drop_off: float = 0.08


@dataclass(frozen=True)
class HarmfulChannelSwitch:
    """Customers who, in one service episode, start online (``from_touchpoints``) and then
    call the call centre have an NPS ``nps_gap_points`` lower and churn ``churn_ratio`` times as
    often as the other customers who contacted service. The NPS effect is customer-level
    (all their NPS answers); their churn date falls after the first switch."""

    stage: str = "service"
    from_touchpoints: tuple[str, ...] = ("Help centre search", "Chat: dispute")
    to_channel: str = "call_centre"
    nps_baseline: float = 22.0
    nps_gap_points: float = -25.0
    churn_ratio: float = 2.0
    baseline_churn_share: float = 0.14


@dataclass(frozen=True)
class PlantedDrivers:
    """Relationship-survey attribute ratings (1-5, ``sat_*``): ``sat_app`` drives relationship
    NPS by ``nps_per_point[0]`` points per rating point and ``sat_staff`` a little; branch and
    fees ratings do not. Customers with two call-centre contacts within ``repeat_window_days``
    churn ``repeat_churn_ratio`` times as often (on top of the channel-switch effect)."""

    ratings: tuple[str, ...] = ("sat_app", "sat_branch", "sat_fees", "sat_staff")
    rating_means: tuple[float, ...] = (3.1, 3.9, 3.4, 4.0)
    nps_per_point: tuple[float, ...] = (14.0, 0.0, 0.0, 5.0)
    repeat_window_days: float = 7.0
    repeat_churn_ratio: float = 2.5


APP_RELEASE: Final = SatisfactionDrop()
KYC_DROP_OFF: Final = AbnormalDropOff()
CHANNEL_SWITCH: Final = HarmfulChannelSwitch()
#: Driver relations for the key-driver and churn pages (not one of the three planted problems).
DRIVERS: Final = PlantedDrivers()

#: The planted problems by name (read-only).
PLANTED_PROBLEMS: Final[Mapping[str, SatisfactionDrop | AbnormalDropOff | HarmfulChannelSwitch]] = MappingProxyType({
    "app_release_csat_drop": APP_RELEASE,
    "kyc_drop_off": KYC_DROP_OFF,
    "online_to_call_centre": CHANNEL_SWITCH,
})


@dataclass(frozen=True)
class DemoWindow:
    """The generated period: ``start`` ≤ events < ``end``; ``release`` is the app release."""

    start: datetime
    end: datetime
    release: datetime


def demo_window(seed: int) -> DemoWindow:
    """The fixed, seed-derived period (never today's date, so results are reproducible)."""
    end = _EPOCH_END + timedelta(days=seed % 365)
    return DemoWindow(start=end - timedelta(days=WINDOW_DAYS), end=end,
                      release=end - timedelta(days=APP_RELEASE.release_days_before_end))
