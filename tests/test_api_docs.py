"""The Python API: README's examples run as written, and every public stage function has a docstring."""

import importlib
import inspect
import re

import pytest

from conftest import ROOT

STAGES = ["load", "align", "classify", "sinks", "aggregate", "budgets", "balance", "export", "uncertainty",
          "timeseries", "land_use", "labels", "hierarchy", "offshore", "report", "runner", "units", "grid"]


def _readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_python_examples_run(sample_copy, monkeypatch, capsys):
    """Each ```python block of README.md, run from a folder holding a copy of configs/ and sample_rasters/."""
    blocks = _readme_python_blocks()
    assert blocks, "README has no Python example"
    monkeypatch.chdir(sample_copy.parent.parent)
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    assert "sink_total_MtCO2" in capsys.readouterr().out


@pytest.mark.parametrize("module", STAGES)
def test_public_functions_have_docstrings(module):
    mod = importlib.import_module(f"pipeline.{module}")
    undocumented = [name for name, obj in vars(mod).items()
                    if inspect.isfunction(obj) and obj.__module__ == mod.__name__ and not name.startswith("_")
                    and not (obj.__doc__ or "").strip()]
    assert not undocumented, f"pipeline.{module}: {undocumented}"


def test_run_is_importable_from_the_package():
    import pipeline

    assert callable(pipeline.run) and pipeline.run.__doc__
