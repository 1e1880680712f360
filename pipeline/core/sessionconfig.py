"""A session of system-config.json (`sessions[]`; DESIGN: strategy sessions): what it backs,
on which market, its bounds, staking plan (core/plans.py), bankroll, limits and review.
Loaded as part of a `Config` (core/config.py, which re-exports every name here)."""
from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from pipeline.core.configmodel import StrictModel
from pipeline.core.plans import Staking

Selection = Literal["home", "draw", "away", "favourite", "underdog", "over", "under", "value"]
# markets (DESIGN: markets → session keys): the selections a session of each market may name
Market = Literal["1X2", "AH", "OU"]
MARKET_SELECTIONS: dict[str, tuple[str, ...]] = {
    "1X2": ("home", "draw", "away", "favourite", "underdog", "value"),  # value: issue 18
    "AH": ("home", "away", "favourite", "underdog"),
    "OU": ("over", "under"),
}
# value on AH and OU (issue 18): each side of the session's line priced by the model's goals,
# a reference's same line or the market's own two prices (strategies/value)
MARKET_SELECTIONS["AH"] += ("value",)
MARKET_SELECTIONS["OU"] += ("value",)


class _Bounds(StrictModel):
    """`min` and `max` (each optional), refused when min > max."""
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class OddsBounds(_Bounds):
    min: float | None = Field(default=None, gt=1)
    max: float | None = Field(default=None, gt=1)


class LineBounds(_Bounds):
    """A session's `line: {"min", "max"}`: inclusive bounds on the AH home line or OU goals."""


class Window(StrictModel):
    from_minutes: float | None = Field(default=None, ge=0)
    to_minutes: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _ordered(self):
        if self.from_minutes is not None and self.from_minutes < self.to_minutes:
            raise ValueError(f"from_minutes {self.from_minutes} is less than to_minutes "
                             f"{self.to_minutes} (the window opens before it closes)")
        return self


class Limits(StrictModel):
    max_bets: int | None = Field(default=None, ge=1)
    max_stake: float | None = Field(default=None, gt=0)
    max_open_bets: int | None = Field(default=None, ge=1)
    max_exposure_match: float | None = Field(default=None, gt=0)
    max_exposure_session: float | None = Field(default=None, gt=0)
    daily_loss: float | None = Field(default=None, gt=0)
    stop_loss: float | None = Field(default=None, gt=0)
    take_profit: float | None = Field(default=None, gt=0)
    max_duration_h: float | None = Field(default=None, gt=0)


# ---- value sessions (issue 18; DESIGN: "Probabilities, models and value")
# margin removal methods: the names of strategies/implied.METHODS (tests/core/test_config ties them)
ImpliedMethod = Literal["multiplicative", "additive", "power", "shin", "odds_ratio"]


class Probability(StrictModel):
    """Where a session's probabilities come from: `{"from": "market", "method": M}` (the
    margin-free price itself), `{"from": "model"}` (data/probabilities.json) or, in CSV
    backtests only, `{"from": "reference", "odds": SOURCE, "method": M}` (another bookmaker's
    columns of the same file)."""
    model_config = ConfigDict(populate_by_name=True)
    source: Literal["market", "model", "reference"] = Field(alias="from")
    method: ImpliedMethod = "multiplicative"
    odds: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _reference_odds(self):
        if self.source == "reference" and self.odds is None:
            raise ValueError("from 'reference' needs 'odds' (the reference source, e.g. pinnacle)")
        if self.source != "reference" and self.odds is not None:
            raise ValueError(f"'odds' is only for from 'reference' (not {self.source!r})")
        return self


def _check_value_session(session) -> None:
    """selection 'value' needs a probability source (any market: issue 18)."""
    if session.selection == "value" and session.probability is None:
        raise ValueError("selection 'value' needs 'probability' (e.g. {\"from\": \"model\"})")


class Review(StrictModel):
    """`review` (DESIGN: research): once a session has `after_bets` settled non-void bets since
    its reset and their ROI (profit / staked) is below `min_roi`, it halts with reason review."""
    after_bets: int = Field(ge=1)
    min_roi: float = Field(ge=-1)


class Session(StrictModel):
    id: str = Field(min_length=1, max_length=80, pattern=r"^[^|\s][^|]*$")
    enabled: bool = True
    category: str = "football"
    competitions: list[str] | None = None
    market: Market = "1X2"
    selection: Selection
    line: LineBounds | None = None
    odds: OddsBounds = OddsBounds()
    window: Window = Window()
    slippage: float = Field(default=0.02, ge=0, lt=1)
    staking: Staking
    bankroll: float = Field(default=1000, gt=0)
    limits: Limits = Limits()
    review: Review | None = None
    # value sessions (issue 18)
    probability: Probability | None = None
    min_edge: float = Field(default=0.02, ge=-1)
    max_probability_age_h: float = Field(default=24, gt=0)

    @model_validator(mode="after")
    def _value(self):
        _check_value_session(self)
        return self

    @field_validator("selection")
    @classmethod
    def _selection_fits_market(cls, selection: str, info: ValidationInfo) -> str:
        market = info.data.get("market", "1X2")
        if selection not in MARKET_SELECTIONS.get(market, ()):
            raise ValueError(f"selection {selection!r} does not fit market {market!r} "
                             f"(one of {', '.join(MARKET_SELECTIONS[market])})")
        return selection

    @field_validator("line")
    @classmethod
    def _line_needs_market(cls, line: LineBounds | None, info: ValidationInfo):
        market = info.data.get("market", "1X2")
        if line is not None and market == "1X2":
            raise ValueError("market '1X2' has no line; line bounds are for AH and OU")
        return line
