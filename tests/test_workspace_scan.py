"""WorkspaceScan: a workspace's files read in a thread of their own while the command loads the compiler.

What must hold: the result is the one a scan in the caller's thread gives (files, then views over them);
a failure in the thread is raised in the caller's thread with the source named, and the connection the
scan opened is closed; a bad path is refused before any thread starts; and the CLI really starts the scan
before it imports sqlglot (else the thread buys nothing).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from kpi_model.engine import Engine
from kpi_model.models import Goal, Kpi, Source, Unit, Workspace
from kpi_model.sources import Limits, SourceError, WorkspaceScan
from kpi_model.sources import workspace as workspace_module

from .conftest import REPO, SAMPLE_WORKSPACE


def _workspace(*sources: Source) -> Workspace:
    return Workspace(
        name="scan",
        units=[Unit(id="ops", name="Operations")],
        goals=[Goal(id="g", unit="ops", statement="Ship on time")],
        sources=list(sources),
        kpis=[Kpi(id="shipped", name="Shipped", goal="g", source=sources[0].name, expression="count(*)")],
    )


def _orders(folder: Path) -> Path:
    path = folder / "orders.csv"
    path.write_text("order_date,amount,status\n2025-01-03,10.5,won\n2025-01-09,4,lost\n2025-02-01,7,won\n")
    return path


def _recording_connect(monkeypatch: pytest.MonkeyPatch) -> list[duckdb.DuckDBPyConnection]:
    opened: list[duckdb.DuckDBPyConnection] = []
    real_connect = duckdb.connect

    def connect(*args, **kwargs):
        opened.append(real_connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(workspace_module.duckdb, "connect", connect)
    return opened


def test_files_are_read_in_the_scans_thread_and_views_in_the_callers_after_them(tmp_path, monkeypatch):
    _orders(tmp_path)
    workspace = _workspace(
        Source(name="orders", path="orders.csv"),
        Source(name="won", sql="SELECT * FROM orders WHERE status = 'won'"),
        Source(name="won_big", sql="SELECT * FROM won WHERE amount > 8"),  # a view over a view: order matters
    )
    threads: dict[str, str] = {}
    real_scan, real_define = workspace_module.scan_file, workspace_module._define_views

    def scan_file(con, name, *args, **kwargs):
        threads[name] = threading.current_thread().name
        return real_scan(con, name, *args, **kwargs)

    def define_views(con, views, available, timeout_s):
        threads["views"] = threading.current_thread().name
        return real_define(con, views, available, timeout_s)

    monkeypatch.setattr(workspace_module, "scan_file", scan_file)
    monkeypatch.setattr(workspace_module, "_define_views", define_views)
    connection, scans, profiles = WorkspaceScan(workspace, tmp_path).result()
    assert threads == {"orders": "kpi-wizard-scan", "views": threading.current_thread().name}
    assert set(scans) == {"orders"} and profiles == {}
    assert connection.execute("SELECT count(*), sum(amount) FROM won_big").fetchone() == (1, 10.5)
    connection.close()


def test_the_threaded_scan_gives_what_the_sample_gave_before(tmp_path):
    """A scan on a connection of the caller's: the same views and values as the engine's."""
    from kpi_model import workspace_file

    workspace = workspace_file.load(SAMPLE_WORKSPACE)
    con = duckdb.connect()
    _, scans, _ = WorkspaceScan(workspace, SAMPLE_WORKSPACE.parent, connection=con).result()
    assert set(scans) == {s.name for s in workspace.sources if s.path}
    with Engine.for_workspace(workspace, SAMPLE_WORKSPACE.parent) as engine:
        for name in scans:
            own = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            assert engine.query(f'SELECT count(*) FROM "{name}"')[1] == [own], name
    con.close()


def test_a_file_that_fails_in_the_thread_fails_in_the_caller_naming_the_source_and_closes_the_connection(
    tmp_path, monkeypatch
):
    (tmp_path / "orders.csv").write_bytes(b"\x00\x01\x02 PK not a csv \xff\xfe" * 50)
    opened = _recording_connect(monkeypatch)
    scan = WorkspaceScan(_workspace(Source(name="orders", path="orders.csv")), tmp_path)
    with pytest.raises(SourceError, match="Source 'orders'"):
        scan.result()
    assert len(opened) == 1
    with pytest.raises(duckdb.ConnectionException):
        opened[0].execute("SELECT 1")


def test_a_file_that_goes_while_it_is_read_is_named_by_its_source(tmp_path, monkeypatch):
    _orders(tmp_path)

    def vanished(con, name, path, *args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", str(path))

    monkeypatch.setattr(workspace_module, "scan_file", vanished)
    with pytest.raises(SourceError, match=r"Source 'orders': orders.csv could not be read \(No such file"):
        WorkspaceScan(_workspace(Source(name="orders", path="orders.csv")), tmp_path).result()


def test_a_view_that_fails_after_the_files_closes_the_connection_too(tmp_path, monkeypatch):
    _orders(tmp_path)
    opened = _recording_connect(monkeypatch)
    workspace = _workspace(Source(name="orders", path="orders.csv"), Source(name="bad", sql="SELECT nope FROM orders"))
    with pytest.raises(SourceError, match=r"Source 'bad' \(a SQL view\)"):
        WorkspaceScan(workspace, tmp_path).result()
    with pytest.raises(duckdb.ConnectionException):
        opened[0].execute("SELECT 1")


def test_a_connection_given_by_the_caller_stays_open_after_a_failure(tmp_path):
    (tmp_path / "orders.csv").write_text("")
    con = duckdb.connect()
    with pytest.raises(SourceError, match="Source 'orders'"):
        WorkspaceScan(_workspace(Source(name="orders", path="orders.csv")), tmp_path, connection=con).result()
    assert con.execute("SELECT 41 + 1").fetchone() == (42,)


def test_a_path_out_of_the_folder_is_refused_before_a_thread_starts(tmp_path, monkeypatch):
    started: list[str] = []
    monkeypatch.setattr(workspace_module.threading.Thread, "start", lambda self: started.append(self.name))
    with pytest.raises(SourceError, match="climbs out"):
        WorkspaceScan(_workspace(Source(name="orders", path="../orders.csv")), tmp_path, confine=True)
    assert started == []


def test_an_engine_from_a_failed_scan_leaves_no_spill_folder(tmp_path, monkeypatch):
    (tmp_path / "orders.csv").write_text("")
    made: list[str] = []
    real_mkdtemp = __import__("tempfile").mkdtemp

    def mkdtemp(**kwargs):
        made.append(real_mkdtemp(**kwargs))
        return made[-1]

    monkeypatch.setattr("kpi_model.sources.workspace.tempfile.mkdtemp", mkdtemp)
    with pytest.raises(SourceError):
        Engine.for_workspace(_workspace(Source(name="orders", path="orders.csv")), tmp_path)
    assert made and not any(Path(folder).exists() for folder in made)


def test_a_file_is_loaded_within_the_memory_limit_and_spills_to_the_scans_own_folder(tmp_path, monkeypatch):
    """Before, a JSON source loaded on an unlimited connection and spilled into the working directory."""
    (tmp_path / "orders.json").write_text('[{"order_date": "2025-01-02", "amount": 3}]')
    monkeypatch.chdir(tmp_path)
    seen: list[tuple[str, str]] = []
    real_load = workspace_module.load_file_source

    def load(con, *args, **kwargs):
        seen.append(con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone())
        return real_load(con, *args, **kwargs)

    monkeypatch.setattr(workspace_module, "load_file_source", load)
    scan = WorkspaceScan(_workspace(Source(name="orders", path="orders.json")), tmp_path, memory_limit="64MB")
    connection, _, profiles = scan.result()
    assert profiles["orders"].rows == 1
    ((limit, spill),) = seen
    assert limit in ("61.0 MiB", "64.0 MB") and Path(spill) == scan.spill and scan.spill.parent != tmp_path
    connection.close()
    with Engine.for_workspace(_workspace(Source(name="orders", path="orders.json")), tmp_path) as engine:
        assert engine.query("SELECT sum(amount) FROM orders")[1] == [(3,)]
        folder = engine._spill
    assert folder is not None and not folder.exists()
    assert not (tmp_path / ".tmp").exists()


def test_views_that_double_at_every_level_are_stopped_within_the_views_time_limit(tmp_path):
    _orders(tmp_path)
    chain = [Source(name="v0", sql="SELECT * FROM orders")] + [
        Source(name=f"v{i}", sql=f"SELECT * FROM v{i - 1} UNION ALL SELECT * FROM v{i - 1}") for i in range(1, 40)
    ]
    workspace = _workspace(Source(name="orders", path="orders.csv"), *chain)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"the view 'v\d+' took too long to define and was stopped"):
        WorkspaceScan(workspace, tmp_path, limits=Limits(view_timeout_s=1.0)).result()
    assert time.monotonic() - started < 10  # one deadline for all the views, not one per view


def test_reading_a_workspaces_files_imports_no_sqlglot():
    code = textwrap.dedent(
        """
        import sys
        import kpi_model.cli, kpi_model.workspace_file
        from kpi_model.sources import WorkspaceScan, configured_memory_limit
        print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlglot' or m.startswith('kpi_model.formula')))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_compute_starts_reading_the_files_before_it_imports_sqlglot():
    """The whole point of the thread: sqlglot loads while the files are read, not before they start."""
    code = textwrap.dedent(
        f"""
        import sys
        from kpi_model.sources import workspace
        started = []
        real_init = workspace.WorkspaceScan.__init__
        def init(self, *args, **kwargs):
            started.append('scan')
            real_init(self, *args, **kwargs)
        workspace.WorkspaceScan.__init__ = init
        class Watch:
            def find_spec(self, name, path=None, target=None):
                if name == 'sqlglot':
                    started.append('sqlglot')
                return None
        sys.meta_path.insert(0, Watch())
        from kpi_model.cli import main
        code = main(['compute', {str(SAMPLE_WORKSPACE)!r}, '--format', 'json', '--from', '2025-01-01'])
        print(code, started[:2])
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "0 ['scan', 'sqlglot']", result.stderr[-2000:]


# Ctrl-C: each script below holds DuckDB busy at a known step, says so on stdout, and is sent SIGINT there.
# A shell starts background jobs with SIGINT ignored, and Python keeps it ignored (a run of `make test` in the
# background did): each script takes Ctrl-C as a terminal delivers it to a command in the foreground.
_BUSY_QUERY = "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3"
_FOREGROUND = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
_IN_THE_SCAN = (
    _FOREGROUND
    + f"""
import sys
from kpi_model.sources import workspace
def busy_scan(con, name, path, *args, **kwargs):
    print('busy', flush=True)
    con.execute({_BUSY_QUERY!r}).fetchall()
workspace.scan_file = busy_scan
from kpi_model.cli import main
sys.exit(main(['compute', {str(SAMPLE_WORKSPACE)!r}]))
"""
)
_IN_THE_QUERY = (
    _FOREGROUND
    + f"""
import sys
from kpi_model.engine import Engine
def busy_compute(self, *args, **kwargs):
    print('busy', flush=True)
    self.query({_BUSY_QUERY!r})
Engine.compute_many = busy_compute
from kpi_model.cli import main
sys.exit(main(['compute', {str(SAMPLE_WORKSPACE)!r}]))
"""
)


@pytest.mark.parametrize("script", [_IN_THE_SCAN, _IN_THE_QUERY], ids=["in the files' thread", "in the query"])
@pytest.mark.parametrize(
    ("signal_name", "code", "said"), [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")]
)
def test_ctrl_c_or_sigterm_stops_compute_cleanly_without_traceback_abort_or_spill_left(
    tmp_path, script, signal_name, code, said
):
    import signal

    env = {**__import__("os").environ, "TMPDIR": str(tmp_path)}  # spill folders land here, to be counted
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "busy"
    # DuckDB notices a Ctrl-C by polling once its query runs; one that lands before can be lost (in DuckDB,
    # with or without this tool), so the signal comes when the query is surely under way, as a user's would.
    time.sleep(0.5)
    child.send_signal(getattr(signal, signal_name))
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == code, stderr[-2000:]
    assert stderr.strip() == said
    assert list(tmp_path.glob("kpi-wizard-spill-*")) == []
