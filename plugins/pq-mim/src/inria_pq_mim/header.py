"""The pq_mim header: the coding settings a decoder needs, in the core container's ``meta``.

Eight bytes (little-endian)::

    meta version | active M | S groups | groups sent | flags | logit grid | checksum (uint16)
    [fill seed, uint32, only when some groups are filled by sampling]

flags: bits 0-1 the fill mode (0 mean, 1 sample, 2 argmax), bit 2 schedule='linear'. Everything else (tile,
downsampling, codebooks) is fixed by the model, which the container's model
id names; the latent grid size follows from the image size.
"""
from __future__ import annotations

import dataclasses
import struct

from inria.errors import InriaError

META_VERSION = 1
_META = struct.Struct("<BBBBBBH")
_SEED = struct.Struct("<I")
FILLS = ("mean", "sample", "argmax")


@dataclasses.dataclass(frozen=True)
class CodingSettings:
    active: int                 # sub-quantizers sent (1..M)
    groups: int                 # S
    sent: int                   # groups actually sent (1..S); the rest are filled by the MIM model
    schedule: str = "cosine"    # group sizes: cosine | linear
    grid: int = 16              # logits rounded to 1/grid nat
    fill: str = "mean"          # mean | sample | argmax
    seed: int = 0               # fill='sample' seed

    @classmethod
    def from_config(cls, c) -> "CodingSettings":
        return cls(c.active, c.coding_groups, c.groups_sent, c.group_schedule, c.logit_grid, c.fill, c.fill_seed)

    @property
    def samples(self) -> bool:
        return self.fill == "sample" and self.sent < self.groups


def to_meta(s: CodingSettings, check: int) -> bytes:
    if not (1 <= s.active <= 255 and 1 <= s.sent <= s.groups <= 255 and 1 <= s.grid <= 255):
        raise InriaError(f"coding settings out of the header's range: {s}")
    flags = FILLS.index(s.fill) | ((s.schedule == "linear") << 2)
    meta = _META.pack(META_VERSION, s.active, s.groups, s.sent, flags, s.grid, check & 0xFFFF)
    return meta + (_SEED.pack(s.seed) if s.samples else b"")


def from_meta(meta: bytes, num_subquantizers: int) -> tuple[CodingSettings, int]:
    """Parse and check the header; returns (settings, checksum). Errors are one line."""
    if len(meta) < _META.size:
        raise InriaError(f"corrupt pq_mim header ({len(meta)} bytes, expected {_META.size})")
    version, active, groups, sent, flags, grid, check = _META.unpack_from(meta)
    if version != META_VERSION:
        raise InriaError(f"unknown pq_mim header version {version}", hint=f"this plugin reads version {META_VERSION}")
    problems = []
    if not 1 <= active <= num_subquantizers:
        problems.append(f"active sub-quantizers {active} (the model has {num_subquantizers})")
    if not 1 <= sent <= groups:
        problems.append(f"groups sent {sent} of {groups}")
    if flags & ~0b111 or flags & 0b11 >= len(FILLS):
        problems.append(f"flags {flags:#x}")
    if grid < 1:
        problems.append("logit grid 0")
    samples = flags & 0b11 == FILLS.index("sample") and 1 <= sent < groups
    expected = _META.size + (_SEED.size if samples else 0)
    if len(meta) != expected:
        problems.append(f"header length {len(meta)} (expected {expected})")
    if problems:
        raise InriaError(f"corrupt pq_mim header ({'; '.join(problems)})")
    settings = CodingSettings(
        active=active, groups=groups, sent=sent, schedule="linear" if flags & 4 else "cosine", grid=grid,
        fill=FILLS[flags & 0b11], seed=_SEED.unpack_from(meta, _META.size)[0] if samples else 0,
    )
    return settings, check
