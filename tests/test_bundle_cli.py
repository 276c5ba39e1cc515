"""`kpi-wizard bundle` and `kpi-wizard unbundle`: a workspace and its data travel as one file."""

from __future__ import annotations

import zipfile

import pytest

from kpi_model import workspace_file
from kpi_model.bundle import DEFAULT_LIMITS
from kpi_model.cli import main

from .conftest import SAMPLE_WORKSPACE
from .test_bundle import HOSTILE

WORKSPACE = """\
name: Tiny shop
units: [{id: sales, name: Sales}]
goals: [{id: grow, unit: sales, statement: Grow revenue}]
sources: [{name: orders, path: elsewhere/orders.csv}, {name: leads, path: missing.csv}]
kpis:
  - {id: revenue, name: Revenue, goal: grow, source: orders, expression: sum(amount), time_column: order_date}
"""
ORDERS = "order_id,order_date,amount\n1,2025-01-03,10\n2,2025-02-04,20\n3,2025-02-20,5\n"


def test_bundle_then_unbundle_then_compute_gives_the_same_csv(tmp_path, capsys):
    out = tmp_path / "sample.zip"
    assert main(["bundle", str(SAMPLE_WORKSPACE), "-o", str(out)]) == 0
    assert "7 data file(s)" in capsys.readouterr().out
    assert main(["unbundle", str(out), "-o", str(tmp_path / "opened")]) == 0
    printed = capsys.readouterr().out
    assert "verified" in printed and "kpi-wizard compute" in printed
    assert main(["compute", str(SAMPLE_WORKSPACE), "--kpi", "revenue"]) == 0
    original = capsys.readouterr().out
    assert main(["compute", str(tmp_path / "opened" / "workspace.yaml"), "--kpi", "revenue"]) == 0
    assert capsys.readouterr().out == original and original.count("\n") > 12


def test_bundle_takes_data_flags_and_notes_sources_without_a_file(tmp_path, capsys):
    (tmp_path / "shop.yaml").write_text(WORKSPACE)
    (tmp_path / "orders_2025.csv").write_text(ORDERS)
    out = tmp_path / "shop.zip"
    code = main(["bundle", str(tmp_path / "shop.yaml"), "-o", str(out), "--data", f"orders={tmp_path}/orders_2025.csv"])
    assert code == 0
    err = capsys.readouterr().err
    assert "leads" in err and "missing.csv" in err and "orders" not in err
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == {"manifest.json", "workspace.yaml", "data/orders.csv"}
        bundled = workspace_file.loads(archive.read("workspace.yaml").decode())
    assert bundled.source("orders").path == "data/orders.csv" and bundled.source("leads").path is None


def test_bundle_refuses_to_overwrite_and_names_the_flag(tmp_path, capsys):
    out = tmp_path / "sample.zip"
    out.write_bytes(b"mine")
    assert main(["bundle", str(SAMPLE_WORKSPACE), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main(["bundle", str(SAMPLE_WORKSPACE), "-o", str(tmp_path / "sample.tar")]) == 2
    assert "does not end in .zip" in capsys.readouterr().err


def test_unbundle_refuses_a_hostile_bundle_with_exit_2_and_writes_nothing(tmp_path, capsys):
    hostile = tmp_path / "evil.zip"
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("../../escaped.csv", "a\n")
    assert main(["unbundle", str(hostile), "-o", str(tmp_path / "opened")]) == 2
    err = capsys.readouterr().err
    assert "climbs out with '..'" in err and "make the bundle again" in err
    assert sorted(p.name for p in tmp_path.parent.rglob("escaped.csv")) == []
    assert not (tmp_path / "opened").exists()


def test_unbundle_into_a_folder_with_files_is_refused(tmp_path, capsys):
    out = tmp_path / "sample.zip"
    assert main(["bundle", str(SAMPLE_WORKSPACE), "-o", str(out)]) == 0
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert main(["unbundle", str(out), "-o", str(tmp_path / "busy")]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", [c for c, h in HOSTILE.items() if h.limits == DEFAULT_LIMITS])
def test_unbundle_refuses_each_hostile_bundle_of_the_answer_key(tmp_path, capsys, case):
    hostile = HOSTILE[case]
    crafted = hostile.build(tmp_path / "hostile.zip")
    code = main(["unbundle", str(crafted), "-o", str(tmp_path / "opened")])
    err = capsys.readouterr().err
    assert code in (1, 2) and hostile.expected in err and hostile.fix in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["hostile.zip"], "nothing is written anywhere"
