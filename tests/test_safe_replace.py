"""Outputs are swapped in by renames: an interrupt or a kill never loses the old output, leftovers of a killed
run are cleaned up by the next one, and ``--force`` only ever replaces edgekit's own outputs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from edgekit.cli import app
from edgekit.errors import EdgekitError
from edgekit.fsutil import atomic_dir, atomic_file, recover_stale
from typer.testing import CliRunner

runner = CliRunner()


def _old_output(tmp_path: Path) -> Path:
    final = tmp_path / "art"
    final.mkdir()
    (final / "edgekit.json").write_text("old")
    return final


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".edgekit-" in p.name)


def test_an_interrupt_between_the_renames_keeps_the_old_output(tmp_path, monkeypatch):
    final = _old_output(tmp_path)
    real_replace, calls = os.replace, []

    def interrupted_second_rename(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # old is aside, new not yet in: Ctrl-C lands here
            raise KeyboardInterrupt
        return real_replace(src, dst)

    with pytest.raises(KeyboardInterrupt), atomic_dir(final, force=True, marker="edgekit.json") as staging:
        (staging / "edgekit.json").write_text("new")
        monkeypatch.setattr(os, "replace", interrupted_second_rename)
    monkeypatch.setattr(os, "replace", real_replace)
    assert (final / "edgekit.json").read_text() == "old" and _hidden(tmp_path) == []


#: when the run is killed -> (rename after which it dies: 0 = while building, which output survives)
KILL_POINTS = {
    "while building": (0, "old"),
    "old aside, new not yet in": (1, "old"),
    "new in, old not yet deleted": (2, "new"),
}


def _run_and_get_killed(tmp_path: Path, after_rename: int) -> None:
    """A real process replacing ``tmp_path/art``, SIGKILLed right after its ``after_rename``-th rename
    (0: while building the new output)."""
    code = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from edgekit.fsutil import atomic_dir
        real, count = os.replace, [0]
        def replace(src, dst):
            real(src, dst)
            count[0] += 1
            if count[0] == {after_rename}:
                os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace
        with atomic_dir(Path({str(tmp_path / "art")!r}), force=True, marker="edgekit.json") as staging:
            (staging / "edgekit.json").write_text("new")
            if {after_rename} == 0:
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr


@pytest.mark.parametrize("moment", sorted(KILL_POINTS))
def test_a_killed_run_is_repaired_by_the_next_one(tmp_path, moment):
    """Whenever the run is killed, the next edgekit run in that folder leaves one complete output (the old one
    until the new one was in) and no hidden leftovers."""
    after_rename, survivor = KILL_POINTS[moment]
    final = _old_output(tmp_path)
    _run_and_get_killed(tmp_path, after_rename)
    if after_rename == 1:
        assert not final.exists()  # the moment where delete-then-rename would have lost both
    assert _hidden(tmp_path)  # the killed run's temporaries are still there ...
    recover_stale(tmp_path)  # ... until the next edgekit run in this folder (every writer calls this first)
    assert (final / "edgekit.json").read_text() == survivor and _hidden(tmp_path) == []


def test_force_replaces_only_edgekit_outputs(tmp_path, monkeypatch):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_text("precious")
    with (
        pytest.raises(EdgekitError, match="not an edgekit output"),
        atomic_dir(mine, force=True, marker="edgekit.json"),
    ):
        pass
    monkeypatch.chdir(mine)
    (mine / "edgekit.json").write_text("{}")
    with (
        pytest.raises(EdgekitError, match="refusing to replace"),  # the working directory itself
        atomic_dir(mine, force=True, marker="edgekit.json"),
    ):
        pass
    assert (mine / "holiday.jpg").read_text() == "precious"


@pytest.mark.parametrize("output", [".", "", "..", "{parent}"])
def test_a_recipe_cannot_force_over_itself_or_its_folder(tmp_path, output, monkeypatch):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "pipeline.json").write_text("{}")  # even a folder that looks like a pipeline output
    (tmp_path / "pipeline.json").write_text("{}")
    recipe = folder / "r.toml"
    recipe.write_text(f'model = "nano-cls"\noutput = "{output.format(parent=tmp_path)}"\n')
    (folder / "notes.txt").write_text("keep me")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["pipeline", str(recipe), "--force"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert recipe.is_file() and (folder / "notes.txt").read_text() == "keep me"


def test_outputs_get_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "art", marker="edgekit.json") as staging:
            (staging / "edgekit.json").write_text("{}")
        with atomic_file(tmp_path / "r.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(old)
    assert (tmp_path / "art").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644


def test_a_file_output_that_is_a_directory_is_refused(tmp_path):
    (tmp_path / "r.json").mkdir()
    with pytest.raises(EdgekitError, match="is a directory"), atomic_file(tmp_path / "r.json"):
        pass


def test_a_leftover_whose_owner_holds_no_lock_is_cleaned_up(tmp_path):
    """Leftovers are judged by their owner's lock, not a process id (a 20-digit PID once raised OverflowError,
    and in a container every edgekit is PID 1: its leftovers always looked alive)."""
    leftover = tmp_path / ".out.edgekit-new-0123456789abcdef-0123abcd"
    leftover.mkdir()
    (tmp_path / ".edgekit-0123456789abcdef.lock").write_text("")  # a lock file nobody holds any more
    recover_stale(tmp_path)
    assert _hidden(tmp_path) == []


def test_a_live_owner_keeps_its_temporaries_whatever_its_pid_and_the_kernel_frees_them_when_it_dies(tmp_path):
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from edgekit.fsutil import atomic_dir
        with atomic_dir(Path({str(tmp_path / "art")!r}), marker="edgekit.json") as staging:
            (staging / "edgekit.json").write_text("new")
            print("ready", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        before = _hidden(tmp_path)
        assert len(before) == 2  # its staging directory and its lock
        recover_stale(tmp_path)  # another edgekit in the same folder, perhaps in another PID namespace
        assert _hidden(tmp_path) == before
    finally:
        child.kill()
        child.wait()
    recover_stale(tmp_path)
    assert _hidden(tmp_path) == [] and not (tmp_path / "art").exists()


def test_sigterm_unwinds_like_ctrl_c_one_line_and_nothing_left(tmp_path):
    """``docker stop`` and CI timeouts send SIGTERM: the temporaries go, the old output stays, one line."""
    final = _old_output(tmp_path)
    code = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        import edgekit.cli as cli
        from edgekit.fsutil import atomic_dir

        @cli.app.command("slow-write")
        def slow_write() -> None:
            with atomic_dir(Path({str(final)!r}), force=True, marker="edgekit.json") as staging:
                (staging / "edgekit.json").write_text("new")
                os.kill(os.getpid(), signal.SIGTERM)

        sys.argv = ["edgekit", "slow-write"]
        cli.main()
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 130, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: interrupted"), lines
    assert (final / "edgekit.json").read_text() == "old" and _hidden(tmp_path) == []
