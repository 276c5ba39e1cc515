"""Saves under contention and under kill -9: no acknowledged edit is ever lost.

Each saver works like the app: it loads the current version with its fingerprint, makes
its own edit, and saves with ``expected`` set to that fingerprint; on a conflict it reloads
and redoes the edit, as a person would after "reload the page". The workspace lock must
make compare-and-write atomic across threads of one server and across processes.

Run with ``-s`` to see the figures (saves, conflicts retried, kill trials).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import stat
import threading
import time
from pathlib import Path

from kpi_model.models import Unit, Workspace
from kpi_model.store import HISTORY_LIMIT, ConflictError, WorkspaceStore

THREADS = 200
PROCESSES, EDITS_PER_PROCESS = 8, 25
KILL_TRIALS, KILL_SEED = 24, 20260510


def _context() -> multiprocessing.context.BaseContext:
    # A fork server forks children from a clean process with kpi_model already imported:
    # fast to start (a kill loop starts many) and safe although pytest's process has threads.
    multiprocessing.set_forkserver_preload(["kpi_model.store", "kpi_model.workspace_file"])
    return multiprocessing.get_context("forkserver")


def _new_store(root: Path) -> tuple[WorkspaceStore, str]:
    store = WorkspaceStore(root)
    workspace_id = store.new_id()
    store.save(workspace_id, Workspace(name="Contended scorecard"), note="Created")
    return store, workspace_id


def _edit(workspace: Workspace, number: int) -> Workspace:
    """Edit ``number``: append its own word to the description (every edit differs and can be found).

    A small edit keeps each save cheap, so 200 of them under contention fit in seconds.
    """
    return workspace.model_copy(update={"description": f"{workspace.description or ''} e{number:03d}".strip()})


def _save_edit(store: WorkspaceStore, workspace_id: str, number: int, rng: random.Random) -> int:
    """Save edit ``number`` until it is acknowledged; returns how many conflicts it met."""
    conflicts = 0
    while True:
        workspace, seen = store.load_current(workspace_id)
        try:
            store.save(workspace_id, _edit(workspace, number), expected=seen, note=f"Edit {number}")
        except ConflictError:
            conflicts += 1
            # The person reloads and redoes it; people do not all retry in the same millisecond.
            time.sleep(rng.uniform(0, min(0.2, 0.001 * 2 ** min(conflicts, 8))))
            continue
        return conflicts


def _edits(workspace: Workspace) -> list[int]:
    return [int(word[1:]) for word in (workspace.description or "").split()]


def _assert_chain(store: WorkspaceStore, workspace_id: str, edits: set[int]) -> None:
    """Every acknowledged edit is in the current version, and the history is a chain of single edits."""
    current = store.load(workspace_id)
    numbers = _edits(current)
    assert sorted(numbers) == sorted(edits), "an acknowledged edit is missing (or one appeared twice)"
    versions = store.versions(workspace_id)
    assert len(versions) == HISTORY_LIMIT
    assert len({v.id for v in versions}) == len(versions), "two versions share a stamp"
    assert store.load_version(workspace_id, versions[0].id) == current, "the newest version is not the current one"
    kept = [_edits(store.load_version(workspace_id, v.id)) for v in reversed(versions)]
    for older, newer in itertools.pairwise(kept):
        assert newer[:-1] == older, "a save replaced another's edit instead of building on it"
    assert [v.note for v in versions] == [f"Edit {n[-1]}" for n in reversed(kept)]


def test_simultaneous_saves_from_threads_lose_nothing(tmp_path):
    store, workspace_id = _new_store(tmp_path)
    start = threading.Barrier(THREADS)
    conflicts: dict[int, int] = {}
    failures: list[BaseException] = []

    def saver(number: int) -> None:
        rng = random.Random(number)
        start.wait()
        try:
            conflicts[number] = _save_edit(store, workspace_id, number, rng)
        except BaseException as error:  # reported below, with the thread's edit
            failures.append(error)

    threads = [threading.Thread(target=saver, args=(n,)) for n in range(THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a save hung"
    assert not failures, failures[:3]
    _assert_chain(store, workspace_id, set(range(THREADS)))
    print(
        f"\nthreads: {THREADS} edits saved, {sum(conflicts.values())} conflicts retried, 0 lost "
        f"({time.perf_counter() - began:.1f} s)"
    )


def _process_saver(root: str, workspace_id: str, first: int, count: int, start, results) -> None:
    store = WorkspaceStore(root)
    rng = random.Random(first)
    start.wait()
    conflicts = sum(_save_edit(store, workspace_id, number, rng) for number in range(first, first + count))
    results.put((first, conflicts))


def test_simultaneous_saves_from_processes_lose_nothing(tmp_path):
    store, workspace_id = _new_store(tmp_path)
    context = _context()
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(
            target=_process_saver,
            args=(str(tmp_path), workspace_id, index * EDITS_PER_PROCESS, EDITS_PER_PROCESS, start, results),
        )
        for index in range(PROCESSES)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    reported = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
        assert worker.exitcode == 0
    _assert_chain(store, workspace_id, set(range(PROCESSES * EDITS_PER_PROCESS)))
    print(
        f"\nprocesses: {PROCESSES * EDITS_PER_PROCESS} edits saved by {PROCESSES} processes, "
        f"{sum(c for _, c in reported)} conflicts retried, 0 lost ({time.perf_counter() - began:.1f} s)"
    )


def _version(workspace: Workspace) -> int:
    return int(workspace.name.removeprefix("version "))


READY = -1


def _save_forever(root: str, workspace_id: str, connection) -> None:
    """Save version after version, reporting each one after the store acknowledged it."""
    store = WorkspaceStore(root)
    workspace, seen = store.load_current(workspace_id)
    number = _version(workspace)
    padding = [Unit(id=f"pad{i}", name="Padding " * 20) for i in range(30)]  # a save that takes a moment
    connection.send(READY)
    while True:
        number += 1
        edited = workspace.model_copy(update={"name": f"version {number}", "units": padding[: number % 30]})
        seen = store.save(workspace_id, edited, expected=seen)
        connection.send(number)


def test_kill_9_mid_save_keeps_the_last_acknowledged_version(tmp_path):
    store = WorkspaceStore(tmp_path)
    workspace_id = store.new_id()
    store.save(workspace_id, Workspace(name="version 0"))
    context = _context()
    rng = random.Random(KILL_SEED)
    on_disk, acknowledged_total, in_flight_kept = 0, 0, 0
    for trial in range(KILL_TRIALS):
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_save_forever, args=(str(tmp_path), workspace_id, sender))
        child.start()
        sender.close()
        # Killed at a random moment of saving, not of starting up (a loaded machine starts a child slowly).
        assert receiver.poll(60) and receiver.recv() == READY, f"trial {trial}: the saver did not start"
        time.sleep(rng.uniform(0.02, 0.3))
        child.kill()  # SIGKILL: no cleanup, no finally blocks
        child.join(timeout=10)
        acknowledged = []
        while receiver.poll(1):
            try:
                acknowledged.append(receiver.recv())
            except EOFError:
                break
        receiver.close()
        last = acknowledged[-1] if acknowledged else on_disk
        workspace = store.load(workspace_id)  # loads: no partial or invalid file
        found = _version(workspace)
        assert found in (last, last + 1), f"trial {trial}: on disk version {found}, last acknowledged {last}"
        numbers = [_version(store.load_version(workspace_id, v.id)) for v in store.versions(workspace_id)]
        assert numbers == sorted(numbers, reverse=True), f"trial {trial}: history out of order: {numbers}"
        assert numbers[0] in (found, found + 1), "the newest version is neither current nor the save in flight"
        in_flight_kept += found == last + 1
        acknowledged_total += len(acknowledged)
        on_disk = found
    assert acknowledged_total >= KILL_TRIALS, "the saver hardly saved: did a killed save leave the lock held?"
    store.save(workspace_id, Workspace(name=f"version {on_disk + 1}"))
    assert not list(tmp_path.rglob("*.tmp")), "the next save sweeps up what killed saves left"
    print(
        f"\nkill -9: {KILL_TRIALS} trials, {acknowledged_total} acknowledged saves, none lost; "
        f"{in_flight_kept} times the save in flight was kept too"
    )


def test_saves_set_modes_without_touching_the_process_umask(tmp_path, monkeypatch):
    """The umask is shared by every thread: a save must not change it even for a moment."""

    def no_umask(mask: int) -> int:
        raise AssertionError("os.umask was called during a save")

    monkeypatch.setattr(os, "umask", no_umask)
    store, workspace_id = _new_store(tmp_path / "store")
    current = tmp_path / "store" / workspace_id / "workspace.yaml"
    assert stat.S_IMODE(current.stat().st_mode) == 0o644, "a new file is readable by the team, writable by the owner"
    current.chmod(0o600)
    store.save(workspace_id, Workspace(name="Kept private"))
    assert stat.S_IMODE(current.stat().st_mode) == 0o600, "a save keeps the mode the operator gave the file"
