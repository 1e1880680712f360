"""The base of every system-config.json model (core/config.py, core/sessionconfig.py,
core/plans.py): frozen, unknown keys refused, no type conversion."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    # strict: a value of the wrong JSON type is refused, never converted ("10" is not a stake,
    # "false" is not a boolean, 2.5 is not a count); a number may be written without a decimal
    # point. allow_inf_nan=False: no infinite or NaN amounts.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, strict=True)
