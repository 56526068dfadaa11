"""What the demo bank is made of: stages, channels, touchpoints and customer attributes.

This catalogue is the generator's single source of truth for *behaviour* (survey rates,
baseline satisfaction, comment themes). The shipped ``bank.journey.yaml`` describes the same
touchpoints as a journey definition; a test keeps the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

STAGES: Final[tuple[str, ...]] = (
    "awareness", "consideration", "onboarding", "usage", "service", "renewal", "departure",
)

ONLINE_CHANNELS: Final[tuple[str, ...]] = ("web", "app", "email", "chat", "social")
OFFLINE_CHANNELS: Final[tuple[str, ...]] = ("branch", "call_centre", "atm", "post", "tv")
CHANNELS: Final[tuple[str, ...]] = ONLINE_CHANNELS + OFFLINE_CHANNELS

CATEGORIES: Final[tuple[str, ...]] = ("brand-owned", "partner-owned", "customer-owned", "social/external")


@dataclass(frozen=True)
class Touchpoint:
    """One touchpoint of the demo bank and how customers experience it.

    ``csat_mean`` is the mean CSAT (1-5) its surveys are drawn around, ``ces_mean`` the mean
    CES (1-7, higher = easier; None = not asked), ``survey_rate`` the share of its events that
    trigger an answered survey, ``theme`` the comment theme (see :mod:`.comments`).
    """

    name: str
    stage: str
    channel: str
    category: str
    owner: str
    critical: bool = False
    survey_rate: float = 0.0
    csat_mean: float = 4.1
    ces_mean: float | None = None
    theme: str = "general"


TOUCHPOINTS: Final[tuple[Touchpoint, ...]] = (
    # awareness
    Touchpoint("Saw TV ad", "awareness", "tv", "brand-owned", "Marketing"),
    Touchpoint("Paid search ad", "awareness", "web", "brand-owned", "Marketing"),
    Touchpoint("Social media post", "awareness", "social", "social/external", "Marketing"),
    Touchpoint("Friend referral", "awareness", "social", "customer-owned", "Marketing"),
    # consideration
    Touchpoint("Comparison site visit", "consideration", "web", "partner-owned", "Partnerships"),
    Touchpoint("Partner broker meeting", "consideration", "branch", "partner-owned", "Partnerships"),
    Touchpoint("Website product page", "consideration", "web", "brand-owned", "Digital"),
    Touchpoint("Savings rate calculator", "consideration", "web", "brand-owned", "Digital"),
    Touchpoint("Read online reviews", "consideration", "web", "social/external", "Marketing"),
    Touchpoint("Branch appointment", "consideration", "branch", "brand-owned", "Branch network",
               survey_rate=0.12, csat_mean=4.4, theme="staff"),
    Touchpoint("Brochure by post", "consideration", "post", "brand-owned", "Marketing"),
    # onboarding
    Touchpoint("Open account online", "onboarding", "web", "brand-owned", "Digital", True,
               survey_rate=0.12, csat_mean=4.1, ces_mean=5.2, theme="onboarding"),
    Touchpoint("KYC document upload", "onboarding", "app", "brand-owned", "Onboarding", True,
               survey_rate=0.12, csat_mean=3.4, ces_mean=3.6, theme="kyc"),
    Touchpoint("Account approved", "onboarding", "email", "brand-owned", "Onboarding", True),
    Touchpoint("Open account in branch", "onboarding", "branch", "brand-owned", "Branch network", True,
               survey_rate=0.12, csat_mean=4.4, ces_mean=5.4, theme="staff"),
    Touchpoint("ID check in branch", "onboarding", "branch", "brand-owned", "Branch network"),
    Touchpoint("Card dispatched", "onboarding", "email", "brand-owned", "Cards", theme="card"),
    Touchpoint("Card delivered", "onboarding", "post", "brand-owned", "Cards", theme="card"),
    Touchpoint("Card activation", "onboarding", "app", "brand-owned", "Cards", True,
               survey_rate=0.10, csat_mean=4.2, theme="card"),
    Touchpoint("PIN set at ATM", "onboarding", "atm", "brand-owned", "Cards", theme="card"),
    # usage
    Touchpoint("Mobile app login", "usage", "app", "brand-owned", "Digital", True,
               survey_rate=0.025, csat_mean=4.3, theme="app"),
    Touchpoint("Online banking login", "usage", "web", "brand-owned", "Digital",
               survey_rate=0.03, csat_mean=4.1, theme="general"),
    Touchpoint("Transfer", "usage", "app", "brand-owned", "Payments",
               survey_rate=0.03, csat_mean=4.3, theme="app"),
    Touchpoint("Bill payment", "usage", "web", "brand-owned", "Payments"),
    Touchpoint("ATM withdrawal", "usage", "atm", "brand-owned", "Cards"),
    Touchpoint("Branch cash deposit", "usage", "branch", "brand-owned", "Branch network",
               survey_rate=0.05, csat_mean=4.2, theme="staff"),
    Touchpoint("Statement by post", "usage", "post", "brand-owned", "Operations"),
    Touchpoint("Budgeting app connected", "usage", "app", "customer-owned", "Open banking"),
    # service
    Touchpoint("Help centre search", "service", "web", "brand-owned", "Digital"),
    Touchpoint("Chat: dispute", "service", "chat", "brand-owned", "Customer service", True,
               survey_rate=0.15, csat_mean=3.8, ces_mean=4.6, theme="dispute"),
    Touchpoint("Call centre: card issue", "service", "call_centre", "brand-owned", "Customer service", True,
               survey_rate=0.15, csat_mean=3.7, ces_mean=4.4, theme="wait"),
    Touchpoint("Call centre: fees query", "service", "call_centre", "brand-owned", "Customer service", True,
               survey_rate=0.15, csat_mean=3.3, ces_mean=4.2, theme="fees"),
    Touchpoint("Branch service visit", "service", "branch", "brand-owned", "Branch network",
               survey_rate=0.12, csat_mean=4.3, ces_mean=5.4, theme="staff"),
    Touchpoint("Complaint", "service", "call_centre", "brand-owned", "Complaints", True,
               survey_rate=0.20, csat_mean=2.6, ces_mean=3.2, theme="complaint"),
    # renewal
    Touchpoint("Renewal offer", "renewal", "email", "brand-owned", "Retention",
               survey_rate=0.08, csat_mean=3.9, theme="offer"),
    Touchpoint("Plan upgrade", "renewal", "app", "brand-owned", "Retention"),
    Touchpoint("Renewal call", "renewal", "call_centre", "brand-owned", "Retention"),
    # departure
    Touchpoint("Account closure request", "departure", "call_centre", "brand-owned", "Retention", True,
               survey_rate=0.30, csat_mean=2.9, theme="closure"),
    Touchpoint("Account closed", "departure", "post", "brand-owned", "Operations", True),
)

#: Touchpoint name → position in :data:`TOUCHPOINTS` (the integer code used while generating).
TP: Final[dict[str, int]] = {tp.name: i for i, tp in enumerate(TOUCHPOINTS)}
#: Channel name → position in :data:`CHANNELS`.
CH: Final[dict[str, int]] = {name: i for i, name in enumerate(CHANNELS)}

#: Stage targets written into the journey definition: CSAT as a top-2-box share, NPS on
#: -100..100, CES as the mean on 1-7.
TARGETS: Final[dict[str, dict[str, float]]] = {
    "awareness": {"csat": 0.80, "nps": 20.0, "ces": 5.0},
    "consideration": {"csat": 0.80, "nps": 20.0, "ces": 5.0},
    "onboarding": {"csat": 0.80, "nps": 25.0, "ces": 5.0},
    "usage": {"csat": 0.85, "nps": 25.0, "ces": 5.5},
    "service": {"csat": 0.75, "nps": 10.0, "ces": 5.0},
    "renewal": {"csat": 0.75, "nps": 20.0, "ces": 5.0},
    "departure": {"csat": 0.50, "nps": 0.0, "ces": 4.5},
}

# --- customers ------------------------------------------------------------------------
MICRO_JOURNEYS: Final[tuple[str, ...]] = ("online", "branch", "blended")
MICRO_JOURNEY_SHARES: Final[tuple[float, ...]] = (0.45, 0.20, 0.35)

SEGMENTS: Final[tuple[str, ...]] = ("mass", "affluent", "business", "student")
SEGMENT_SHARES: Final[tuple[float, ...]] = (0.55, 0.18, 0.12, 0.15)
#: Mean annual value (GBP) per segment; individual values are log-normal around it.
SEGMENT_VALUE_GBP: Final[tuple[float, ...]] = (180.0, 900.0, 1400.0, 60.0)
#: Relative churn propensity per segment.
SEGMENT_CHURN: Final[tuple[float, ...]] = (1.0, 0.7, 0.8, 1.5)

REGIONS: Final[tuple[str, ...]] = (
    "London", "South East", "South West", "East of England", "Midlands", "North West",
    "North East", "Yorkshire", "Scotland", "Wales", "Northern Ireland",
)
REGION_SHARES: Final[tuple[float, ...]] = (0.17, 0.14, 0.08, 0.09, 0.15, 0.11, 0.04, 0.08, 0.08, 0.04, 0.02)

PLANS: Final[tuple[str, ...]] = ("basic", "plus", "premium")
PLAN_SHARES: Final[tuple[float, ...]] = (0.60, 0.28, 0.12)
PLAN_CHURN: Final[tuple[float, ...]] = (1.2, 0.9, 0.6)

ACQUISITION_CHANNELS: Final[tuple[str, ...]] = (
    "paid_search", "social", "tv", "comparison_site", "referral", "branch_walk_in",
)
#: Acquisition-channel shares per micro-journey (rows follow :data:`MICRO_JOURNEYS`).
ACQUISITION_SHARES: Final[tuple[tuple[float, ...], ...]] = (
    (0.38, 0.25, 0.00, 0.25, 0.12, 0.00),  # online (a TV ad would be an offline touch)
    (0.00, 0.00, 0.45, 0.00, 0.00, 0.55),  # branch
    (0.22, 0.12, 0.18, 0.18, 0.12, 0.18),  # blended
)
#: The awareness touchpoint each acquisition channel produces (None: no tracked awareness).
ACQUISITION_TOUCHPOINT: Final[tuple[str | None, ...]] = (
    "Paid search ad", "Social media post", "Saw TV ad", "Comparison site visit", "Friend referral", None,
)
