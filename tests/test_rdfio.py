"""Reading user RDF files (two-column text, gmx rdf .xvg) and resampling onto the model grid."""

from __future__ import annotations

import numpy as np
import pytest

from project.errors import RDFError
from project.model.features import X_GRID, scaled_rdf
from project.rdfio import read_rdf_file

XVG_HEAD = """# This file was created by gmx rdf
@    title "Radial distribution"
@    xaxis  label "r (nm)"
@    yaxis  label "g(r)"
@TYPE xy
"""


def _write(tmp_path, name, r, g, head=""):
    path = tmp_path / name
    path.write_text(head + "".join(f"{a:.4f} {b:.5f}\n" for a, b in zip(r, g)))
    return path


def test_reads_xvg_and_two_column(tmp_path):
    r = np.arange(0.0, 1.5, 0.002)
    g = 1 + np.exp(-r) * np.sin(10 * r)
    for path in (_write(tmp_path, "a.xvg", r, g, XVG_HEAD), _write(tmp_path, "a.dat", r, g, "# r_nm g\n")):
        rr, gg = read_rdf_file(path)
        assert len(rr) == len(r)
        np.testing.assert_allclose(gg, np.round(np.clip(g, 0, None), 5), atol=1e-5)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no data lines"),
        ("0.1\n0.2\n", "expected two columns"),
        ("0.1 abc\n", "not a number"),
        ("".join(f"{0.01 * i:.3f} {'nan' if i == 5 else 1.0}\n" for i in range(20)), "NaN or infinite"),
        ("".join(f"{0.01 * i:.3f} {-0.5 if i == 7 else 1.0}\n" for i in range(20)), "negative g"),
        ("".join(f"{0.01 * (20 - i):.3f} 1.0\n" for i in range(20)), "not strictly increasing"),
        ("0.1 1.0\n0.2 1.0\n", "at least 10"),
    ],
)
def test_malformed_files(tmp_path, content, message):
    path = tmp_path / "bad.xvg"
    path.write_text(content)
    with pytest.raises(RDFError, match=message):
        read_rdf_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(RDFError, match="not found"):
        read_rdf_file(tmp_path / "nope.xvg")


def test_scaled_grid_and_short_range():
    rho = 20.0  # nm^-3
    r = np.arange(0.0, 1.2, 0.005)
    g = np.where(r > 0.3, 1.0, 0.0)
    gx = scaled_rdf(r, g, rho)
    assert gx.shape == X_GRID.shape
    # x = r rho^(1/3): the step from 0 to 1 sits at x = 0.3 * 20^(1/3) = 0.814 (exact, grid 0.01 in x)
    assert gx[X_GRID < 0.80].max() == 0.0 and gx[X_GRID > 0.83].min() == 1.0
    with pytest.raises(RDFError, match="r range too short"):
        scaled_rdf(r[r < 0.5], g[r < 0.5], rho)
    with pytest.raises(RDFError, match="r starts at"):
        scaled_rdf(r[r > 0.4], g[r > 0.4], rho)


def test_model_inputs_x_max_and_shorter_range():
    """``x_max`` keeps the grid points x <= x_max; ``scaled_rdf(x_max=...)`` accepts an RDF that reaches just there.

    Reference: the grid definition x = r rho^(1/3) of project.model.features (0.5 to 1.75 in steps of 0.01).
    """
    from project.model.features import model_inputs

    gx = np.tile(X_GRID, (2, 1))
    assert model_inputs(gx, None).shape == (2, 126)
    sub = model_inputs(gx, None, 1.25)
    assert sub.shape == (2, 76) and sub[0, -1] == pytest.approx(1.25)
    assert model_inputs(gx, 0.02, 1.25).shape == (2, 152)
    rho = 20.0  # nm^-3; x = 1.36 at r = 0.5 nm
    r = np.arange(0.0, 0.5, 0.005)
    g = np.where(r > 0.3, 1.0, 0.0)
    out = scaled_rdf(r, g, rho, x_max=1.25)
    assert out.shape == X_GRID.shape and out[-1] == 1.0
    with pytest.raises(RDFError, match=r"x = r rho\^\(1/3\) up to 1.75"):
        scaled_rdf(r, g, rho)
