"""The conditional entropy model: codes a grid of PQ indices group by group under the MIM transformer.

Schedule (deterministic, shared by encoder and decoder, nothing of it sent):

- the grid is cut into tiles of ``tile x tile`` positions (raster order),
  each coded independently (the transformer's attention span; bounded memory);
- in a tile of N positions, positions are ordered by an integer hash of their
  index (:func:`coding_order`; a fixed pseudo-random order, like the random
  masks the transformer was trained on) and split into S groups whose sizes
  follow the schedule (:func:`group_bounds`; cosine: few tokens first, when
  nothing is known, many at the end);
- the stream is group-major: group 0 of every tile, then group 1 of every
  tile, ... so the decoder runs the transformer once per group on all tiles
  in a batch. Within a group: positions in coding order, then sub-quantizers
  0..active-1.

Group ``s`` is coded with the probabilities the transformer predicts when
exactly the groups ``< s`` are visible. The hybrid mode sends only the first
``sent`` groups; the decoder fills the others group by group with the
transformer's prediction: the expected codeword (``mean``), the argmax, or a
seeded sample from the same integer tables.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from . import entropy_coding as ec
from .header import CodingSettings
from .mim import MIMTransformer

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


@lru_cache(maxsize=256)
def coding_order(h: int, w: int) -> np.ndarray:
    """The positions of an h x w tile (raster indices) in coding order: sorted by a 64-bit integer hash."""
    keys = [(_splitmix64((h << 40) | (w << 20) | p), p) for p in range(h * w)]
    return np.array([p for _, p in sorted(keys)], dtype=np.int64)


@lru_cache(maxsize=256)
def group_bounds(n: int, groups: int, schedule: str = "cosine") -> tuple[int, ...]:
    """Cumulative group ends (S + 1 values from 0 to n); every group non-empty when n >= S.

    Cosine: after s groups a fraction 1 - cos(pi/2 * s/S) is known (MaskGIT).
    The floats are rounded once to ints with a margin no platform's libm
    rounding can cross, and both sides call this same function.
    """
    bounds = [0]
    for s in range(1, groups + 1):
        frac = s / groups if schedule == "linear" else 1 - math.cos(math.pi / 2 * s / groups)
        c = int(n * frac + 0.5) if s < groups else n
        lo = bounds[-1] + (1 if n >= groups else 0)
        hi = n - (groups - s if n >= groups else 0)
        bounds.append(min(max(c, lo), hi))
    return tuple(bounds)


@dataclass(frozen=True)
class Tile:
    y: int
    x: int
    h: int
    w: int


def tiles(h: int, w: int, tile: int) -> list[Tile]:
    return [Tile(y, x, min(tile, h - y), min(tile, w - x)) for y in range(0, h, tile) for x in range(0, w, tile)]


class MIMEntropyModel:
    """Compress / decompress a (M, h, w) index grid with a trained :class:`MIMTransformer`.

    Coding runs a float64 copy of the transformer (see :mod:`.entropy_coding`
    for why); ``max_batch`` bounds how many tile-sequences go through it at once.
    """

    def __init__(self, net: MIMTransformer, max_batch: int = 32):
        self.net = copy.deepcopy(net).double().eval().requires_grad_(False)
        self.m, self.k, self.tile = net.m, net.k, net.tile
        self.max_batch = max_batch
        #: seconds spent in the transformer and in the range coder (for the speed benchmark)
        self.timing = {"transformer": 0.0, "coder": 0.0}

    # -- the transformer, batched per tile shape ------------------------------------------
    @staticmethod
    def _positions(t: Tile, s: int, cs: CodingSettings) -> np.ndarray:
        b = group_bounds(t.h * t.w, cs.groups, cs.schedule)
        return coding_order(t.h, t.w)[b[s]:b[s + 1]]

    @staticmethod
    def _visible(t: Tile, s: int, cs: CodingSettings) -> np.ndarray:
        b = group_bounds(t.h * t.w, cs.groups, cs.schedule)
        vis = np.zeros(t.h * t.w, dtype=bool)
        vis[coding_order(t.h, t.w)[:b[s]]] = True
        return vis

    @torch.no_grad()
    def _logits(self, grid: torch.Tensor, jobs: list[tuple[Tile, int]], cs: CodingSettings) -> list[np.ndarray]:
        """For each (tile, group s): float64 logits (len(group), active, K) given groups < s visible."""
        import time

        t0 = time.perf_counter()
        out: list[np.ndarray | None] = [None] * len(jobs)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for i, (t, _) in enumerate(jobs):
            by_shape.setdefault((t.h, t.w), []).append(i)
        active = cs.active
        keep = torch.arange(self.m).view(self.m, 1, 1) < active
        for (h, w), members in by_shape.items():
            for c in range(0, len(members), self.max_batch):
                chunk = members[c:c + self.max_batch]
                idx = torch.stack([grid[:, jobs[i][0].y:jobs[i][0].y + h, jobs[i][0].x:jobs[i][0].x + w]
                                   for i in chunk])
                vis = torch.from_numpy(np.stack([self._visible(*jobs[i], cs) for i in chunk])).view(-1, h, w)
                # zero what the decoder cannot know, so both sides feed identical tensors
                idx = torch.where(vis.unsqueeze(1) & keep, idx, torch.zeros((), dtype=idx.dtype))
                query = np.zeros((len(chunk), h * w), dtype=bool)
                for j, i in enumerate(chunk):
                    query[j, self._positions(*jobs[i], cs)] = True
                rows = self.net(idx, vis, active, query=torch.from_numpy(query))[:, :active].numpy()
                start = 0
                for j, i in enumerate(chunk):
                    pos = self._positions(*jobs[i], cs)
                    # rows come in ascending position order; the coder wants coding order
                    out[i] = rows[start:start + len(pos)][np.argsort(np.argsort(pos))]
                    start += len(pos)
        self.timing["transformer"] += time.perf_counter() - t0
        return out  # type: ignore[return-value]

    # -- coding ------------------------------------------------------------------------
    def compress(self, indices: torch.Tensor, cs: CodingSettings) -> tuple[bytes, int]:
        """indices (M, h, w) -> (payload, 16-bit checksum of the coded symbols)."""
        import time

        grid = indices.long().cpu()
        h, w = grid.shape[-2:]
        tl = tiles(h, w, self.tile)
        jobs = [(t, s) for s in range(cs.sent) for t in tl]  # group-major: the stream order
        logits = self._logits(grid, jobs, cs)
        t0 = time.perf_counter()
        enc = ec.Encoder()
        for (t, s), lg in zip(jobs, logits):
            pos = self._positions(t, s, cs)
            ys, xs = t.y + pos // t.w, t.x + pos % t.w
            symbols = grid[:cs.active, ys, xs].t().reshape(-1).numpy()  # position-major, then sub-quantizer
            enc.encode(symbols, ec.integer_frequencies(lg.reshape(-1, self.k), cs.grid))
        payload = enc.finish()
        self.timing["coder"] += time.perf_counter() - t0
        return payload, enc.check

    def decompress(self, payload: bytes, h: int, w: int, cs: CodingSettings):
        """payload -> (indices (M, h, w), checksum of the decoded symbols, soft fill or None).

        Unsent groups are filled: their tokens (argmax or sampled) serve as
        context for the next groups; with ``fill='mean'`` the third value is
        ``(filled (h, w) bool, probs (active, h, w, K) float64)``, the MIM
        distributions at the filled positions, from which the codec takes the
        expected codeword.
        """
        import time

        grid = torch.zeros(self.m, h, w, dtype=torch.long)
        soft = None
        if cs.fill == "mean" and cs.sent < cs.groups:
            soft = (torch.zeros(h, w, dtype=torch.bool), torch.zeros(cs.active, h, w, self.k, dtype=torch.float64))
        tl = tiles(h, w, self.tile)
        dec = ec.Decoder(payload)
        rng = np.random.Generator(np.random.PCG64(cs.seed))
        for s in range(cs.groups):
            jobs = [(t, s) for t in tl]
            logits = self._logits(grid, jobs, cs)
            t0 = time.perf_counter()
            for (t, _), lg in zip(jobs, logits):
                pos = self._positions(t, s, cs)
                freqs = ec.integer_frequencies(lg.reshape(-1, self.k), cs.grid)
                if s < cs.sent:
                    symbols = dec.decode(freqs)
                elif cs.fill == "sample":
                    cdf = np.cumsum(freqs, axis=1)
                    draw = (rng.random(len(freqs)) * cdf[:, -1]).astype(np.int64)
                    symbols = (cdf <= draw[:, None]).sum(1)
                else:
                    symbols = freqs.argmax(1)
                ys, xs = t.y + pos // t.w, t.x + pos % t.w
                if soft is not None and s >= cs.sent:
                    probs = torch.from_numpy(freqs / freqs.sum(1, keepdims=True)).view(len(pos), cs.active, self.k)
                    soft[0][ys, xs] = True
                    soft[1][:, ys, xs] = probs.transpose(0, 1)
                grid[:cs.active, ys, xs] = torch.from_numpy(symbols.reshape(len(pos), cs.active)).t()
            self.timing["coder"] += time.perf_counter() - t0
        return grid, dec.check, soft
