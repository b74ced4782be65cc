"""What the gateway's configuration models share: the frozen base and the common field types.

Every section model derives from :class:`_Frozen`, so a parsed file cannot be changed later
and an unknown key is refused rather than ignored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MeterKind = Literal["water_m3", "electricity_kwh", "gas_m3"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
