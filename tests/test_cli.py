"""The command line: every command's help (with units), option aliases, and refusals of bad input.

Each refusal: a clear error naming the field, the value and what is allowed, exit status 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from project.cli import COMMANDS, build_parser, log_level, main
from project.cli.common import MATCH_RTOL, parse_range

REPO = Path(__file__).resolve().parents[1]
UNITS = ("nm", "ps", " K", "kJ/mol", "nm^-3", "A^-1", "tau", "dimensionless", "count", "%")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _all_commands() -> list[tuple[list[str], argparse.ArgumentParser]]:
    out = []
    for name, p in _subparsers(build_parser()).items():
        out.append(([name], p))
        if name == "cg":
            out += [(["cg", sub], q) for sub, q in _subparsers(p).items()]
    return out


def test_parser_lists_every_command() -> None:
    names = set(_subparsers(build_parser()))
    assert names == {name for name, _ in COMMANDS}
    assert names == {
        "init",
        "query",
        "reset-failed",
        "export",
        "catalogue",
        "flow",
        "train",
        "evaluate",
        "fit",
        "predict",
        "finetune",
        "dashboard",
        "cg",
    }
    assert set(_subparsers(_subparsers(build_parser())["cg"])) == {
        "init",
        "topology",
        "run",
        "compare",
        "aa",
        "fit",
        "optimum",
        "baselines",
        "regret",
        "mie-compare",
    }


@pytest.mark.parametrize("command", [c for c, _ in _all_commands()], ids=lambda c: " ".join(c))
def test_help_of_every_command_names_its_units(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: lj-inverse")
    parser = next(p for c, p in _all_commands() if c == command)
    for action in parser._actions:
        if action.type in (float, parse_range, int) and action.dest not in ("limit", "port", "seed"):
            assert any(u in (action.help or "") for u in UNITS), f"{command} {action.option_strings}: no unit"


def test_verbosity_levels() -> None:
    import logging

    assert [log_level(v) for v in (0, 1, 2, 3)] == [logging.WARNING, logging.INFO, logging.DEBUG, logging.DEBUG]


def test_aliases_give_the_same_options() -> None:
    p = build_parser()
    a = p.parse_args(["query", "--T", "100:200", "--rho", "20:", "--T_star", "1.5"])
    b = p.parse_args(["query", "--temperature", "100:200", "--density", "20:", "--T-star", "1.5"])
    assert (
        (a.T, a.rho, a.T_star)
        == (b.T, b.rho, b.T_star)
        == ((100.0, 200.0), (20.0, None), (1.5 * (1 - MATCH_RTOL), 1.5 * (1 + MATCH_RTOL)))
    )
    a = p.parse_args(["cg", "init", "--cg-dataspace", "x", "--aa-t-prod", "200"])
    b = p.parse_args(["cg", "init", "--dataspace", "x", "--aa-t-prod-ps", "200"])
    assert (a.cg_dataspace, a.aa_t_prod_ps) == (b.cg_dataspace, b.aa_t_prod_ps) == ("x", 200.0)
    a = p.parse_args(["cg", "run", "--t-prod", "50"])
    b = p.parse_args(["cg", "run", "--t-prod-tau", "50"])
    assert a.t_prod_tau == b.t_prod_tau == 50.0


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture()
def space(tmp_path: Path, monkeypatch) -> Path:
    """A data space with the 5 jobs of the default design (no simulation), the working directory elsewhere."""
    monkeypatch.delenv("LJ_DATASPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "space"
    assert main(["init", "default", "--dataspace", str(root)]) == 0
    return root


def test_single_values_match_within_printed_precision(space: Path, capsys) -> None:
    """``query --T 178.6`` finds T = 178.604 K (printed 178.6) and ``--T_star 1.5`` the T* = 1.5 jobs."""
    capsys.readouterr()
    assert main(["query", "--dataspace", str(space), "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)
    hot = [j for j in jobs if abs(j["T_star"] - 1.5) < 1e-3]
    assert len(hot) == 2 and hot[0]["T"] == pytest.approx(178.604, abs=1e-3)
    for args in (["--T", f"{hot[0]['T']:.5g}"], ["--T_star", "1.5"], ["--T", "178.6", "--T_star", "1.5"]):
        assert main(["query", "--dataspace", str(space), "--json", *args]) == 0
        got = json.loads(capsys.readouterr().out)
        assert sorted(j["job_id"] for j in got) == sorted(j["job_id"] for j in hot), args
    assert main(["query", "--dataspace", str(space), "--json", "--T", "178.7"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_refuses_reversed_range(space: Path, capsys) -> None:
    before = _files(space)
    with pytest.raises(SystemExit) as exc:
        main(["query", "--dataspace", str(space), "--T", "200:100"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--T" in err and "'200:100' is reversed" in err and "LO <= HI" in err
    from project.dataspace import query

    with pytest.raises(ValueError, match="query field 'T': range 200.0:100.0 is reversed"):
        query(space, {"T": (200.0, 100.0)})
    assert _files(space) == before


def test_refuses_unknown_design_key(tmp_path: Path, capsys) -> None:
    design = tmp_path / "design.json"
    design.write_text(
        json.dumps(
            {"kind": "grid", "sigma": [0.34], "epsilon": [0.99], "T_star": [1.5], "rho_star": [0.5], "replica": 3}
        )
    )
    assert main(["init", str(design), "--dataspace", str(tmp_path / "space")]) == 2
    err = capsys.readouterr().err
    assert "design field 'replica' (value 3): unknown key" in err and "replicas" in err
    assert not (tmp_path / "space").exists()


def test_refuses_design_without_stable_states(tmp_path: Path, capsys) -> None:
    """A grid inside the vapour-liquid dome (T* 1.0, rho* 0.3) writes no empty project and exits non-zero."""
    design = tmp_path / "dome.json"
    design.write_text(
        json.dumps({"kind": "grid", "sigma": [0.34], "epsilon": [0.99], "T_star": [1.0], "rho_star": [0.3]})
    )
    assert main(["init", str(design), "--dataspace", str(tmp_path / "space")]) == 2
    assert "every state lies outside the stable single-phase fluid" in capsys.readouterr().err
    assert not (tmp_path / "space").exists()


def test_catalogue_refuses_missing_dataspace(tmp_path: Path, capsys) -> None:
    assert main(["catalogue", "--dataspace", str(tmp_path / "typo")]) == 2
    err = capsys.readouterr().err
    assert "--dataspace" in err and "typo" in err and "no such folder" in err
    assert not (tmp_path / "typo").exists()


def test_catalogue_of_a_space_without_runs_writes_nothing(space: Path, capsys) -> None:
    before = _files(space)
    assert main(["catalogue", "--dataspace", str(space), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip()) == []
    assert _files(space) == before


@pytest.mark.parametrize("command", [["init", "default"], ["catalogue"], ["query"], ["export"]])
def test_refuses_a_file_as_dataspace(tmp_path: Path, command: list[str], capsys) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a data space\n")
    assert main([*command, "--dataspace", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "is a file" in err and "folder" in err
    assert path.read_text() == "not a data space\n" and _files(tmp_path) == {"notes.txt"}


@pytest.mark.parametrize(
    ("option", "value", "field"), [("--n-molecules", "-5", "n_molecules"), ("--aa-t-prod-ps", "-1", "t_prod_ps")]
)
def test_cg_init_refuses_bad_values(tmp_path: Path, option: str, value: str, field: str, capsys) -> None:
    assert main(["cg", "init", "--dataspace", str(tmp_path / "cg"), option, value]) == 2
    err = capsys.readouterr().err
    assert f"{field}: got {float(value) if field == 't_prod_ps' else int(value)}" in err and "allowed" in err
    assert not (tmp_path / "cg").exists()


def test_cg_topology_refuses_before_writing(tmp_path: Path, capsys) -> None:
    assert main(["cg", "topology", "CO", "--out", str(tmp_path / "top"), "--n-molecules", "0"]) == 2
    assert "--n-molecules: got 0; allowed: an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "top").exists()


def test_train_refuses_unknown_setting(tmp_path: Path, capsys) -> None:
    assert main(["train", "--dataspace", str(tmp_path), "--settings", '{"epoch": 3}']) == 2
    err = capsys.readouterr().err
    assert "--settings field 'epoch' (value 3): unknown" in err and "epochs" in err
    assert main(["train", "--dataspace", str(tmp_path), "--settings", "{epochs: 3}"]) == 2
    assert "--settings: not valid JSON" in capsys.readouterr().err
    assert _files(tmp_path) == set()


def test_refusal_exit_status_from_the_console(tmp_path: Path) -> None:
    """The same refusal through ``python -m project`` in a subprocess: exit status 2, one line on stderr."""
    res = subprocess.run(
        [sys.executable, "-m", "project", "catalogue", "--dataspace", str(tmp_path / "typo")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    )
    assert res.returncode == 2 and res.stderr.startswith("error: --dataspace") and "Traceback" not in res.stderr
    assert not (tmp_path / "typo").exists()


def test_empty_query_says_so(space: Path, capsys) -> None:
    """A query that matches nothing prints a sentence, not pandas' empty-frame repr."""
    capsys.readouterr()
    assert main(["query", "--dataspace", str(space), "--T", "1:2"]) == 0
    assert capsys.readouterr().out == "0 jobs matched\n"


def test_init_sets_the_run_length(tmp_path: Path, monkeypatch, capsys) -> None:
    """``init --t-prod 50 --t-equil 10`` makes every job of the design run 50 tau (10 tau equilibration)."""
    monkeypatch.delenv("LJ_DATASPACE", raising=False)
    root = tmp_path / "space"
    assert main(["init", "default", "--dataspace", str(root), "--t-prod", "50", "--t-equil", "10"]) == 0
    capsys.readouterr()
    assert main(["query", "--dataspace", str(root), "--json"]) == 0
    jobs = json.loads(capsys.readouterr().out)
    sps = [json.loads((root / "workspace" / j["job_id"] / "signac_statepoint.json").read_text()) for j in jobs]
    assert len(sps) == 5 and {sp["t_prod"] for sp in sps} == {50.0} and {sp["t_equil"] for sp in sps} == {10.0}


def test_flow_help_needs_no_dataspace(tmp_path: Path) -> None:
    """``lj-inverse flow -- --help`` in an empty folder prints flow.py's help (exit 0) and writes nothing."""
    env = {k: v for k, v in os.environ.items() if k != "LJ_DATASPACE"}
    env["PYTHONPATH"] = str(REPO)
    res = subprocess.run(
        [sys.executable, "-m", "project", "flow", "--dataspace", str(tmp_path), "--", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "usage: flow.py" in res.stdout and "submit" in res.stdout
    assert list(tmp_path.iterdir()) == []
