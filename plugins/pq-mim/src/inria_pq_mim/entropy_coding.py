"""Range coding of categorical symbols with `constriction`, under integer probability tables.

Why integer tables. The decoder must rebuild *exactly* the distribution the
encoder used for each symbol, or the range decoder desynchronises and every
later symbol is garbage. The MIM transformer's logits are floats: a
different batch size, thread count or BLAS kernel changes their last bits.
So the float never reaches the coder directly:

1. the transformer runs in float64 (reduction-order noise ~1e-15 nat);
2. logits are rounded to a grid of ``1 / grid`` nat and shifted so the mode
   is 0: two runs disagree only if a logit lies within ~1e-13 of a rounding
   boundary (about one symbol in 1e11);
3. the rounded integer logits index a fixed table of integer weights
   ``round(2**40 * exp(-i / grid))``, and the frequencies are
   ``1 + floor(w * (2**20 - K) / sum(w))``: pure integer arithmetic, every
   symbol >= 1 (always codable);
4. constriction's ``Categorical(perfect=False)`` receives those integers as
   float64 values (exact) and rescales them to its fixed-point precision
   with its own deterministic integer code: bit-identical input, identical
   model.

The bitstream also carries a 16-bit checksum of the decoded symbols, so the
one-in-1e11 mismatch (or a corrupted payload) is reported as an error
instead of returning a wrong image silently.

Symbols are written with one ``constriction.stream.queue.RangeEncoder``; its
32-bit words are stored little-endian with the trailing zero bytes dropped
(the decoder pads them back; :func:`words_to_bytes`).
"""
from __future__ import annotations

import math
import zlib
from functools import lru_cache

import numpy as np

from inria.errors import InriaError

#: probabilities are integers out of 2**FREQ_BITS (the smallest is 2**-20 -> at most 20 bits a symbol)
FREQ_BITS = 20
#: logits further than this (in nats) below the mode are clipped there
LOGIT_RANGE = 30


@lru_cache(maxsize=8)
def _exp_table(grid: int) -> np.ndarray:
    return np.array([round(2.0 ** 40 * math.exp(-i / grid)) for i in range(LOGIT_RANGE * grid + 1)], dtype=np.int64)


def integer_frequencies(logits, grid: int) -> np.ndarray:
    """Float logits (R, K) -> int64 frequencies (R, K), each >= 1, each row summing to <= 2**FREQ_BITS."""
    logits = np.asarray(logits, dtype=np.float64)
    k = logits.shape[-1]
    if not np.isfinite(logits).all():
        raise InriaError("the entropy model produced non-finite logits (corrupt weights?)")
    q = np.rint(logits * grid).astype(np.int64)
    q = np.minimum(q.max(axis=-1, keepdims=True) - q, LOGIT_RANGE * grid)
    w = _exp_table(grid)[q]
    return 1 + (w * ((1 << FREQ_BITS) - k)) // w.sum(axis=-1, keepdims=True)


def _model():
    import constriction

    # perfect=False: fast and deterministic; encoder and decoder must agree on it (they share this function).
    return constriction.stream.model.Categorical(perfect=False)


def words_to_bytes(words: np.ndarray) -> bytes:
    return np.asarray(words, dtype="<u4").tobytes().rstrip(b"\0")


def bytes_to_words(data: bytes) -> np.ndarray:
    data = bytes(data) + b"\0" * (-len(data) % 4)
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


class Encoder:
    """Append symbols with their frequency tables; :meth:`finish` returns the payload bytes."""

    def __init__(self):
        import constriction

        self._coder = constriction.stream.queue.RangeEncoder()
        self._model = _model()
        self._crc = 0

    def encode(self, symbols: np.ndarray, freqs: np.ndarray) -> None:
        symbols = np.ascontiguousarray(symbols, dtype=np.int32)
        if symbols.size:
            self._coder.encode(symbols, self._model, np.ascontiguousarray(freqs, dtype=np.float64))
            self._crc = zlib.crc32(symbols.astype("<i4").tobytes(), self._crc)

    @property
    def check(self) -> int:
        """16-bit checksum of every symbol encoded so far (stored in the header)."""
        return self._crc & 0xFFFF

    def finish(self) -> bytes:
        return words_to_bytes(self._coder.get_compressed())


class Decoder:
    def __init__(self, payload: bytes):
        import constriction

        self._coder = constriction.stream.queue.RangeDecoder(bytes_to_words(payload))
        self._model = _model()
        self._crc = 0

    def decode(self, freqs: np.ndarray) -> np.ndarray:
        if not len(freqs):
            return np.zeros(0, dtype=np.int64)
        try:
            out = self._coder.decode(self._model, np.ascontiguousarray(freqs, dtype=np.float64))
        except Exception as e:  # constriction raises on data it cannot decode
            raise InriaError(f"corrupt bitstream payload ({type(e).__name__}: {str(e).splitlines()[0][:80]})") from None
        out = np.asarray(out, dtype=np.int32)
        self._crc = zlib.crc32(out.astype("<i4").tobytes(), self._crc)
        return out.astype(np.int64)

    @property
    def check(self) -> int:
        return self._crc & 0xFFFF
