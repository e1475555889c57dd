"""Progress of long work, reported through the ``ckg`` logger and nowhere else.

The library never writes to a terminal: it logs stages ("parse + resolve…"),
model loads ("loading model…") and counted work (encoding 320/1191 texts) at
INFO on the ``ckg`` logger, which is silent unless someone attaches a handler.
The CLI attaches one on stderr (see ``cli/app.py``); a server or a notebook may
attach its own. Counted work is drawn as a tqdm bar when stderr is a terminal
and as one plain line per tenth otherwise, so logs of CI runs stay short.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("ckg")

#: What counted work calls after each chunk: ``advance(n_done_in_this_chunk)``.
Advance = Callable[[int], None]


def _enabled() -> bool:
    return log.isEnabledFor(logging.INFO) and log.hasHandlers()


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Log ``name…`` on entry and ``name: 1.2 s`` on exit (also when it fails)."""
    log.info("%s…", name)
    start = time.perf_counter()
    try:
        yield
    finally:
        log.info("%s: %.1f s", name, time.perf_counter() - start)


@contextmanager
def counted(total: int, what: str) -> Iterator[Advance]:
    """Report progress through ``total`` units of ``what`` (e.g. "texts encoded")."""
    if total <= 0 or not _enabled():
        yield lambda _n: None
        return
    if sys.stderr.isatty():
        from tqdm import tqdm

        with tqdm(total=total, desc=what, unit="", file=sys.stderr, leave=False) as bar:
            yield bar.update
        log.info("%s: %d", what, total)
        return
    done = 0
    reported = 0

    def advance(n: int) -> None:
        nonlocal done, reported
        done += n
        tenth = done * 10 // total
        if tenth > reported or done == total:
            reported = tenth
            log.info("%s: %d/%d", what, done, total)

    yield advance
