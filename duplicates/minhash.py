"""Shingles, MinHash signatures and LSH band keys, with the standard library only.

Each shingle is hashed once (blake2b, 64 bits); the ``NUM_PERM`` permutations are the
universal hashes ``(a*x + b) mod p`` over the Mersenne prime 2**61-1 with fixed seeds, so
signatures stored today compare with signatures computed next year.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterable, Sequence
from functools import lru_cache

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS  # 16 bands of 4 rows: pairs above ~0.5 Jaccard collide in a band
_PRIME = (1 << 61) - 1
_MAX = (1 << 61) - 1
_rng = random.Random(20240501)  # noqa: S311 - fixed, public permutations, not secrets
_PERMS = [(_rng.randrange(1, _PRIME), _rng.randrange(0, _PRIME)) for _ in range(NUM_PERM)]


def hash64(value: str) -> int:
    """Return a stable unsigned 64-bit hash of ``value``."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")


_BLAKE2B = hashlib.blake2b
_SIGNED = struct.Struct(">q").unpack


def signed64(value: str) -> int:
    """Return a stable signed 64-bit hash (fits a database BIGINT)."""
    return _SIGNED(_BLAKE2B(value.encode(), digest_size=8).digest())[0]


def shingles(tokens: Sequence[str], size: int = 3) -> set[str]:
    """Return the word ``size``-grams of ``tokens`` (the tokens themselves if fewer)."""
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def signature(items: Iterable[str]) -> list[int]:
    """Return the MinHash signature of a set of strings (all ``_MAX`` for an empty set)."""
    rows = [_permuted(item) for item in set(items)]
    if not rows:
        return [_MAX] * NUM_PERM
    # The minimum of each column of the items' rows.
    return list(map(min, zip(*rows, strict=True)))


@lru_cache(maxsize=4096)
def _permuted(item: str) -> tuple[int, ...]:
    """Return the item's hash under all ``NUM_PERM`` permutations. Kept per process (~2.6 kB
    an item): a desk's words repeat, and these 64 products were ~2/3 of a new ticket's
    signature (a row per word, then the minimum of each column)."""
    x = hash64(item) & _MAX
    return tuple((a * x + b) % _PRIME for a, b in _PERMS)


def pack(sig: Sequence[int]) -> bytes:
    """Return the signature as ``8 * NUM_PERM`` bytes (what the database stores)."""
    return struct.pack(f">{len(sig)}Q", *sig)


def unpack(data: bytes) -> list[int]:
    """Return the signature ``pack`` stored."""
    data = bytes(data)
    return list(struct.unpack(f">{len(data) // 8}Q", data))


def estimate_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    """Return the share of equal positions: an unbiased estimate of the sets' Jaccard."""
    if not a or len(a) != len(b) or a[0] == _MAX or b[0] == _MAX:
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def band_keys(sig: Sequence[int], scope: str) -> list[int]:
    """Return one signed 64-bit key per LSH band, namespaced by ``scope`` (account/contact).

    Two signatures share a key when they agree on all rows of a band; the scope keeps one
    account's keys apart from another's, so an index lookup only meets its own tickets.
    """
    if not sig or sig[0] == _MAX:
        return []
    # Spelled in one pass, then joined a band at a time (a map a band was a third of it).
    spelled = list(map(str, sig))
    return [
        signed64(f"{scope}|b{band}|" + ",".join(spelled[band * ROWS : (band + 1) * ROWS]))
        for band in range(BANDS)
    ]
