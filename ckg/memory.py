"""Giving a finished stage's memory back to the operating system before the next large one."""

from __future__ import annotations

import ctypes
import gc


def release_memory() -> None:
    """Collect garbage, then ask the C allocator to return its free pages (glibc's ``malloc_trim``).

    Why: the objects a build stage frees go back to glibc's heap, which keeps most of
    them mapped; native code that allocates next (the store's bulk loader, ~1.8 GB at
    100k concepts) then adds to a process size that still counts them. At 100k
    concepts the build's peak was 0.9 GB higher without this. Elsewhere than glibc it
    does nothing.
    """
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)
