"""The benchmark inputs (bench/generate.py) at a toy size: deterministic, in the promised format, and
screened by cacao-screen to exactextract's figures by the benchmark's own contender code.
(Speed and memory are measured by `make bench`, never here.)"""

import numpy as np
import pytest
import rasterio
import shapely

from bench.contenders import run_cacao, run_exactextract
from bench.generate import PX, TILE_X0, TILE_Y0, RasterSpec, ensure_plots, ensure_rasters, make_plots
from pipeline.engine.geodesy import geodesic_areas

SPEC = RasterSpec(size=1100, seed=7)  # three block rows, the last one partial


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-data")
    rasters = ensure_rasters(SPEC, strips=True, root=root, workers=1, log=None)
    return root, rasters


def read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.profile, src.block_shapes


def test_rasters_have_the_hansen_format_and_plausible_values(toy):
    _, rasters = toy
    loss, prof, blocks = read(rasters["tiled"].loss_year)
    cover, cprof, _ = read(rasters["tiled"].tree_cover)
    for p in (prof, cprof):
        assert (p["dtype"], p["width"], p["height"], p["nodata"]) == ("uint8", 1100, 1100, None)
        assert p["crs"] == "EPSG:4326" and p["compress"] == "deflate" and p["tiled"]
        assert (p["blockxsize"], p["blockysize"]) == (512, 512)
        assert p["transform"].almost_equals(rasterio.transform.from_origin(TILE_X0, TILE_Y0, PX, PX))
    assert loss.max() <= 24 and cover.max() <= 100
    assert 0.02 < (loss > 0).mean() < 0.15  # some loss, clustered in patches...
    assert len(np.unique(loss)) == 25  # ...of every year
    assert ((loss > 0) & (cover <= 10)).any()  # and some that is not forest loss
    assert 0.5 < (cover > 10).mean() < 0.98
    # clustered, not salt-and-pepper: a loss pixel's right neighbour is far more often loss than average
    lost = loss > 0
    assert (lost[:, 1:] & lost[:, :-1]).sum() / lost[:, :-1].sum() > 3 * lost.mean()


def test_the_strip_layout_holds_the_same_pixels(toy):
    _, rasters = toy
    for layer in ("loss_year", "tree_cover"):
        a, _, _ = read(getattr(rasters["tiled"], layer))
        b, prof, blocks = read(getattr(rasters["strips"], layer))
        assert np.array_equal(a, b)
        assert blocks == [(1, 1100)] and prof["compress"] == "lzw" and not prof.get("tiled")


def test_rasters_are_deterministic_whatever_the_number_of_processes(toy, tmp_path):
    _, rasters = toy
    again = ensure_rasters(SPEC, root=tmp_path, workers=2, log=None)["tiled"]
    for layer in ("loss_year", "tree_cover"):
        assert np.array_equal(read(getattr(rasters["tiled"], layer))[0], read(getattr(again, layer))[0])
    other = ensure_rasters(RasterSpec(size=1100, seed=8), root=tmp_path, workers=1, log=None)["tiled"]
    assert not np.array_equal(read(rasters["tiled"].loss_year)[0], read(other.loss_year)[0])


def test_plots_are_deterministic_valid_disjoint_and_cocoa_sized():
    a = make_plots(600, SPEC)
    b = make_plots(600, SPEC)
    assert np.array_equal(shapely.to_wkb(a.geometry.to_numpy()), shapely.to_wkb(b.geometry.to_numpy()))
    g = a.geometry.to_numpy()
    assert shapely.is_valid(g).all() and (shapely.get_type_id(g) == 3).all()
    vertices = shapely.get_num_coordinates(g) - 1
    assert vertices.min() == 6 and vertices.max() == 12
    hit, other = shapely.STRtree(g).query(g, predicate="intersects")
    assert (hit == other).all()  # nothing touches another plot
    ha = geodesic_areas(g) / 1e4
    assert ha.min() >= 0.45 and ha.max() <= 10 and 1 < np.median(ha) < 4
    minx, miny, maxx, maxy = shapely.total_bounds(g)
    west, south, east, north = SPEC.bounds
    assert west < minx and maxx < east and south < miny and maxy < north
    assert a["plot_id"].is_unique and 1 < a["cooperative"].nunique() < 100


def test_plots_are_cached_by_parameters(toy):
    root, _ = toy
    path = ensure_plots(300, SPEC, root=root, log=None)
    mtime = path.stat().st_mtime_ns
    assert ensure_plots(300, SPEC, root=root, log=None) == path and path.stat().st_mtime_ns == mtime
    assert ensure_plots(301, SPEC, root=root, log=None) != path


def test_the_benchmark_contenders_compute_the_same_figures(toy):
    root, rasters = toy
    plots = ensure_plots(300, SPEC, root=root, log=None)
    r = rasters["tiled"]
    _, _, forest, loss, _ = run_cacao(plots, r.loss_year, r.tree_cover, workers=1)
    _, _, ee_forest, ee_loss, _ = run_exactextract(str(plots), str(r.loss_year), str(r.tree_cover))
    assert forest.sum() > 100 and loss.sum() > 1  # hectares: real work was compared
    np.testing.assert_allclose(forest, ee_forest, atol=1e-6, rtol=0)
    np.testing.assert_allclose(loss, ee_loss, atol=1e-6, rtol=0)
