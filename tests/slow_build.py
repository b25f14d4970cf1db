"""A rebuild of the index in another process, slow enough to be caught mid-way.

`start(settings, marker)` runs `build_index(..., rebuild=True)` with a fake embedder that
embeds one chunk at a time, touches ``marker`` before each and then sleeps ``delay`` seconds:
once the marker exists the builder is writing, so a test can kill it or race it.
It prints "built <total>" when it finishes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = """
import sys, time
from pathlib import Path
from mrs_assist.config import Settings
from mrs_assist.index import build_index
from mrs_assist.index.fake import HashingEmbedder
import mrs_assist.index.build as build

build._EMBED_BATCH = 1
marker, delay = Path(sys.argv[3]), float(sys.argv[4])

class Slow(HashingEmbedder):
    def embed(self, texts):
        marker.touch()
        time.sleep(delay)
        return super().embed(texts)

report = build_index(Settings(corpus_dir=sys.argv[1], data_dir=sys.argv[2]), embedder=Slow(), rebuild=True)
print("built", report.total)
"""


def start(settings: Any, marker: Path, delay: float = 0.2, **popen: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(settings.corpus_dir), str(settings.data_dir),
                             str(marker), str(delay)], **popen)
