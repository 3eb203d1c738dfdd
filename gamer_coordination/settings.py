"""The ``[gamer_coordination]`` settings table, validated at the edge (pydantic, extra="forbid")."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class GamerSettings(BaseModel):
    """What a deployment may tell GAMER coordination.

    ``tile_url`` is a Leaflet URL template (``https://tiles.example/{z}/{x}/{y}.png``); with
    none, the map draws the province and district boundaries alone. ``report_every_s``
    turns on scheduled situation reports written under ``report_dir``.
    ``closed_retention`` concluded incidents stay on the map; reports count the ones no
    longer held for ``report_history_days`` (see ``periods``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tile_url: str | None = Field(default=None, max_length=500)
    tile_attribution: str = Field(default="", max_length=500)
    provinces_geojson: Path | None = None
    spike_bucket_s: float = Field(default=60.0, gt=0, le=3600)
    spike_alpha: float = Field(default=0.1, gt=0, le=1)
    spike_factor: float = Field(default=5.0, ge=1)
    spike_min_count: int = Field(default=10, ge=1)
    spike_floor: float = Field(default=1.0, gt=0)
    closed_retention: int = Field(default=500, ge=0)
    report_history_days: int = Field(default=62, ge=1, le=3660)
    stream_max_pending: int = Field(default=20_000, ge=16)
    stream_coalesce_ms: float = Field(default=50.0, ge=0, le=5000)
    stream_summary_interval_s: float = Field(default=1.0, ge=0, le=60)
    tick_s: float = Field(default=5.0, gt=0)
    report_every_s: float | None = Field(default=None, gt=0)
    report_period_s: float = Field(default=24 * 3600.0, gt=0)
    report_provinces: tuple[int, ...] = ()
    report_dir: Path = Path("var/reports")
    push_max_text: int = Field(default=2000, ge=1, le=20_000)
    push_retry_s: float = Field(default=30.0, gt=0)
