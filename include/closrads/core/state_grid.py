"""The US states as a tile grid: one square per state (and DC), placed roughly where the state lies.

The operator's map (issue "operator's picture") draws demand and targeting on it. A tile grid needs no
map tiles, shapes or scripts from the internet, gives every state the same size (Rhode Island is as
readable as Texas), and fits a text label in every tile, so the map stays readable without colour.
"""

from __future__ import annotations

from dataclasses import dataclass

# Row by row, west to east: (row, column, USPS code). Rows 0-7, columns 0-11.
_LAYOUT = """
0 0 AK | 0 11 ME
1 10 VT | 1 11 NH
2 1 WA | 2 2 ID | 2 3 MT | 2 4 ND | 2 5 MN | 2 6 IL | 2 7 WI | 2 8 MI | 2 9 NY | 2 10 RI | 2 11 MA
3 1 OR | 3 2 NV | 3 3 WY | 3 4 SD | 3 5 IA | 3 6 IN | 3 7 OH | 3 8 PA | 3 9 NJ | 3 10 CT
4 1 CA | 4 2 UT | 4 3 CO | 4 4 NE | 4 5 MO | 4 6 KY | 4 7 WV | 4 8 VA | 4 9 MD | 4 10 DE
5 2 AZ | 5 3 NM | 5 4 KS | 5 5 AR | 5 6 TN | 5 7 NC | 5 8 SC | 5 9 DC
6 4 OK | 6 5 LA | 6 6 MS | 6 7 AL | 6 8 GA
7 0 HI | 7 4 TX | 7 9 FL
"""
ROWS, COLUMNS = 8, 12


@dataclass(frozen=True)
class Tile:
    code: str  # USPS
    row: int
    column: int


def _tiles() -> tuple[Tile, ...]:
    tiles = []
    for line in _LAYOUT.strip().splitlines():
        for cell in line.split("|"):
            row, column, code = cell.split()
            tiles.append(Tile(code, int(row), int(column)))
    return tuple(sorted(tiles, key=lambda tile: (tile.row, tile.column)))


TILES = _tiles()
