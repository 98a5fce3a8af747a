"""Great-circle distances and a coarse latitude/longitude grid for "who is within commuting range".

Imports the standard library only.
"""

import math
from collections import defaultdict

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG)."""
_KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


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
