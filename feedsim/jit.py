"""Compiled loops for the few hot paths that whole-array numpy cannot fuse.

The behaviour model's response (`feedsim/behavior/kernel.py`) and the DPP's greedy picks
(`feedsim/rerank/dpp.py`) are sequential per row: each slot or pick depends on the one before.
As numpy they are dozens of small passes per step; compiled by numba they are one loop.
`njit` here is numba's, compiled with `nogil` (threads can share the work) and cached on disk
(the first run on a machine compiles, later runs load). numba is a dependency of feedsim;
were it missing, `njit` would be a no-op and the loops would run as plain Python, correct
but far too slow to serve a day (the exact top-k, the merge and the page fill have no numpy
twin), while the behaviour model would switch to its numpy steps (`AVAILABLE` is False).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

try:
    import numba
    AVAILABLE = True
except ImportError:                                             # pragma: no cover
    numba = None
    AVAILABLE = False


def njit(fn):
    """fn compiled by numba (nogil, cached), or fn itself without numba."""
    if numba is None:                                           # pragma: no cover
        return fn
    return numba.njit(nogil=True, cache=True)(fn)


_POOLS: dict[int, ThreadPoolExecutor] = {}


def thread_pool(threads: int) -> ThreadPoolExecutor:
    """A process-wide pool per thread count, for compiled loops run over shards of rows (they
    release the GIL). It holds no simulation state; the behaviour model and the exact top-k
    share it, one call at a time."""
    if threads not in _POOLS:
        _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="feedsim")
    return _POOLS[threads]
