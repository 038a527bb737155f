"""fetch-tiles against a loopback HTTP server: complete, resumed, corrupted, missing."""

import base64
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from conftest import cli_main as main
from rasterio.transform import from_origin

from pipeline.io.fetch import FetchError, download
from pipeline.io.tiles import hansen_file_name, parse_tile_name, tile_name, tiles_for_bounds

VERSION = "GFC-2099-v9.9"


def tile_bytes(tmp_path: Path, layer: str, tile: str, value: int) -> bytes:
    """A small tiled GeoTIFF standing in for a Hansen tile (10 degrees in 300 pixels)."""
    path = tmp_path / f"src_{layer}_{tile}.tif"
    top, left = parse_tile_name(tile)
    arr = np.full((300, 300), value, dtype="uint8")
    prof = dict(
        driver="GTiff",
        width=300,
        height=300,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=from_origin(left, top, 10 / 300, 10 / 300),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    )
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(arr, 1)
    return path.read_bytes()


class TileServer:
    """Serves {path: bytes} on 127.0.0.1 with Range support and scripted faults."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.faults: dict[str, list[str]] = {}  # path -> faults to apply, one per request
        self.requests: list[tuple[str, str | None]] = []
        self.redirects: dict[str, str] = {}  # path (with its query) -> path it redirects to (307)
        self.keys: list[str | None] = []  # the x-api-key header of each request
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                server.keys.append(self.headers.get("x-api-key"))
                if self.path in server.redirects:
                    self.send_response(307)
                    self.send_header("Location", server.url + server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                fault = server.faults.get(self.path, []).pop(0) if server.faults.get(self.path) else None
                md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
                body = data
                if fault == "corrupt":
                    body = bytes(b ^ 0xFF if i == len(data) // 2 else b for i, b in enumerate(data))
                start, end = 0, len(data) - 1
                rng = self.headers.get("Range")
                if rng:
                    first, _, last = rng.split("=")[1].partition("-")
                    start = int(first)
                    end = min(int(last), len(data) - 1) if last else len(data) - 1
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(end + 1 - start))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("x-goog-hash", f"crc32c=AAAAAA==, md5={md5}")
                self.end_headers()
                chunk = body[start : end + 1]
                if fault == "interrupt":
                    self.wfile.write(chunk[: len(chunk) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    files = {}
    for tile in ("00N_080W", "10S_080W"):
        for layer, value in (("lossyear", 21), ("treecover2000", 90)):
            files[f"/{VERSION}/{hansen_file_name(VERSION, layer, tile)}"] = tile_bytes(tmp_path, layer, tile, value)
    with TileServer(files) as s:
        yield s


def test_tile_names_and_tiles_under_plots():
    assert tile_name(-10, -80) == "10S_080W" and tile_name(0, -80) == "00N_080W" and tile_name(20, 10) == "20N_010E"
    assert parse_tile_name("10S_070W") == (-10, -70)
    # the sample window (San Martín) lies in 00N_080W; a plot across 10 S spans two tiles
    assert tiles_for_bounds([[-76.75, -8.5, -76.25, -8.0]]) == ["00N_080W"]
    assert tiles_for_bounds([[-70.1, -10.1, -69.9, -9.9]]) == ["00N_080W", "00N_070W", "10S_080W", "10S_070W"]
    assert tiles_for_bounds([[np.nan] * 4]) == []


def test_download_complete_and_skip_when_present(server, tmp_path):
    url = server.url + f"/{VERSION}/{hansen_file_name(VERSION, 'lossyear', '00N_080W')}"
    dest = tmp_path / "out" / "t.tif"
    r = download(url, dest, backoff=0)
    assert r.status == "downloaded" and dest.read_bytes() == server.files[url[len(server.url) :]]
    assert not dest.with_name("t.tif.part").exists()
    assert download(url, dest, backoff=0).status == "present"
    assert len(server.requests) == 1


def test_an_interrupted_transfer_resumes_with_a_range_request(server, tmp_path):
    path = f"/{VERSION}/{hansen_file_name(VERSION, 'lossyear', '10S_080W')}"
    server.faults[path] = ["interrupt"]
    dest = tmp_path / "t.tif"
    r = download(server.url + path, dest, backoff=0)
    assert r.status == "downloaded" and r.attempts == 2
    assert dest.read_bytes() == server.files[path]
    assert server.requests[0][1] is None and server.requests[1][1].startswith("bytes=")
    assert int(server.requests[1][1].split("=")[1].rstrip("-")) > 0


def test_a_corrupted_transfer_is_detected_by_md5_and_fetched_again(server, tmp_path):
    path = f"/{VERSION}/{hansen_file_name(VERSION, 'treecover2000', '10S_080W')}"
    server.faults[path] = ["corrupt"]
    dest = tmp_path / "t.tif"
    r = download(server.url + path, dest, backoff=0)
    assert r.attempts == 2 and dest.read_bytes() == server.files[path]
    server.faults[path] = ["corrupt"] * 10
    bad = tmp_path / "bad.tif"
    with pytest.raises(FetchError, match="MD5 mismatch"):
        download(server.url + path, bad, retries=2, backoff=0)
    assert not bad.exists() and not bad.with_name("bad.tif.part").exists()


def test_a_missing_file_fails_at_once(server, tmp_path):
    with pytest.raises(FetchError, match="404"):
        download(server.url + "/nope.tif", tmp_path / "x.tif", backoff=0)
    assert len(server.requests) == 1


def test_fetch_tiles_command_downloads_only_missing_tiles(server, tmp_path, capsys):
    plots = gpd.GeoDataFrame(
        {"plot_id": ["a", "b"]},
        crs="EPSG:4326",
        geometry=[shapely.box(-76.5, -8.3, -76.49, -8.29), shapely.box(-76.5, -10.3, -76.49, -10.29)],
    )
    pp = tmp_path / "plots.gpkg"
    plots.to_file(pp)
    dest = tmp_path / "hansen"
    args = ["fetch-tiles", "--plots", str(pp), "--version", VERSION, "--dest", str(dest), "--base-url", server.url]
    assert main([*args, "--dry-run"]) == 0
    assert "2 tile(s), 4 file(s)" in capsys.readouterr().out and not dest.exists()
    assert main(args) == 0
    assert "4 downloaded" in capsys.readouterr().out
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        hansen_file_name(VERSION, layer, tile)
        for tile in ("00N_080W", "10S_080W")
        for layer in ("lossyear", "treecover2000")
    )
    n = len(server.requests)
    assert main(args) == 0
    assert "0 downloaded, 4 already present" in capsys.readouterr().out and len(server.requests) == n
    # the downloaded folder is directly usable as tiles for screening
    from pipeline.io.rasters import open_product

    product = open_product("hansen", loss_year=dest, tree_cover=dest)
    assert len(product.loss.tiles) == 2 and product.last_year == 2099
    assert main(["fetch-tiles", "--plots", str(pp), "--layers", "lossyear,bogus"]) == 2


def _serve_forever(files, port_queue):
    with TileServer(files) as srv:
        port_queue.put(srv.url)
        srv.thread.join()


def test_remote_tiles_are_read_directly_over_http(tmp_path):
    """Cloud-Optimized GeoTIFFs by URL: GDAL reads only the byte ranges it needs (/vsicurl/).

    The server runs in its own process: GDAL holds the GIL while it waits for the answer."""
    import multiprocessing as mp

    from pipeline.io.plots import normalise
    from pipeline.io.rasters import open_product
    from pipeline.stages.screening import screen_plots

    files = {
        f"/{VERSION}/{hansen_file_name(VERSION, layer, tile)}": tile_bytes(tmp_path, layer, tile, value)
        for tile in ("00N_080W", "10S_080W")
        for layer, value in (("lossyear", 21), ("treecover2000", 90))
    }
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_serve_forever, args=(files, q), daemon=True)
    proc.start()
    try:
        url = q.get(timeout=20)
        urls = {
            layer: [f"{url}/{VERSION}/{hansen_file_name(VERSION, layer, t)}" for t in ("00N_080W", "10S_080W")]
            for layer in ("lossyear", "treecover2000")
        }
        product = open_product("hansen", loss_year=urls["lossyear"], tree_cover=urls["treecover2000"])
        assert product.last_year == 2099 and len(product.loss.tiles) == 2
        plots = normalise(
            gpd.GeoDataFrame({"plot_id": ["a"]}, crs="EPSG:4326", geometry=[shapely.box(-76.5, -10.5, -76.0, -9.5)])
        )  # across both tiles
        row = screen_plots(plots, product).plots.iloc[0]
        assert row["data_coverage_pct"] == 100
        assert row["loss_total_ha"] == pytest.approx(row["forest_2000_ha"]) and row["loss_2021_ha"] > 0
    finally:
        proc.terminate()
        proc.join(5)


def test_fetch_tiles_of_gfw_alerts_and_of_a_url_template(tmp_path, capsys, monkeypatch):
    """GFW's Data API: /dataset/<dataset>/<version>/download/geotiff?grid=10/100000&tile_id=<tile>&
    pixel_meaning=date_conf answers with a redirect to the file; the key goes as x-api-key."""
    from pipeline.config import AlertDatasetConfig
    from pipeline.io.alerts import open_alert_product
    from pipeline.io.tiles import gfw_alert_file_name

    tiles = ("00N_080W", "10S_080W")
    files, redirects = {}, {}
    for version in ("latest", "v20250101"):
        for tile in tiles:
            stored = f"/lake/gfw_integrated_alerts/{version}/{tile}.tif"
            files[stored] = tile_bytes(tmp_path, f"alerts{version}", tile, 0)
            query = f"grid=10/100000&tile_id={tile}&pixel_meaning=date_conf"
            redirects[f"/dataset/gfw_integrated_alerts/{version}/download/geotiff?{query}"] = stored
    for tile in tiles:
        files[f"/mirror/alerts_{tile}.tif"] = tile_bytes(tmp_path, "mirror", tile, 0)
    plots = gpd.GeoDataFrame(
        {"plot_id": ["a", "b"]},
        crs="EPSG:4326",
        geometry=[shapely.box(-76.5, -8.3, -76.49, -8.29), shapely.box(-76.5, -10.3, -76.49, -10.29)],
    )
    pp = tmp_path / "plots.gpkg"
    plots.to_file(pp)
    dest = tmp_path / "alerts"
    with TileServer(files) as server:
        server.redirects = redirects
        monkeypatch.setenv("GFW_DATA_API_KEY", "k-123")
        args = ["fetch-tiles", "--plots", str(pp), "--product", "gfw_integrated", "--base-url", server.url]
        assert main([*args, "--dest", str(dest), "--dry-run"]) == 0
        assert "2 tile(s), 2 file(s)" in capsys.readouterr().out and not dest.exists()
        assert main([*args, "--dest", str(dest)]) == 0
        assert "2 downloaded" in capsys.readouterr().out
        assert sorted(p.name for p in dest.iterdir()) == [
            gfw_alert_file_name("gfw_integrated_alerts", "latest", t) for t in tiles
        ]
        # the key goes to the API, not along its redirect to where the file is stored
        sent = {path.startswith("/dataset/"): set() for path, _ in server.requests}
        for (path, _), key in zip(server.requests, server.keys):
            sent[path.startswith("/dataset/")].add(key)
        assert sent == {True: {"k-123"}, False: {None}}
        # 'latest' changes daily: every run downloads it again; a dated version is kept once there
        n = len(server.requests)
        assert main([*args, "--dest", str(dest)]) == 0 and "2 downloaded" in capsys.readouterr().out
        assert len(server.requests) == n + 4  # two redirects, two files
        dated = tmp_path / "dated"
        assert main([*args, "--version", "v20250101", "--dest", str(dated)]) == 0
        n = len(server.requests)
        assert main([*args, "--version", "v20250101", "--dest", str(dated)]) == 0
        assert "0 downloaded, 2 already present" in capsys.readouterr().out and len(server.requests) == n
        # any product tiled the same way, from a URL template
        mirror = tmp_path / "mirror"
        tpl = server.url + "/mirror/alerts_{tile}.tif"
        assert main(["fetch-tiles", "--plots", str(pp), "--url-template", tpl, "--dest", str(mirror)]) == 0
        assert sorted(p.name for p in mirror.iterdir()) == [f"alerts_{t}.tif" for t in tiles]
        assert main(["fetch-tiles", "--plots", str(pp), "--url-template", server.url + "/a.tif"]) == 2
    # the folder opens as an alert product
    product = open_alert_product("gfw_integrated", AlertDatasetConfig(kind="alerts", alerts=str(dest)))
    assert len(product.alerts.tiles) == 2


def test_fetch_tiles_of_gfc2020_by_the_jrc_names(tmp_path, capsys):
    """GFC2020's tiles are the same 10° squares, named hemisphere first without padding."""
    from pipeline.io.tiles import jrc_tile_name

    assert [jrc_tile_name(t) for t in ("10S_080W", "00N_080W", "10N_010E", "80N_180W")] == [
        "S10_W80",
        "N0_W80",
        "N10_E10",
        "N80_W180",
    ]
    files = {
        f"/gfc/JRC_GFC2020_V3_{jrc_tile_name(t)}.tif": tile_bytes(tmp_path, "gfc", t, 0)
        for t in ("00N_080W", "10S_080W")
    }
    plots = gpd.GeoDataFrame(
        {"plot_id": ["a", "b"]},
        crs="EPSG:4326",
        geometry=[shapely.box(-76.5, -8.3, -76.49, -8.29), shapely.box(-76.5, -10.3, -76.49, -10.29)],
    )
    pp = tmp_path / "plots.gpkg"
    plots.to_file(pp)
    dest = tmp_path / "gfc2020"
    with TileServer(files) as server:
        args = ["fetch-tiles", "--plots", str(pp), "--product", "gfc2020", "--base-url", server.url + "/gfc"]
        assert main([*args, "--dest", str(dest)]) == 0
        assert "2 downloaded" in capsys.readouterr().out
    assert sorted(p.name for p in dest.iterdir()) == ["JRC_GFC2020_V3_N0_W80.tif", "JRC_GFC2020_V3_S10_W80.tif"]
