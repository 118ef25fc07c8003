"""What every worker that claims rows under a lease shares: a name unique to its run, and a doubling retry pause."""

import os
import socket
import uuid
from datetime import timedelta


def new_worker_id(name: str) -> str:
    """At most 58 characters, unique per run: a restarted process (pid 1 again in a container) must not pass for the one that died."""
    return f"{socket.gethostname()[:24]}:{os.getpid()}:{name[:16]}:{uuid.uuid4().hex[:8]}"


def doubling_pause(failed_tries: int, first: timedelta, longest: timedelta) -> timedelta:
    """`first` after one failed try, doubling with each further one, never longer than `longest`."""
    return min(first * 2 ** max(failed_tries - 1, 0), longest)
