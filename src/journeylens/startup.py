"""Process start-up: the imported engine libraries' objects taken out of the cyclic garbage collector.

A process that opens a warehouse has imported Ibis, sqlglot, pandas and pyarrow: about 145,000
objects the garbage collector tracks (module globals, classes, functions, caches). They live as
long as the process, but CPython's first *full* collection after the imports walks every one
of them — and it runs inside whatever allocates next, which is the first analysis: 0.08–0.12 s
of a 0.5 s CX-metrics call at 10M events, the largest single cost after the query itself
(``docs/benchmarks.md``, session 6; ADR 0103).

:func:`freeze_startup_objects` moves the objects that exist when the first warehouse is opened
into the collector's permanent generation (:func:`gc.freeze`), once per process: later
collections skip them, and reference counting still frees any of them that is dropped. The
cost is that a reference *cycle* already unreachable at that moment is never collected.

>>> import gc
>>> _ = freeze_startup_objects()               # True the first time in a process
>>> freeze_startup_objects(), gc.get_freeze_count() > 0
(False, True)
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_frozen = False


def freeze_startup_objects() -> bool:
    """Freeze the objects tracked now (the first call in a process only); whether it froze."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        gc.freeze()
        _frozen = True
        return True
