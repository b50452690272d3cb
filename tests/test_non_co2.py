"""Non-CO2 gases: the IPCC 2019 water-regime scaling of paddy CH4 and the wetland-area warning.

Expected values are computed by hand here: area (ha) x EFc (kg CH4 ha-1 d-1) x days x SFw (IPCC 2019
Refinement Vol.4 Ch.5 Table 5.12: continuously flooded 1.00, single drainage 0.71, multiple drainage
0.55) x GWP100 (AR6 non-fossil CH4 27.0).
"""

import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import tiny_case
from pipeline import run
from pipeline.config import load_config
from pipeline.errors import ConfigError, InputError
from pipeline.sinks.non_co2 import non_co2_table, wetland_area_check
from pipeline.tables import read_non_co2

ROOT = Path(__file__).resolve().parents[1]
GWP_CH4 = 27.0  # AR6, CH4 of non-fossil origin
SFW = {"continuously_flooded": 1.00, "single_drainage": 0.71, "multiple_drainage": 0.55}
HEADER = "ecosystem,gas,central,low,high,units,season_days,share,water_regime,sf_preseason,sf_organic,evidence,source\n"


def _factors(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "non_co2.csv"
    path.write_text(HEADER + rows)
    return path


def _region_eco(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["region_id", "region", "realm", "ecosystem", "area_km2"])


PADDY = _region_eco([("1", "A", "terrestrial", "rice_paddy", 10.0), ("1", "A", "terrestrial", "forest", 90.0)])


@pytest.mark.parametrize("regime", sorted(SFW))
def test_paddy_ch4__each_water_regime_by_hand(tmp_path, regime):
    path = _factors(tmp_path, "rice_paddy,CH4,1.32,0.89,1.96,kg CH4 ha-1 d-1,100,,continuously_flooded,,,test,t\n")
    nc = non_co2_table(PADDY, read_non_co2(path, regime), "AR6", check_wetland=False).iloc[0]
    # 10 km2 = 1,000 ha x 1.32 kg x 100 d x SFw = 132,000 kg x SFw = 132 t x SFw
    assert nc["emission_t_yr"] == pytest.approx(132.0 * SFW[regime])
    assert nc["emission_MtCO2e"] == pytest.approx(132.0 * SFW[regime] * GWP_CH4 / 1e6)
    assert nc["water_regime"] == regime and nc["sf_water"] == SFW[regime]


def test_paddy_ch4__row_regime_and_other_scaling_factors(tmp_path):
    """Without the config key each row's own regime counts; SFp and SFo multiply as well; the wetland
    row (no regime) is not scaled; the range is scaled like the central value."""
    path = _factors(tmp_path, "rice_paddy,CH4,2,1,3,kg CH4 ha-1 d-1,50,,single_drainage,1.2,1.5,test,t\n"
                              "wetland,CH4,15,5,30,g CH4 m-2 yr-1,,,,,,test,t\n")
    f = read_non_co2(path).set_index("ecosystem")
    # 2 kg ha-1 d-1 x 50 d = 100 kg ha-1 = 10 g m-2; x 0.71 x 1.2 x 1.5
    assert f.loc["rice_paddy", "central"] == pytest.approx(10 * 0.71 * 1.2 * 1.5)
    assert f.loc["rice_paddy", "low"] == pytest.approx(5 * 0.71 * 1.2 * 1.5)
    assert f.loc["rice_paddy", "high"] == pytest.approx(15 * 0.71 * 1.2 * 1.5)
    assert f.loc["wetland", "central"] == 15.0 and f.loc["wetland", "sf_water"] == 1.0
    assert "SFw 0.71 (single_drainage)" in f.loc["rice_paddy", "source"]
    # the config key replaces the regime of the paddy rows only
    g = read_non_co2(path, "multiple_drainage").set_index("ecosystem")
    assert g.loc["rice_paddy", "central"] == pytest.approx(10 * 0.55 * 1.2 * 1.5)
    assert g.loc["wetland", "central"] == 15.0 and g.loc["wetland", "water_regime"] == ""


def test_shipped_table__china_default_and_ranges():
    f = read_non_co2(ROOT / "configs" / "coefficients" / "non_co2.csv").set_index("ecosystem")
    paddy = f.loc["rice_paddy"]
    assert paddy["water_regime"] == "single_drainage"
    # IPCC 2019: EFc East Asia 1.32 (0.89-1.96) kg ha-1 d-1 x 112 d x SFw 0.71 x SFp 1.22 x SFo 1.5, in g m-2
    per_season = 1.32 * 112 * 0.71 * 1.22 * 1.5 / 10
    assert paddy["central"] == pytest.approx(per_season)
    assert (paddy["low"], paddy["high"]) == pytest.approx((per_season * 0.89 / 1.32, per_season * 1.96 / 1.32))
    assert f.loc["cropland", "central"] == pytest.approx(per_season)
    assert f.loc["cropland", "share"] == pytest.approx(29.2 / 139, abs=0.005)  # paddy Mha / cropland Mha
    assert paddy["range_basis"].startswith("IPCC default range")
    assert f.loc["wetland", "range_basis"].startswith("spread of published regional means")


def test_table_without_range_basis_or_regime_columns_is_read(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("ecosystem,gas,central,low,high,units,season_days,share,evidence,source\n"
                    "rice_paddy,CH4,1,1,1,kg CH4 ha-1 d-1,100,,test,t\n")
    f = read_non_co2(path)
    assert f["central"].iloc[0] == pytest.approx(10.0)  # 1 kg ha-1 d-1 x 100 d = 10 g m-2, unscaled
    assert f["sf_water"].iloc[0] == 1.0 and "range_basis" in f
    with pytest.raises(ConfigError, match="non_co2.water_regime") as info:
        read_non_co2(path, "single_drainage")  # nothing to apply the key to
    assert "water_regime" in str(info.value) and "Fix" in str(info.value)


def test_unknown_regime_in_table__error_names_file_column_and_allowed(tmp_path):
    path = _factors(tmp_path, "rice_paddy,CH4,1.32,1.32,1.32,kg CH4 ha-1 d-1,100,,single_draiange,,,test,t\n")
    with pytest.raises(InputError) as info:
        read_non_co2(path)
    msg = str(info.value)
    assert str(path) in msg and "'water_regime'" in msg and "single_draiange" in msg
    assert all(r in msg for r in SFW) and "Did you mean 'single_drainage'" in msg


def test_unknown_regime_in_config__error_names_key_and_allowed(tmp_path):
    cfg = tiny_case(tmp_path)
    _factors(tmp_path, "open_water,CH4,0.02,0.02,0.02,kg CH4 ha-1 d-1,100,,continuously_flooded,,,test,t\n")
    data = yaml.safe_load(cfg.read_text())
    data["non_co2"] = {"factors": "non_co2.csv", "water_regime": "awd"}
    cfg.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    msg = str(info.value)
    assert "non_co2.water_regime" in msg and "'awd'" in msg
    assert all(r in msg for r in SFW)


# --- wetland area against the national area --------------------------------------------------------
WET = pd.DataFrame({"ecosystem": ["wetland"], "gas": ["CH4"], "central": [15.0], "share": [1.0]})


def _wetland_case(wetland_km2: float) -> pd.DataFrame:
    """Two regions with 96,000 km2 of land (1 % of China's 9.6 million km2) plus sea and unallocated land,
    which the comparison leaves out: expected 1 % of 138,000 km2 = 1,380 km2, warning below 460 km2."""
    return _region_eco([
        ("1", "A", "terrestrial", "forest", 50_000.0 - wetland_km2), ("1", "A", "terrestrial", "wetland", wetland_km2),
        ("1", "A", "inland_water", "open_water", 6_000.0), ("2", "B", "terrestrial", "cropland", 40_000.0),
        ("2", "B", "ocean", "marginal_sea", 500_000.0), ("unallocated", "unallocated", "terrestrial", "forest", 1e6)])


def test_wetland_warning__below_a_third_of_the_expected_area():
    with pytest.warns(UserWarning, match="landcover.habitats") as caught:
        out = wetland_area_check(_wetland_case(400.0), WET, "AR6")
    msg = str(caught[0].message)
    assert "400 km2 of wetland" in msg and "1,380 km2 expected" in msg and "96,000 km2 of land" in msg
    assert out["expected_km2"] == pytest.approx(1380.0) and out["land_km2"] == pytest.approx(96_000.0)
    # CH4: 15 g m-2 yr-1 x 27 -> 400 km2: 0.162 Mt CO2e; 1,380 km2: 0.5589
    assert out["mapped_MtCO2e"] == pytest.approx(400e6 * 15 * 27 / 1e12)
    assert out["expected_MtCO2e"] == pytest.approx(1380e6 * 15 * 27 / 1e12)
    assert "0.16 Mt CO2e" in msg and "0.56" in msg and "-71 %" in msg


def test_wetland_warning__not_above_the_threshold_nor_without_a_wetland_factor():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = wetland_area_check(_wetland_case(500.0), WET, "AR6")
        assert out["warned"] is False and out["ratio"] == pytest.approx(500 / 1380)
        assert wetland_area_check(_wetland_case(0.0), WET.assign(ecosystem="rice_paddy"), "AR6") is None
        non_co2_table(_wetland_case(500.0), WET.assign(gas="CH4", source="t"), "AR6")


def test_wetland_warning__from_non_co2_table():
    with pytest.warns(UserWarning, match="wetland"):
        non_co2_table(_wetland_case(100.0), WET.assign(source="t"), "AR6")


# --- one tiny run: the config key reaches the tables --------------------------------------------
def test_tiny_run__config_water_regime_applied(tmp_path):
    case = tmp_path / "case"
    cfg = tiny_case(case)
    _factors(case, "open_water,CH4,0.02,0.01,0.03,kg CH4 ha-1 d-1,100,,continuously_flooded,,,test,t\n")
    data = yaml.safe_load(cfg.read_text())
    data["non_co2"] = {"factors": "non_co2.csv", "water_regime": "multiple_drainage"}
    cfg.write_text(yaml.safe_dump(data))
    result = run(cfg, tmp_path / "out")
    nc = pd.read_csv(result.run_dir / "tables" / "non_co2.csv", dtype={"region_id": str}).set_index("region_id")
    # East lakes: 3 km2 = 300 ha x 0.02 kg x 100 d = 600 kg = 0.6 t at continuous flooding; x 0.55
    assert nc.loc["2", "emission_t_yr"] == pytest.approx(0.6 * 0.55)
    assert nc.loc["2", "water_regime"] == "multiple_drainage"
    used = pd.read_csv(result.run_dir / "tables" / "coefficients.csv")
    row = used[used["table"] == "non_co2"].iloc[0]
    assert row["central"] == pytest.approx(0.2 * 0.55)  # 0.02 kg ha-1 d-1 x 100 d = 0.2 g m-2
