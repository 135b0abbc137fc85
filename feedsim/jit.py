"""Compiled loops for the few hot paths that whole-array numpy cannot fuse.

The behaviour model's response (`feedsim/behavior/kernel.py`) and the DPP's greedy picks
(`feedsim/rerank/dpp.py`) are sequential per row: each slot or pick depends on the one before.
As numpy they are dozens of small passes per step; compiled by numba they are one loop.
`njit` here is numba's, compiled with `nogil` (threads can share the work) and cached on disk
(the first run on a machine compiles, later runs load). Without numba installed it is a
no-op decorator: the loops then run as plain Python, correct but slow, and the behaviour
model uses its numpy steps instead (`AVAILABLE` is False).
"""
from __future__ import annotations

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
