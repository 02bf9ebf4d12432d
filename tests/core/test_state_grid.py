"""The state tile grid covers exactly the states CLOSRADS maps, one tile each, inside the grid."""

from closrads.core.regions import load_region_keys
from closrads.core.state_grid import COLUMNS, ROWS, TILES


def test_every_state_and_dc_has_exactly_one_tile():
    assert sorted(tile.code for tile in TILES) == sorted(load_region_keys())
    assert len({(tile.row, tile.column) for tile in TILES}) == len(TILES) == 51


def test_tiles_lie_inside_the_grid_in_reading_order():
    assert all(0 <= tile.row < ROWS and 0 <= tile.column < COLUMNS for tile in TILES)
    assert list(TILES) == sorted(TILES, key=lambda tile: (tile.row, tile.column))
    west_to_east = {tile.code: tile.column for tile in TILES}
    assert west_to_east["CA"] < west_to_east["TX"] < west_to_east["FL"]
