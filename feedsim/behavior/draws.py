"""Counter-based draws: the behaviour model's randomness as a pure function of where it is used.

A page's response needs a handful of random numbers per slot (did the hook land, how far
an early skip got, the lognormal watch ratio, five actions, leaving). Drawing them all up
front from a sequential generator costs more than the response itself, and most are never
used: slots after a user leaves are not viewed, a skip needs no normal and a hooked view
no skip. Here every draw is computed where it is used, as the SplitMix64 output function of
a counter:

    draw(key, row, slot, channel) = mix64(key + counter x GAMMA),
    counter = ((row x 256 + slot) x 16 + channel) + 1

`key` is one 64-bit number drawn from the behaviour stream per call; `row` is the user's
position in the call's batch. So the draws of a page do not depend on how the batch is split
across threads, and the fused kernel (which draws lazily, per viewed slot) and the numpy
steps (which draw whole blocks with `uniform_block` / `normal_block`) see the same numbers.
A uniform keeps the top 24 bits (numpy's float32 precision). A normal is the inverse CDF of
such a uniform (centred in its 2^-24 cell), interpolated in tables of scipy's `ndtri`: over p
at 4096 points for the central 98 %, and over t = sqrt(-2 log p), where the quantile is
nearly -t, in each 1 % tail; both within 3e-5 of `ndtri`. Box-Muller or `ndtri` itself cost
20 to 40 ns a draw inside the loop; the tables cost a few.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from feedsim.jit import njit

GAMMA = np.uint64(0x9E3779B97F4A7C15)            # SplitMix64's increment (the golden ratio)
MIX1, MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
MAX_SLOTS, CHANNELS = 256, 16                    # counter layout: slot < 256, channel < 16
HOOK, SKIP, LEAVE, ACTION0, NORMAL = 0, 1, 2, 3, 8   # channels; actions are 3..7
TO_UNIT = np.float32(1.0 / (1 << 24))
NORMAL_BINS, TAIL = 4096, 0.01          # central table's bins; beyond [TAIL, 1 - TAIL]: tails
TAIL_BINS, TAIL_T = 1024, (math.sqrt(-2.0 * math.log(TAIL)), 6.0)  # t's range in the tails


def normal_tables() -> tuple[np.ndarray, np.ndarray]:
    """(central, tail): the standard normal quantile at p = j / NORMAL_BINS (the infinite
    ends are never used), and z + t at TAIL_BINS + 1 points t in TAIL_T, t = sqrt(-2 log p)
    for the lower tail p. ((NORMAL_BINS + 1,), (TAIL_BINS + 1,)) float64

    Arguments of the kernels, not globals (numba cannot cache code with large globals)."""
    central = special.ndtri(np.arange(NORMAL_BINS + 1) / NORMAL_BINS)
    t = np.linspace(TAIL_T[0], TAIL_T[1], TAIL_BINS + 1)
    return central, special.ndtri(np.exp(-0.5 * t * t)) + t


NORMAL_TABLES = normal_tables()


@njit
def mix64(x):
    """SplitMix64's output function: a bijection of uint64 that scrambles every bit."""
    x = (x ^ (x >> np.uint64(30))) * MIX1
    x = (x ^ (x >> np.uint64(27))) * MIX2
    return x ^ (x >> np.uint64(31))


@njit
def _bits(key, row, slot, channel):
    counter = np.uint64(((row * MAX_SLOTS + slot) * CHANNELS + channel) + 1)
    return mix64(key + counter * GAMMA)


@njit
def uniform(key, row, slot, channel):
    """A float32 uniform on [0, 1) with 24 bits."""
    return np.float32(_bits(key, row, slot, channel) >> np.uint64(40)) * TO_UNIT


@njit
def _unit_centre(bits):
    """The centre of the draw's 2^-24 cell: a uniform on (0, 1), never 0 or 1. float64"""
    return (float(bits >> np.uint64(40)) + 0.5) * (1.0 / (1 << 24))


@njit
def _interpolate(table, x):
    """table at fractional index x (0 <= x < len - 1), linearly."""
    i = int(x)
    return table[i] + (x - i) * (table[i + 1] - table[i])


@njit
def _lower_tail(p, tail):
    """The normal quantile of p < TAIL, as -t + (z + t) interpolated in t."""
    t = np.sqrt(-2.0 * np.log(p))
    return _interpolate(tail, (t - TAIL_T[0]) * (TAIL_BINS / (TAIL_T[1] - TAIL_T[0]))) - t


@njit
def quantile(p, central, tail):
    """The standard normal quantile of p in (0, 1) from `normal_tables`."""
    if p < TAIL:
        return _lower_tail(p, tail)
    if p > 1.0 - TAIL:
        return -_lower_tail(1.0 - p, tail)
    return _interpolate(central, p * NORMAL_BINS)


@njit
def normal(key, row, slot, central, tail):
    """A float32 standard normal: the quantile of one draw (tables: NORMAL_TABLES)."""
    return np.float32(quantile(_unit_centre(_bits(key, row, slot, NORMAL)), central, tail))


def _block_bits(key: np.uint64, rows: np.ndarray, n_slots: int,
                channels: np.ndarray) -> np.ndarray:
    """_bits over (channels C, rows B, slots K), whole-array. (C, B, K) uint64"""
    row = rows.astype(np.uint64)[None, :, None]
    slot = np.arange(n_slots, dtype=np.uint64)[None, None, :]
    channel = channels.astype(np.uint64)[:, None, None]
    counter = (row * np.uint64(MAX_SLOTS) + slot) * np.uint64(CHANNELS) + channel + np.uint64(1)
    x = counter * GAMMA
    x += np.uint64(key)
    x ^= x >> np.uint64(30)
    x *= MIX1
    x ^= x >> np.uint64(27)
    x *= MIX2
    x ^= x >> np.uint64(31)
    return x


def uniform_block(key, rows: np.ndarray, n_slots: int, channels) -> np.ndarray:
    """`uniform` for every channel, row and slot. (C, B, K) float32"""
    bits = _block_bits(key, rows, n_slots, np.asarray(channels))
    return (bits >> np.uint64(40)).astype(np.float32) * TO_UNIT


def normal_block(key, rows: np.ndarray, n_slots: int) -> np.ndarray:
    """`normal` for every row and slot. (B, K) float32"""
    central, tail = NORMAL_TABLES
    bits = _block_bits(key, rows, n_slots, np.array([NORMAL]))[0]
    p = ((bits >> np.uint64(40)).astype(np.float64) + 0.5) * (1.0 / (1 << 24))
    z = _interpolate_block(central, p * NORMAL_BINS)
    for side, in_tail in ((1.0, p < TAIL), (-1.0, p > 1.0 - TAIL)):
        q = p[in_tail] if side > 0 else 1.0 - p[in_tail]
        t = np.sqrt(-2.0 * np.log(q))
        x = (t - TAIL_T[0]) * (TAIL_BINS / (TAIL_T[1] - TAIL_T[0]))
        z[in_tail] = side * (_interpolate_block(tail, x) - t)
    return z.astype(np.float32)


def _interpolate_block(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`_interpolate` over an array; indices past the table's end are clipped (their values
    are replaced by the caller)."""
    i = np.clip(x.astype(np.int64), 0, table.shape[0] - 2)
    with np.errstate(invalid="ignore"):              # the central table's infinite ends
        return table[i] + (x - i) * (table[i + 1] - table[i])


def page_key(rng: np.random.Generator) -> np.uint64:
    """One call's key, drawn from the behaviour stream (or a sampling generator)."""
    return rng.integers(0, np.iinfo(np.uint64).max, dtype=np.uint64, endpoint=True)
