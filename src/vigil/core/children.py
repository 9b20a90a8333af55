"""Worker processes that cannot outlive the process that started them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal


def die_with_parent(parent: int) -> None:
    """Linux: have the kernel SIGKILL this worker when its parent dies (however it dies, `kill -9`
    included), and leave at once if the parent died while this worker was still starting (before
    the request could take effect). Use as a process pool's initializer."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)
