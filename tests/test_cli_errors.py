"""Bad configuration exits non-zero with a short message naming the file or key and the fix,
no traceback, and no run directory left behind."""

import numpy as np
import pytest
import yaml

from conftest import TINY_CODES, tiny_case, write_tif
from pipeline.cli import main


def _run_cli(cfg, out, capsys, *extra):
    code = main(["run", str(cfg), "--out", str(out), "--quiet", *extra])
    return code, capsys.readouterr().err


def _leftovers(out):
    return [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.tmp-")] if out.parent.exists() else []


def test_run__tiny_ok(tiny_config, tmp_path, capsys):
    code, err = _run_cli(tiny_config, tmp_path / "out", capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "tables" / "budgets.csv").exists()


def test_missing_file(tmp_path, capsys):
    cfg = tiny_case(tmp_path / "case", landcover={"path": "nowhere.tif", "scheme": "scheme.csv"})
    out = tmp_path / "out"
    code, err = _run_cli(cfg, out, capsys)
    assert code == 2
    assert "landcover.path" in err and "nowhere.tif" in err and "file not found" in err
    assert "Traceback" not in err
    assert not out.exists() and not _leftovers(out)


def test_unknown_key_suggests_closest(tmp_path, capsys):
    cfg = tiny_case(tmp_path / "case", **{"grid.resolutin": 1000})
    code, err = _run_cli(cfg, tmp_path / "out", capsys)
    assert code == 2
    assert "unknown key 'grid.resolutin'" in err and "Did you mean 'resolution'?" in err
    assert not (tmp_path / "out").exists()


def test_unknown_units(tmp_path, capsys):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    write_tif(case / "nep.tif", (TINY_CODES * 10).astype("float32"))
    data = yaml.safe_load(cfg.read_text())
    data["fluxes"] = {"nep": {"path": "nep.tif", "units": "gC/m2/yr", "sign": "uptake_positive"}}
    cfg.write_text(yaml.safe_dump(data))
    code, err = _run_cli(cfg, tmp_path / "out", capsys)
    assert code == 2
    assert "fluxes.nep.units" in err and "unknown units 'gC/m2/yr'" in err and "g C m-2 yr-1" in err
    assert not (tmp_path / "out").exists()


def test_code_missing_from_scheme(tmp_path, capsys):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    codes = TINY_CODES.copy()
    codes[0, 0] = 7
    codes[1, 0] = 7
    write_tif(case / "landcover.tif", codes, nodata=9)
    out = tmp_path / "out"
    code, err = _run_cli(cfg, out, capsys)
    assert code == 3
    assert "land-cover code(s) 7 (2 px) are not in the scheme" in err and "scheme.csv" in err
    assert "Fix: add a row" in err
    assert not out.exists() and not _leftovers(out)


def test_existing_run_dir_is_kept(tiny_config, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run_cli(tiny_config, out, capsys)[0] == 0
    before = (out / "tables" / "budgets.csv").read_bytes()
    code, err = _run_cli(tiny_config, out, capsys)
    assert code == 4 and "--overwrite" in err
    assert (out / "tables" / "budgets.csv").read_bytes() == before
    assert _run_cli(tiny_config, out, capsys, "--overwrite")[0] == 0
    assert not _leftovers(out)


def test_implausible_flux_units_name_the_mistake(tmp_path, capsys):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    # an NEP of 300 g C m-2 yr-1 declared as kg C m-2 yr-1 -> 300,000 g C m-2 yr-1
    write_tif(case / "nep.tif", np.full(TINY_CODES.shape, 300, dtype="float32"))
    data = yaml.safe_load(cfg.read_text())
    data["fluxes"] = {"nep": {"path": "nep.tif", "units": "kg C m-2 yr-1", "sign": "uptake_positive"}}
    data["sinks"]["terrestrial"] = {"method": "flux", "flux": "nep"}
    cfg.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    code, err = _run_cli(cfg, out, capsys)
    assert code == 3 and "nep.tif" in err and "'g C m-2 yr-1' rather than 'kg C m-2 yr-1'" in err
    assert not out.exists() and not _leftovers(out)


def test_flux_method__nee_sign_flipped(tmp_path):
    """An NEE raster (emission positive) of -50 g C m-2 yr-1 is a sink of +50 on forest pixels."""
    from pipeline import run

    case = tmp_path / "case"
    cfg = tiny_case(case)
    write_tif(case / "nee.tif", np.full(TINY_CODES.shape, -50, dtype="float32"))
    data = yaml.safe_load(cfg.read_text())
    data["fluxes"] = {"nee": {"path": "nee.tif", "units": "g C m-2 yr-1", "sign": "emission_positive"}}
    data["sinks"]["terrestrial"] = {"method": "flux", "flux": "nee"}
    cfg.write_text(yaml.safe_dump(data))
    table = run(cfg, tmp_path / "out").region_ecosystem.set_index(["region_id", "ecosystem"])
    # West: 5 km2 of forest x 50 g C m-2 yr-1 = 250 Mg C yr-1
    assert table.loc[("1", "forest"), "sink_MgC_yr"] == pytest.approx(250.0)


def test_help_lists_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "Exit codes" in capsys.readouterr().out
