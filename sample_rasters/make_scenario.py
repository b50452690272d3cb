"""Write the sample's illustrative land-use scenario: afforestation next to existing forest.

Reads ``landcover_modis_igbp_2019.tif`` (beside this script) and writes
``landcover_afforestation_scenario.tif``: a fixed share of the cropland and grassland pixels that
touch forest (8 neighbours) become mixed forest (IGBP 5). Deterministic (numpy seed). The share is
ILLUSTRATIVE, not a plan: it exists so that the pipeline's scenario comparison can be shown.

Usage::

    python sample_rasters/make_scenario.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

HERE = Path(__file__).resolve().parent
SEED = 2060
#: Share of the eligible cropland/grassland pixels afforested (illustrative).
SHARE = 0.3
FOREST = (1, 2, 3, 4, 5, 8)  # IGBP forests and woody savannas
CONVERTIBLE = (10, 12, 14)  # grasslands, croplands, cropland/natural vegetation mosaics
NEW_CODE = 5  # mixed forests


def touches(mask: np.ndarray) -> np.ndarray:
    """Pixels with at least one of their 8 neighbours in ``mask``."""
    p = np.pad(mask, 1)
    out = np.zeros_like(mask)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                out |= p[1 + dy:p.shape[0] - 1 + dy, 1 + dx:p.shape[1] - 1 + dx]
    return out


def main() -> None:
    src_path = HERE / "landcover_modis_igbp_2019.tif"
    with rasterio.open(src_path) as src:
        lc = src.read(1)
        profile = src.profile
        tags = src.tags()
    eligible = np.isin(lc, CONVERTIBLE) & touches(np.isin(lc, FOREST))
    rng = np.random.default_rng(SEED)
    convert = eligible & (rng.random(lc.shape) < SHARE)
    out = np.where(convert, NEW_CODE, lc).astype(lc.dtype)
    profile.update(compress="deflate")
    dst_path = HERE / "landcover_afforestation_scenario.tif"
    with rasterio.open(dst_path, "w", **profile) as dst:
        dst.write(out, 1)
        dst.update_tags(**{**tags, "scenario": f"afforestation: {SHARE:.0%} of cropland/grassland pixels touching "
                                               f"forest -> IGBP {NEW_CODE} (seed {SEED}); ILLUSTRATIVE"})
    print(f"{dst_path.name}: {int(convert.sum())} of {int(eligible.sum())} eligible pixels afforested")


if __name__ == "__main__":
    main()
