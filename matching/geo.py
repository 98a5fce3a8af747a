"""Great-circle distances and a coarse latitude/longitude grid for "who is within commuting range".

Imports numpy and the standard library only.
"""

import math
from collections import defaultdict

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG)."""
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


def distances_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle (haversine) distances in kilometres, element by element: `distance_km` on
    arrays, except that numpy's SIMD sine and cosine may differ from the math module's in the
    last bit (they do on this AVX-512 machine); `commute_km` is the one to decide by."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    km: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return km


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres: the reference."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def commute_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray, limit: float
) -> FloatArray:
    """Distances to decide commutes by, against `limit`: `distances_km`, with `distance_km`
    (the reference) wherever a difference in the last bit could change a decision: within a
    metre of the limit (`within_km`) and within a nanometre of a whole km under it (the fit
    score's closeness counts whole km). Elsewhere the two differ by about 1e-13 km and decide
    alike; so every decision is the reference's, as the audit's one-pair check makes it."""
    km = distances_km(lat1, lon1, lat2, lon2)
    under = limit - km
    close = (np.abs(under) < 1e-3) | (np.abs(under - np.rint(under)) < 1e-9)
    for k in np.flatnonzero(close).tolist():
        km[k] = distance_km(float(lat1[k]), float(lon1[k]), float(lat2[k]), float(lon2[k]))
    return km


def within_km(km: FloatArray, limit: float) -> BoolArray:
    """`round(km, 3) <= limit` element by element: to the metre, so 50 km is 50 km.

    Decided by comparison away from the limit; within a metre of it by Python's `round`
    (correctly rounded, which numpy's `round` is not), so equal to the scalar rule everywhere.
    """
    out: BoolArray = km <= limit
    for k in np.flatnonzero(np.abs(km - limit) < 1e-3).tolist():
        out[k] = round(float(km[k]), 3) <= limit
    return out


class Grid:
    """Points in one-degree cells; `near` returns a superset of the points within `radius_km`."""

    def __init__(self, radius_km: float) -> None:
        self.radius_km = radius_km
        self._cells: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add(self, key: int, lat: float, lon: float) -> None:
        self._cells[(math.floor(lat), math.floor(lon))].append(key)

    def near(self, lat: float, lon: float) -> list[int]:
        reach = self.radius_km / _KM_PER_DEGREE
        widest = min(89.9, abs(lat) + reach)
        dlat = math.ceil(reach)
        dlon = min(180, math.ceil(reach / math.cos(math.radians(widest))))
        row, col = math.floor(lat), math.floor(lon)
        found: list[int] = []
        for r in range(row - dlat, row + dlat + 1):
            for c in range(col - dlon, col + dlon + 1):
                found.extend(self._cells.get((r, (c + 180) % 360 - 180), ()))
        return found
