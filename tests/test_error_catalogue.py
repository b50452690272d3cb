"""Issue 7's catalogue of bad inputs. Each case breaks one input of the tiny case after a good run
into the same folder, then reruns with --overwrite: the run must fail with the expected exit code
and a message naming the file or key and the fix, leave the previous results byte-identical, and
leave no temporary folder behind."""

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml

from conftest import TINY_CODES, TINY_TRANSFORM, tiny_case, write_tif
from pipeline.cli import main
from pipeline.grid import CHINA_ALBERS


def _edit_config(case: Path, fn):
    cfg = case / "config.yaml"
    data = yaml.safe_load(cfg.read_text())
    fn(data)
    cfg.write_text(yaml.safe_dump(data))


def _add_flux(case: Path, arr: np.ndarray, units="g C m-2 yr-1", **kw):
    write_tif(case / "nep.tif", arr, **kw)

    def edit(d):
        d["fluxes"] = {"nep": {"path": "nep.tif", "units": units, "sign": "uptake_positive"}}
        d["sinks"]["terrestrial"] = {"method": "flux", "flux": "nep"}
    _edit_config(case, edit)


def _regions(case: Path, geoms, names, crs=CHINA_ALBERS):
    gdf = gpd.GeoDataFrame({"code": list(range(1, len(geoms) + 1)), "name": names}, geometry=geoms, crs=crs)
    path = case / "regions.gpkg"
    path.unlink()
    gdf.to_file(path, layer="regions", driver="GPKG")


def missing_file(case):
    _edit_config(case, lambda d: d["landcover"].update(path="nope/landcover.tif"))


def not_a_raster(case):
    (case / "landcover.tif").write_text("this is not a GeoTIFF\n")


def truncated_geotiff(case):
    rng = np.random.default_rng(0)
    _add_flux(case, rng.uniform(0, 100, (4, 4)).astype("float32"))
    data = (case / "nep.tif").read_bytes()
    (case / "nep.tif").write_bytes(data[: len(data) // 2])


def raster_without_crs(case):
    write_tif(case / "landcover.tif", TINY_CODES, crs=None, nodata=9)


def raster_not_overlapping(case):
    far = TINY_TRANSFORM.__class__(1000.0, 0.0, 5e6, 0.0, -1000.0, 9e6)
    write_tif(case / "landcover.tif", TINY_CODES, transform=far, nodata=9)


def nodata_undeclared(case):
    write_tif(case / "landcover.tif", TINY_CODES, nodata=None)


def all_nodata(case):
    write_tif(case / "landcover.tif", np.full_like(TINY_CODES, 9), nodata=9)


def code_not_in_scheme(case):
    codes = TINY_CODES.copy()
    codes[2, 2] = 42
    write_tif(case / "landcover.tif", codes, nodata=9)


def flux_in_implausible_units(case):
    _add_flux(case, np.full((4, 4), 300, dtype="float32"), units="kg C m-2 yr-1")


def all_nodata_flux(case):
    _add_flux(case, np.full((4, 4), np.nan, dtype="float32"))


def regions_overlap(case):
    _regions(case, [shapely.box(0, 0, 2500, 4000), shapely.box(1500, 0, 4000, 4000)], ["West", "East"])


def regions_duplicate_names(case):
    _regions(case, [shapely.box(0, 0, 1500, 4000), shapely.box(1500, 0, 4000, 4000)], ["West", "West"])


def regions_no_features(case):
    gdf = gpd.GeoDataFrame({"code": [1], "name": ["West"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=CHINA_ALBERS)
    (case / "regions.gpkg").unlink()
    gdf.iloc[:0].to_file(case / "regions.gpkg", layer="regions", driver="GPKG")


def regions_no_crs(case):
    _regions(case, [shapely.box(0, 0, 1500, 4000), shapely.box(1500, 0, 4000, 4000)], ["West", "East"], crs=None)


def emissions_unknown_region(case):
    (case / "emissions.csv").write_text("year,code,co2\n2021,1,6.0\n2021,12,2.0\n")


def emissions_missing_year(case):
    _edit_config(case, lambda d: d["emissions"].update(year=2019))


def config_unknown_key(case):
    _edit_config(case, lambda d: d["grid"].update(resolutoin=1000))


def config_wrong_type(case):
    _edit_config(case, lambda d: d["grid"].update(resolution="fine"))


def config_relative_path_unresolved(case):
    _edit_config(case, lambda d: d["regions"].update(path="../elsewhere/regions.gpkg"))


CATALOGUE = [
    # (case, exit code, message pattern)
    (missing_file, 2, r"landcover\.path.*file not found: .*nope/landcover\.tif.*Fix"),
    (not_a_raster, 3, r"landcover\.tif: cannot be opened as a raster.*Fix"),
    (truncated_geotiff, 3, r"nep\.tif: the file is truncated .*Fix: re-download"),
    (raster_without_crs, 3, r"landcover\.tif: the raster has no CRS.*Fix: assign one"),
    (raster_not_overlapping, 3, r"landcover\.tif: the raster .* does not overlap the analysis grid.*Fix"),
    (nodata_undeclared, 3, r"landcover\.tif: the land-cover raster declares no nodata.*Fix: set 'landcover\.nodata'"),
    (all_nodata, 3, r"landcover\.tif: every pixel on the analysis grid is nodata.*Fix"),
    (code_not_in_scheme, 3, r"land-cover code\(s\) 42 \(1 px\) are not in the scheme .*scheme\.csv.*Fix: add a row"),
    (flux_in_implausible_units, 3, r"nep\.tif: values reach 300,000 g C m-2 yr-1.*'g C m-2 yr-1' rather than 'kg"),
    (all_nodata_flux, 3, r"nep\.tif: the flux raster has no data on any of the 12 terrestrial pixels.*Fix"),
    (regions_overlap, 3, r"regions\.gpkg: 1 overlapping pair\(s\): 1 & 2: 4\.000 km2.*overlap: first"),
    (regions_duplicate_names, 3, r"regions\.gpkg: duplicate region name\(s\) \['West'\].*Fix: make names unique"),
    (regions_no_features, 3, r"regions\.gpkg: the regions layer .*has no features.*Fix"),
    (regions_no_crs, 3, r"regions\.gpkg: the regions layer has no CRS.*Fix: assign one"),
    (emissions_unknown_region, 3, r"emissions\.csv: 1 emissions row\(s\) name regions that do not exist: '12' Did you "
                                  r"mean '[12]'\?.*Fix"),
    (emissions_missing_year, 3, r"emissions\.csv: no rows for year 2019.*years present: \[2020, 2021\].*Fix"),
    (config_unknown_key, 2, r"unknown key 'grid\.resolutoin'\. Did you mean 'resolution'\?"),
    (config_wrong_type, 2, r"'grid\.resolution' = 'fine': Input should be a valid number"),
    (config_relative_path_unresolved, 2, r"regions\.path.*file not found: .*elsewhere/regions\.gpkg.*relative to"),
]


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("breaker, code, pattern", CATALOGUE, ids=[c[0].__name__ for c in CATALOGUE])
def test_bad_input(tmp_path, capsys, breaker, code, pattern):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    before = _snapshot(out)
    capsys.readouterr()
    breaker(case)
    got = main(["run", str(cfg), "--out", str(out), "--quiet", "--overwrite"])
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    import re

    assert re.search(pattern, err, flags=re.S), err
    assert _snapshot(out) == before, "previous results were changed"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name], "temporary folder left behind"


def test_output_folder_not_writable(tmp_path, capsys, tiny_config):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    got = main(["run", str(tiny_config), "--out", str(blocker / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert got == 4 and "cannot create the output folder" in err and "Fix: choose a writable --out" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores file permissions, so a read-only folder stays writable for it")
def test_output_folder_read_only_keeps_earlier_results(tmp_path, capsys, tiny_config):
    """A folder made read-only (chmod 555) after a good run: the rerun with --overwrite exits 4
    naming the folder and the fix, before computing, and the earlier results are byte-identical."""
    parent = tmp_path / "runs"
    out = parent / "run"
    assert main(["run", str(tiny_config), "--out", str(out), "--quiet"]) == 0
    before = _snapshot(out)
    capsys.readouterr()
    os.chmod(parent, 0o555)
    try:
        got = main(["run", str(tiny_config), "--out", str(out), "--quiet", "--overwrite"])
        err = capsys.readouterr().err
        listing = sorted(p.name for p in parent.iterdir())
    finally:
        os.chmod(parent, 0o755)
    assert got == 4, err
    assert f"the output folder {parent.resolve()} is not writable" in err and "Fix: choose a writable --out" in err
    assert "Traceback" not in err
    assert listing == ["run"], listing  # no temporary folder
    assert _snapshot(out) == before, "previous results were changed"


def test_invalid_polygon_is_repaired_and_named(tmp_path, capsys, recwarn):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    bowtie = shapely.Polygon([(0, 0), (1500, 4000), (1500, 0), (0, 4000)])
    _regions(case, [bowtie, shapely.box(1500, 1000, 4000, 4000)], ["Bow", "East"])
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert any("repaired invalid geometries of ['1']" in str(w.message) for w in recwarn)


#: Field of the alignment test [g C m-2 yr-1]: linear in Albers x (100 at x = 0, +0.01 per m).
def _field(x):
    return 100.0 + 0.01 * x


def test_different_crs_and_resolution_are_aligned_not_refused(tmp_path):
    """The tiny case's NEP, a linear field, as a 250 m raster in the grid's CRS (China Albers), and the
    same raster warped (rasterio.warp, bilinear) to EPSG:4326 at 0.001 deg (~111 m): both runs
    succeed, and their forest sinks match the sums worked out here from the field and the regions'
    pixel coverage.

    Tolerance of the warped run: the average of a linear field over the source pixels GDAL picks for
    a 1 km pixel is the field at their centroid, which is at most half a source pixel (~56 m) off
    the pixel centre: 0.01 x 56 = 0.56 g C m-2 yr-1 on values >= 100, so < 0.6 % per pixel and per
    region (bilinear warping is exact for a linear field away from the edges, hence the 2 km margin).
    """
    import rasterio
    from affine import Affine
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from pipeline import run

    # source field at 250 m in Albers, 2 km beyond the 4 km x 4 km grid on every side
    res, margin = 250.0, 2000.0
    n = int((4000 + 2 * margin) / res)
    albers_tf = Affine(res, 0.0, -margin, 0.0, -res, 4000 + margin)
    xc = -margin + res * (np.arange(n) + 0.5)
    nep = np.tile(_field(xc), (n, 1)).astype("float32")

    def case_with(name, write):
        case = tmp_path / name
        cfg = tiny_case(case)
        write(case / "nep.tif")
        _edit_config(case, lambda d: (d.update(fluxes={"nep": {"path": "nep.tif", "units": "g C m-2 yr-1",
                                                                "sign": "uptake_positive"}}),
                                      d["sinks"].update(terrestrial={"method": "flux", "flux": "nep"})))
        return cfg

    same = case_with("albers", lambda p: write_tif(p, nep, transform=albers_tf, nodata=float("nan")))

    def warped(path):
        dst_crs = "EPSG:4326"
        bounds = rasterio.transform.array_bounds(n, n, albers_tf)
        tf, w, h = calculate_default_transform(CHINA_ALBERS, dst_crs, n, n, *bounds, resolution=0.001)
        out = np.full((h, w), np.nan, dtype="float32")
        reproject(nep, out, src_transform=albers_tf, src_crs=CHINA_ALBERS, dst_transform=tf, dst_crs=dst_crs,
                  resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
        write_tif(path, out, transform=tf, crs=dst_crs, nodata=float("nan"))

    other = case_with("geographic", warped)
    with rasterio.open(other.parent / "nep.tif") as src:
        assert src.crs.to_epsg() == 4326 and src.res == pytest.approx((0.001, 0.001))

    # by hand: each forest pixel's coverage by each region (boxes of conftest.tiny_case) x 1 km2 x
    # the field at the pixel centre (the mean of a linear field over the pixel), g -> Mg
    boxes = {"1": shapely.box(0, 0, 1500, 4000), "2": shapely.box(1500, 1000, 4000, 4000)}
    expected = {rid: 0.0 for rid in boxes}
    for row in range(4):
        for col in range(4):
            if TINY_CODES[row, col] != 1:
                continue
            pixel = shapely.box(col * 1000, 3000 - row * 1000, (col + 1) * 1000, 4000 - row * 1000)
            for rid, box in boxes.items():
                expected[rid] += pixel.intersection(box).area * _field(col * 1000 + 500) / 1e6
    assert expected["1"] == pytest.approx(3 * 105 + 0.5 * 4 * 115)  # col 0's 3 forest px + half of col 1's 4
    for cfg, rel in ((same, 1e-6), (other, 6e-3)):  # float32 values; the warp as in the docstring
        table = run(cfg, cfg.parent / "out").region_ecosystem.set_index(["region_id", "ecosystem"])
        for rid, mg in expected.items():
            assert table.loc[(rid, "forest"), "sink_MgC_yr"] == pytest.approx(mg, rel=rel), (cfg.parent.name, rid)


def test_failed_run_leaves_no_new_empty_folders(tmp_path, capsys):
    """A run into a new nested --out that fails on its input removes the folders it made for it,
    and keeps a folder that already existed or that holds somebody's file."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    not_a_raster(case)
    kept = tmp_path / "runs"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    assert main(["run", str(cfg), "--out", str(kept / "2026" / "december" / "run"), "--quiet"]) == 3
    assert "cannot be opened as a raster" in capsys.readouterr().err
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
    # a folder made for the run that somebody filled meanwhile stays, with its parents
    made = tmp_path / "fresh" / "inner"
    from pipeline.io.rundir import check_target, remove_empty_dirs

    created = check_target(made / "run", overwrite=False)
    assert created == [(tmp_path / "fresh").resolve(), made.resolve()]
    (made / "theirs.txt").write_text("x")
    remove_empty_dirs(created)
    assert (made / "theirs.txt").exists()
    (made / "theirs.txt").unlink()
    remove_empty_dirs(created)
    assert not (tmp_path / "fresh").exists()


# --- issue 19: --overwrite replaces only a previous run ---------------------------------------------
def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, capsys, tiny_config):
    """A non-empty folder without a run's manifest: exit 4, its files byte-identical, no temporary folder."""
    out = tmp_path / "thesis"
    (out / "chapter1").mkdir(parents=True)
    (out / "chapter1" / "draft.tex").write_text("my only copy")
    (out / "manifest.json").write_text('{"not": "a run"}')
    before = _tree(out)
    assert main(["run", str(tiny_config), "--out", str(out), "--quiet", "--overwrite"]) == 4
    err = capsys.readouterr().err
    assert "holds no carbon-sink run" in err and str(out) in err and "Fix:" in err
    assert _tree(out) == before
    assert not list(tmp_path.glob(".thesis*"))


def test_overwrite_refuses_an_existing_file(tmp_path, capsys, tiny_config):
    out = tmp_path / "results.txt"
    out.write_text("keep me")
    assert main(["run", str(tiny_config), "--out", str(out), "--quiet", "--overwrite"]) == 4
    assert "is a file, not a run directory" in capsys.readouterr().err
    assert out.read_text() == "keep me"


def test_out_may_not_be_the_current_folder_or_hold_the_inputs(tmp_path, capsys, monkeypatch):
    """``--out .`` and a folder holding the config are refused before any work, with or without --overwrite."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    before = _tree(case)
    monkeypatch.chdir(case)
    assert main(["run", str(cfg), "--out", ".", "--quiet", "--overwrite"]) == 4
    assert "current folder" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(cfg), "--out", str(tmp_path), "--quiet", "--overwrite"]) == 4
    assert "current folder" in capsys.readouterr().err  # tmp_path is the current folder here
    sub = tmp_path / "elsewhere"
    sub.mkdir()
    monkeypatch.chdir(sub)
    assert main(["run", str(cfg), "--out", str(case), "--quiet", "--overwrite"]) == 4
    assert "holds an input of this run" in capsys.readouterr().err
    assert _tree(case) == before


def test_overwrite_replaces_a_previous_run_and_an_empty_folder(tmp_path, capsys, tiny_config):
    out = tmp_path / "run"
    out.mkdir()
    assert main(["run", str(tiny_config), "--out", str(out), "--quiet", "--overwrite"]) == 0  # empty: fine
    (out / "stale.txt").write_text("from the previous run's folder")
    assert main(["run", str(tiny_config), "--out", str(out), "--quiet", "--overwrite"]) == 0  # a run: replaced
    assert not (out / "stale.txt").exists() and (out / "manifest.json").exists()


# --- issue 19: every number that enters a sum is finite ---------------------------------------------
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_flux_pixels_are_an_error_naming_file_count_and_place(tmp_path, capsys, bad):
    """Two +-inf forest pixels in a flux raster: exit 3, the file, the count (2) and the first one's row and
    column in the file; before, they were dropped from the sums with exit 0."""
    case = tmp_path / "case"
    tiny_case(case)
    nep = np.full(TINY_CODES.shape, 50.0, dtype="float32")
    nep[1, 0] = nep[2, 3] = bad  # both on forest pixels (codes 1)
    _add_flux(case, nep)
    assert main(["run", str(case / "config.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "nep.tif" in err and "2 pixel(s)" in err and "infinite" in err and "row 1, column 0" in err
    assert "Fix:" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("row, pattern", [
    ("inland_water,open_water,removal,,5,15", r"line 3: column 'central' is empty"),
    ("inland_water,open_water,removal,nan,5,15", r"line 3: column 'central' is empty or not a finite number"),
    ("inland_water,open_water,removal,10,15,5", r"line 3: column 'low' \(15\) is greater than 'high' \(5\)"),
    ("inland_water,open_water,removal,20,5,15", r"line 3: column 'central' \(20\) lies outside \[low, high\]"),
])
def test_bad_coefficient_values_name_file_line_and_column(tmp_path, capsys, row, pattern):
    """An empty or NaN coefficient (which zeroed a realm, exit 0), low > high or a central outside its range
    (which collapsed the uncertainty): exit 3 naming the file, line and column; validate finds them too."""
    import re

    case = tmp_path / "case"
    cfg = tiny_case(case)
    table = (case / "coefficients.csv").read_text().splitlines()
    table[2] = row + ",g C m-2 yr-1,test,test burial"  # line 3 of the file: the open-water removal row
    (case / "coefficients.csv").write_text("\n".join(table) + "\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "coefficients.csv" in err and re.search(pattern, err) and "Fix:" in err
    assert main(["validate", str(cfg)]) == 3
    shown = capsys.readouterr()
    assert re.search(pattern, shown.out + shown.err)


def test_negative_land_cover_codes_are_listed_like_unknown_codes(tmp_path, capsys):
    """Two pixels of code -5 in a signed land cover (they were skipped, exit 0): exit 3 naming them and the fix;
    declared as nodata, the same raster runs and they count as nodata."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    codes = TINY_CODES.astype("int16")
    codes[0, 0] = codes[2, 2] = -5
    write_tif(case / "landcover.tif", codes, nodata=9)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "negative codes (2 px)" in err and "landcover.nodata" in err
    write_tif(case / "landcover.tif", np.where(codes == 9, -5, codes).astype("int16"), nodata=-5)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out2"), "--quiet"]) == 0


def test_negative_emissions_and_zero_population_are_errors_unless_declared(tmp_path, capsys):
    """Negative emissions (exit 0 before) are an error naming the rows, unless emissions.allow_negative;
    a zero population (per capita was inf) is an error; a thousands separator is refused with the fix."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    (case / "emissions.csv").write_text("year,code,co2\n2020,1,5.0\n2020,2,1.0\n2021,1,-5.0\n2021,2,2.0\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "a"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "must not be negative" in err and "1 (-5)" in err and "allow_negative" in err
    assert main(["validate", str(cfg)]) == 3
    capsys.readouterr()
    _edit_config(case, lambda d: d["emissions"].update(allow_negative=True))
    assert main(["run", str(cfg), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    (case / "population.csv").write_text("year,code,people\n2021,1,0\n2021,2,1000\n")
    _edit_config(case, lambda d: d.update(population={"path": "population.csv", "region_field": "code",
                                                       "value_field": "people"}))
    assert main(["run", str(cfg), "--out", str(tmp_path / "c"), "--quiet"]) == 3
    assert "must be positive" in capsys.readouterr().err
    (case / "population.csv").write_text('year,code,people\n2021,1,"1,200"\n2021,2,1000\n')
    assert main(["run", str(cfg), "--out", str(tmp_path / "d"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "not numbers" in err and "1,200" in err and "Fix:" in err and "Traceback" not in err


def test_home_and_environment_variables_in_paths_are_expanded(tmp_path, capsys, monkeypatch):
    """``$CS_DATA/landcover.tif`` and ``~/...`` are read as the shell would; an unset variable is named."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    monkeypatch.setenv("CS_DATA", str(case))
    monkeypatch.setenv("HOME", str(tmp_path))
    _edit_config(case, lambda d: (d["landcover"].update(path="$CS_DATA/landcover.tif"),
                                  d["regions"].update(path="~/case/regions.gpkg")))
    assert main(["validate", str(cfg)]) == 0
    capsys.readouterr()
    _edit_config(case, lambda d: d["landcover"].update(path="${CS_NOT_SET}/landcover.tif"))
    assert main(["validate", str(cfg)]) == 2
    shown = capsys.readouterr()
    assert "CS_NOT_SET are not set" in shown.out + shown.err


def test_unnamed_layer_of_a_multi_layer_geopackage_and_non_polygon_regions(tmp_path, capsys):
    """A GeoPackage of several layers with no `layer:` used the first silently; points as regions gave a raw
    traceback. Both: exit 3 naming the file, the layers or the geometry types, and the fix."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    pts = gpd.GeoDataFrame({"code": [1, 2], "name": ["A", "B"]},
                           geometry=[shapely.Point(500, 500), shapely.Point(2500, 2500)], crs=CHINA_ALBERS)
    pts.to_file(case / "regions.gpkg", layer="towns", driver="GPKG")
    _edit_config(case, lambda d: d["regions"].pop("layer"))
    assert main(["run", str(cfg), "--out", str(tmp_path / "a"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "holds 2 layers (regions, towns)" in err and "layer: NAME" in err
    _edit_config(case, lambda d: d["regions"].update(layer="towns"))
    assert main(["run", str(cfg), "--out", str(tmp_path / "b"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "must hold polygons" in err and "Point (2)" in err and "Traceback" not in err
