"""Centres: the 81 provincial 112 centres, named by plate code, and the central Ankara desk."""

from __future__ import annotations

from dispatch.model.ids import CentreId

#: The central desk in Ankara: foreign-language calls and eCalls arrive here first.
CENTRAL_DESK = CentreId("central")

#: Plate codes run from 01 (Adana) to 81 (Düzce).
PLATES = range(1, 82)


def provincial_centre(plate: int) -> CentreId:
    """The id of the 112 centre of the province with this plate code (``"34"`` for İstanbul)."""
    if plate not in PLATES:
        raise ValueError(f"plate code must be 1..81, got {plate}")
    return CentreId(f"{plate:02d}")


def centre_plate(centre: CentreId) -> int | None:
    """The plate code of a provincial centre, ``None`` for the central desk."""
    if centre == CENTRAL_DESK:
        return None
    return int(centre)


def is_known_centre(centre: str) -> bool:
    """Whether ``centre`` names one of the 82 centres."""
    if centre == CENTRAL_DESK:
        return True
    return len(centre) == 2 and centre.isdigit() and int(centre) in PLATES


ALL_CENTRES: tuple[CentreId, ...] = (CENTRAL_DESK, *(provincial_centre(p) for p in PLATES))
