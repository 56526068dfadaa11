"""A process that exits while the pre-warmer's text thread is inside native code exits cleanly.

Before, the thread was a bare daemon: at interpreter exit Python killed it with ``pthread_exit``,
which unwinds through C++ frames (torch, DuckDB) and aborts the process — "terminate called
without an active exception", exit status 134 — even after every test had passed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# The text thread runs a DuckDB query that takes a few seconds (native code holding no GIL, the
# same situation as torch loading the model) while the main thread returns at once.
SCRIPT = textwrap.dedent("""
    import duckdb
    from journeylens.surfaces.web import prewarm

    def slow_native_work():
        duckdb.connect().sql("SELECT count(*) FROM range(150000000) t(i) WHERE hash(i) % 7 = 0").fetchall()
        return False

    prewarm.preload_text_models = slow_native_work
    prewarm.Prewarmer(lambda: None, poll_seconds=60).start()
    print("started", flush=True)
""")


def test_exit_during_native_work_in_the_text_thread_is_clean() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "started" in done.stdout
    assert "terminate called" not in done.stderr
