"""The index under faults, across processes: the write lock refuses a second builder, and a
builder killed right after moving the pointer leaves nothing the next build does not clean.

(kill -9 at random points of a build: tests/index/test_index.py; damaged Chroma files:
tests/test_readiness.py; the long runs: `scripts/resilience.py`.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import slow_build

from mrs_assist.errors import IndexLockedError
from mrs_assist.index import build_index, selfcheck
from mrs_assist.index.fake import HashingEmbedder

_CLI_WITH_FAKE_EMBEDDER = """
import sys
import mrs_assist.index.build as build
from mrs_assist.index.fake import HashingEmbedder
build.get_embedder = lambda settings: HashingEmbedder()
from mrs_assist.cli import main
sys.argv = ["mrs-assist", "index"]
main()
"""


def _wait_for(marker: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert proc.poll() is None, "the first builder finished before the second could try"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_second_builder_process_is_refused_while_another_builds(tiny_corpus_dir, make_settings, tmp_path):
    settings = make_settings()
    first = build_index(settings, embedder=HashingEmbedder())
    marker = tmp_path / "building"
    env = {**os.environ, "MRS_ASSIST_CORPUS_DIR": str(settings.corpus_dir), "MRS_ASSIST_DATA_DIR": str(settings.data_dir)}
    builder = slow_build.start(settings, marker, 0.2, stdout=subprocess.PIPE, text=True)
    try:
        _wait_for(marker, builder)
        # this process, through the library ...
        with pytest.raises(IndexLockedError, match="another process is building the index"):
            build_index(settings, embedder=HashingEmbedder(), rebuild=True)
        # ... and a third process, through the CLI: one line on stderr, exit 1
        cli = subprocess.run([sys.executable, "-c", _CLI_WITH_FAKE_EMBEDDER], env=env, capture_output=True,
                             text=True, timeout=60)
        assert cli.returncode == 1
        assert cli.stderr.strip() == "error: another process is building the index"
        assert builder.poll() is None, "the refused builders must not disturb the one building"
    finally:
        out, _ = builder.communicate(timeout=60)
    assert builder.returncode == 0 and out.strip() == f"built {first.total}"
    assert selfcheck.check_index(settings, embedder=HashingEmbedder()).ok
    # the lock is free again: this process builds
    assert build_index(settings, embedder=HashingEmbedder(), rebuild=True).total == first.total


def test_builder_process_is_refused_while_this_process_builds(tiny_corpus_dir, make_settings, monkeypatch):
    settings = make_settings()
    env = {**os.environ, "MRS_ASSIST_CORPUS_DIR": str(settings.corpus_dir), "MRS_ASSIST_DATA_DIR": str(settings.data_dir)}
    outcome: dict[str, subprocess.CompletedProcess] = {}

    class Interrupting(HashingEmbedder):
        """While this process holds the lock (mid-embedding), another process tries to build."""

        def embed(self, texts):
            if not outcome:
                outcome["cli"] = subprocess.run([sys.executable, "-c", _CLI_WITH_FAKE_EMBEDDER], env=env,
                                                capture_output=True, text=True, timeout=60)
            return super().embed(texts)

    report = build_index(settings, embedder=Interrupting())
    assert outcome["cli"].returncode == 1
    assert "another process is building the index" in outcome["cli"].stderr
    assert report.changed and selfcheck.check_index(settings, embedder=HashingEmbedder()).ok


_KILLED_BEFORE_DROP = """
import os, signal, sys
from mrs_assist.config import Settings
from mrs_assist.index import build_index
from mrs_assist.index.fake import HashingEmbedder
import mrs_assist.index.build as build

build._drop = lambda client, name: os.kill(os.getpid(), signal.SIGKILL)  # dies right after the switch
build_index(Settings(corpus_dir=sys.argv[1], data_dir=sys.argv[2]), embedder=HashingEmbedder(), rebuild=True)
"""


def test_kill_between_pointer_switch_and_cleanup_leaves_nothing_behind(tiny_corpus_dir, make_settings):
    from mrs_assist.index import store

    settings = make_settings()
    first = build_index(settings, embedder=HashingEmbedder())
    proc = subprocess.run([sys.executable, "-c", _KILLED_BEFORE_DROP, str(settings.corpus_dir),
                           str(settings.data_dir)], timeout=60)
    assert proc.returncode == -9
    store.reset_local_client(settings)  # as a new process would read it
    client = store.open_client(settings)
    pointer = store.read_pointer(client, settings.collection, None)
    assert pointer.generation != first.generation  # the switch went through: the new one answers
    assert sorted(store.list_generations(client, settings.collection)) == sorted([first.generation, pointer.generation])
    assert selfcheck.check_index(settings, embedder=HashingEmbedder()).ok
    again = build_index(settings, embedder=HashingEmbedder())  # not a no-op: it drops the old one
    assert (again.generation, again.total) == (pointer.generation, first.total)
    assert list(store.list_generations(store.open_client(settings), settings.collection)) == [pointer.generation]
