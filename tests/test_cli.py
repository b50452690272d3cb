"""The command line: --help, `validate` (every problem at once, no pixel read), `report` (rewrite the
reports, regional pages, unknown regions) and `sample-data` (a copy that runs)."""

import re
import shutil

import pytest
import rasterio.io
import yaml

from conftest import SAMPLE_CONFIG, TINY_CODES, tiny_case, write_tif
from pipeline.cli import main
from pipeline.validate import validate


def _out(capsys):
    cap = capsys.readouterr()
    return cap.out, cap.err


def test_help__subcommands_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("run", "validate", "report", "sample-data", "Exit codes: 0 ok, 1 pipeline error, 2 config error, "
                                                             "3 input error, 4 output error, 130 interrupted"):
        assert word in " ".join(out.split()), word
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for flag in ("--out", "--overwrite", "--scheduler", "--quiet", "--debug"):
        assert flag in out


# --- validate -------------------------------------------------------------------------------------------
def test_validate__sample_is_clean_and_reads_no_pixel(capsys, monkeypatch):
    def no_pixels(*args, **kwargs):
        raise AssertionError("validate read pixels")

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", no_pixels)
    assert main(["validate", str(SAMPLE_CONFIG)]) == 0
    out, _ = _out(capsys)
    assert "OK, no problems" in out and "error" not in out


def _no_crs_landcover(case):
    write_tif(case / "landcover.tif", TINY_CODES, crs=None, nodata=9)


def _emissions_unknown_region(case):
    (case / "emissions.csv").write_text("year,code,co2\n2021,1,6.0\n2021,12,2.0\n")


def _missing_flux_file(case):
    data = yaml.safe_load((case / "config.yaml").read_text())
    data["fluxes"] = {"nep": {"path": "gone/nep.tif", "units": "g C m-2 yr-1", "sign": "uptake_positive"}}
    (case / "config.yaml").write_text(yaml.safe_dump(data))


def test_validate__two_broken_inputs_reported_in_one_run(tmp_path, capsys):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    _no_crs_landcover(case)
    _emissions_unknown_region(case)
    assert main(["validate", str(cfg)]) == 3
    out, _ = _out(capsys)
    lines = [ln for ln in out.splitlines() if ln.startswith("input error")]
    assert len(lines) == 2, out
    assert re.search(r"landcover\.tif: the raster has no CRS.*Fix", lines[0])
    assert re.search(r"emissions\.csv: 1 emissions row\(s\) name regions that do not exist: '12'.*Fix", lines[1])
    assert "2 problems (2 input errors)" in out and out.rstrip().endswith("exit 3")


def test_validate__config_error_outranks_input_error(tmp_path, capsys):
    """A missing file fails the config schema (exit 2, as `run` would); the broken emission table of a
    valid section is still reported in the same run."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    _missing_flux_file(case)
    _emissions_unknown_region(case)
    assert main(["validate", str(cfg)]) == 2
    out, _ = _out(capsys)
    assert re.search(r"^config error \[exit 2\] .*fluxes\.nep\.path.*file not found.*gone/nep\.tif", out, re.M)
    assert re.search(r"^input error \[exit 3\] emissions table: .*emissions\.csv", out, re.M)
    assert "2 problems (1 config error, 1 input error)" in out
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--quiet"]) == 2  # run stops at the first


def _catalogue():
    from test_error_catalogue import CATALOGUE

    needs_pixels = {"all_nodata", "code_not_in_scheme", "flux_in_implausible_units", "all_nodata_flux"}
    return [c for c in CATALOGUE if c[0].__name__ not in needs_pixels]


@pytest.mark.parametrize("breaker, code, pattern", _catalogue(), ids=[c[0].__name__ for c in _catalogue()])
def test_validate__finds_what_run_finds_before_computing(tmp_path, breaker, code, pattern):
    """Every problem of the error catalogue that needs no pixel: the same code and message as `run`."""
    case = tmp_path / "case"
    cfg = tiny_case(case)
    breaker(case)
    report = validate(cfg)
    assert report.exit_code == code and len(report.problems) == 1, report.lines()
    assert re.search(pattern, report.problems[0].message, flags=re.S), report.problems[0].message


def test_validate__missing_config(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in _out(capsys)[0]


# --- report ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_copy(sample_run, tmp_path_factory):
    dest = tmp_path_factory.mktemp("cli") / "run"
    shutil.copytree(sample_run.run_dir, dest)
    return dest


def test_report__rewrites_report_md_and_html(run_copy, capsys):
    for name in ("report.md", "report.html"):
        (run_copy / name).unlink()
    assert main(["report", str(run_copy)]) == 0
    out, _ = _out(capsys)
    assert (run_copy / "report.md").exists() and (run_copy / "report.html").exists()
    assert "report.md" in out and "report.html" in out


def test_report__region_by_name_or_id_any_case(run_copy, capsys):
    assert main(["report", str(run_copy), "--region", "FUJIAN", "--region", "310000"]) == 0
    out, _ = _out(capsys)
    assert (run_copy / "regions" / "fujian.html").exists() and (run_copy / "regions" / "shanghai.html").exists()
    assert "fujian.html" in out and "shanghai.html" in out
    # the manifest's checksums cover the new pages (sha256 of the bytes on disk)
    import hashlib
    import json

    sums = json.loads((run_copy / "manifest.json").read_text())["output_sha256"]
    page = run_copy / "regions" / "fujian.html"
    assert sums["regions/fujian.html"] == hashlib.sha256(page.read_bytes()).hexdigest()


def test_report__unknown_region_exit_3_with_suggestion(run_copy, capsys):
    assert main(["report", str(run_copy), "--region", "Zhejang"]) == 3
    _, err = _out(capsys)
    assert "no region named 'Zhejang'" in err and "Closest: 'Zhejiang'" in err and "Traceback" not in err
    assert not (run_copy / "regions" / "zhejang.html").exists()


def test_report__not_a_run_directory(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 3
    assert "not a carbon-sink run directory" in _out(capsys)[1]


# --- sample-data ------------------------------------------------------------------------------------------
def test_sample_data__copy_runs_and_refuses_non_empty(tmp_path, capsys):
    dest = tmp_path / "mine"
    assert main(["sample-data", str(dest)]) == 0
    assert (dest / "configs" / "sample.yaml").exists() and (dest / "sample_rasters" / "regions.gpkg").exists()
    out_dir = dest / "out" / "sample"
    assert main(["run", str(dest / "configs" / "sample.yaml"), "--out", str(out_dir), "--quiet"]) == 0
    assert (out_dir / "report.html").exists()
    manifest = (out_dir / "manifest.json").read_text()
    assert str(dest / "sample_rasters") in manifest  # it ran on the copy
    capsys.readouterr()
    assert main(["sample-data", str(dest)]) == 4
    assert "--overwrite" in _out(capsys)[1]
    (dest / "configs" / "sample.yaml").write_text("broken")
    assert main(["sample-data", str(dest), "--overwrite", "--quiet"]) == 0
    assert "name: sample-east-china" in (dest / "configs" / "sample.yaml").read_text()
    assert out_dir.exists()  # the user's other files are kept


def test_sample_data__into_a_file_is_an_output_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["sample-data", str(blocker)]) == 4
    assert "is a file, not a folder" in _out(capsys)[1]


@pytest.mark.parametrize("args, code", [(["validate", str(SAMPLE_CONFIG)], 0), (["validate", "missing.yaml"], 2)])
def test_console_main__exit_code_output_and_exit_handlers_kept(tmp_path, args, code):
    """The console entry point ends without the interpreter's module teardown: the command's code,
    its printed output (a pipe, so buffered) and the exit handlers registered in the process (as a
    dask client's) must all survive that."""
    import subprocess
    import sys

    script = ("import atexit, sys; atexit.register(lambda: print('exit handler ran')); "
              f"sys.argv = ['carbon-sink'] + {args!r}; from pipeline.cli import console_main; console_main()")
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == code, out.stderr
    assert out.stdout.rstrip().endswith("exit handler ran")
    assert ("OK, no problems" in out.stdout) == (code == 0)
    assert ("config file not found: missing.yaml" in out.stdout + out.stderr) == (code == 2)


def test_validate__overlap_check_cached_like_a_run(tmp_path, capsys, monkeypatch):
    """validate resolves the regions' overlaps through the run's cache: the first validate writes one
    entry per polygon layer it checks, the second overlays nothing (the overlay would raise here)
    and is still clean."""
    import pipeline.labels

    monkeypatch.setenv("CARBON_SINK_CACHE", str(tmp_path / "cache"))
    assert main(["validate", str(SAMPLE_CONFIG)]) == 0
    out, _ = _out(capsys)
    layers = 1 + yaml.safe_load(SAMPLE_CONFIG.read_text())["regions"].get("subregions", []).__len__()
    assert len(list((tmp_path / "cache").glob("overlaps-*.npz"))) == layers

    def no_overlay(*args, **kwargs):
        raise AssertionError("overlaps computed again")

    monkeypatch.setattr(pipeline.labels, "resolve_overlaps", no_overlay)
    assert main(["validate", str(SAMPLE_CONFIG)]) == 0
    out, _ = _out(capsys)
    assert "OK, no problems" in out
