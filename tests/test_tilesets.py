"""Large tile sets: indexed by Hansen names (or a cached header index) without opening every file;
only the tiles under the plots are opened and checked."""

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from conftest import cli_main as main
from conftest import write_raster

from pipeline.io import layers, rasters
from pipeline.io.plots import normalise
from pipeline.io.rasters import INDEX_NAME, open_layer, open_product
from pipeline.io.tiles import tile_name
from pipeline.stages.screening import screen_plots

PX = 0.1  # 10-degree tiles of 100 x 100 pixels
VERSION = "GFC-2024-v1.12"
UNDER = ("00N_080W", "10S_080W")  # the tiles under the plots


def hansen_file(layer: str, tile: str) -> str:
    return f"Hansen_{VERSION}_{layer}_{tile}.tif"


def write_tile(folder, layer, tile, seed):
    from pipeline.io.tiles import parse_tile_name

    top, left = parse_tile_name(tile)
    rng = np.random.default_rng(seed)
    arr = (
        rng.choice([0, 0, 0, 5, 21, 23], (100, 100)) if layer == "lossyear" else rng.integers(0, 101, (100, 100))
    ).astype("uint8")
    return write_raster(folder / hansen_file(layer, tile), arr, x0=left, y0=top, px=PX)


@pytest.fixture(scope="module")
def tilesets(tmp_path_factory):
    """``all``: the 504 Hansen tiles of each layer, of which only two are real rasters (the rest are
    not rasters at all: opening one fails); ``two``: just the two real tiles."""
    root = tmp_path_factory.mktemp("tilesets")
    every, two = root / "all", root / "two"
    every.mkdir()
    two.mkdir()
    names = [tile_name(top, left) for top in range(80, -60, -10) for left in range(-180, 180, 10)]
    assert len(names) == 504
    for layer in ("lossyear", "treecover2000"):
        for k, t in enumerate(names):
            if t in UNDER:
                write_tile(every, layer, t, seed=k)
                write_tile(two, layer, t, seed=k)
            else:
                (every / hansen_file(layer, t)).write_bytes(b"not a GeoTIFF: opening this tile would fail")
    return every, two


def plots():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-79.5, -70.5, 60), rng.uniform(-19, -1, 60)
    geoms = [shapely.box(a, b, a + 0.25, b + 0.17) for a, b in zip(x, y)]
    geoms.append(shapely.box(-75, -10.2, -74.6, -9.8))  # across both tiles
    return normalise(
        gpd.GeoDataFrame({"plot_id": [f"p{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4326")
    )


def test_a_folder_of_504_tiles_opens_only_the_tiles_under_the_plots(tilesets):
    every, two = tilesets
    product = open_product("hansen", loss_year=every, tree_cover=every)
    assert len(product.loss.tiles) == 504 and product.loss.lazy
    assert product.last_year == 2024  # from the names
    assert product.bounds == pytest.approx((-180, -60, 180, 80))
    p = plots()
    b = shapely.bounds(p.geometry.to_numpy())
    assert len(product.require(b)) == 4  # two tiles of each layer, and nothing else opened
    got = screen_plots(p, product).plots
    want = screen_plots(p, open_product("hansen", loss_year=two, tree_cover=two)).plots
    cols = [c for c in want.columns if c not in ("geometry", "screen_key", "row_digest")]
    assert got[cols].equals(want[cols])
    assert (got["data_coverage_pct"] == 100).all() and (got["loss_total_ha"] > 0).sum() > 30


def test_the_command_line_screens_against_the_504_tile_folder(tilesets, tmp_path):
    every, two = tilesets
    src = tmp_path / "plots.gpkg"
    pyogrio.write_dataframe(plots(), src, layer="plots")
    for name, folder in (("all", every), ("two", two)):
        args = ["-q", "screen", "--plots", str(src), "--loss-year", str(folder), "--tree-cover", str(folder)]
        assert main([*args, "--out", str(tmp_path / f"{name}.gpkg")]) == 0
    a = pyogrio.read_dataframe(tmp_path / "all.gpkg", layer="plots", read_geometry=False)
    b = pyogrio.read_dataframe(tmp_path / "two.gpkg", layer="plots", read_geometry=False)
    assert a.drop(columns=["screen_key", "row_digest"]).equals(b.drop(columns=["screen_key", "row_digest"]))


def test_a_tile_under_the_plots_that_is_not_what_its_name_says_is_refused(tilesets, tmp_path):
    every, _ = tilesets
    folder = tmp_path / "tiles"
    folder.mkdir()
    for f in every.glob("*lossyear*"):
        (folder / f.name).symlink_to(f)
    wrong = folder / hansen_file("lossyear", "10S_080W")
    wrong.unlink()
    write_raster(wrong, np.zeros((100, 100), "uint8"), x0=-80, y0=10, px=PX)  # 10N's extent under 10S's name
    product = open_product("loss", kind="loss_year", loss_year=folder)
    with pytest.raises(
        rasters.RasterError,
        match=r"10S_080W\.tif: the loss-year tile covers rows -100\.\.0, .* its Hansen tile name says",
    ):
        product.require([(-75, -15, -74, -14)])
    corrupt = folder / hansen_file("lossyear", "20S_080W")
    with pytest.raises(rasters.RasterError, match="20S_080W.tif: cannot read"):
        product.loss.read(200, 0, 10, 10)  # a window over a tile that is not a raster: refused on first use
    assert corrupt.is_symlink()


def test_headers_of_other_tile_sets_are_cached_in_a_small_index(tmp_path, monkeypatch):
    folder = tmp_path / "geobosques"
    folder.mkdir()
    for i in range(3):
        for j in range(4):
            arr = np.full((20, 20), 10 * i + j, "uint8")
            write_raster(folder / f"defor_{i}_{j}.tif", arr, x0=-78 + j * 20 * PX, y0=-5 - i * 20 * PX, px=PX)
    opened = []
    real = rasters._open_header
    monkeypatch.setattr(layers, "_open_header", lambda path, role: opened.append(path) or real(path, role))
    first = open_layer(folder, "loss-year")
    assert len(opened) == 12 and (folder / INDEX_NAME).exists() and not first.lazy
    opened.clear()
    again = open_layer(folder, "loss-year")
    assert opened == [] and again.lazy and again.tiles == first.tiles
    rasters._VERIFIED.clear()  # as in a new process
    window = again.read(25, 45, 10, 10)  # rows 25-35, cols 45-55: tile (1, 2), opened and checked on use
    assert (window == 12).all() and [p.rsplit("/", 1)[-1] for p in opened] == ["defor_1_2.tif"]
    opened.clear()
    (folder / "defor_2_3.tif").write_bytes((folder / "defor_2_3.tif").read_bytes())  # a new modification time
    open_layer(folder, "loss-year")
    assert [p.rsplit("/", 1)[-1] for p in opened] == ["defor_2_3.tif"]


def test_a_folder_on_object_storage_is_listed_by_gdal(monkeypatch):
    """``/vsis3/bucket/tiles/`` (or a glob there) is listed through GDAL; the layer keeps its files."""
    import pyogrio

    listing = [f"/vsis3/b/t/{hansen_file(layer, t)}" for layer in ("lossyear", "treecover2000") for t in UNDER]
    listing += ["/vsis3/b/t/README.txt", "/vsis3/b/t/sub/"]
    monkeypatch.setattr(pyogrio, "vsi_listtree", lambda path, pattern=None: listing if path == "/vsis3/b/t" else [])
    assert rasters.expand_sources("/vsis3/b/t/", "loss-year") == sorted(listing[:2])
    assert rasters.expand_sources("/vsis3/b/t/*10S*", "tree-cover") == [listing[3]]
    with pytest.raises(rasters.RasterError, match="no raster files"):
        rasters.expand_sources("/vsis3/b/other/", "loss-year")
    assert rasters.expand_sources("/vsis3/b/t/one.tif", "loss-year") == ["/vsis3/b/t/one.tif"]
