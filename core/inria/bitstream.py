"""The container every codec plugin wraps its payload in.

Layout (all integers little-endian; a few bytes, counted in bpp)::

    magic     3 bytes  b"INR"
    version   1 byte   FORMAT_VERSION
    height    2 bytes  uint16, original image height (before any padding)
    width     2 bytes  uint16
    model_id  4 bytes  first bytes of the SHA-256 of the model weights
    meta_len  varint   length of the codec-specific header
    meta      meta_len bytes
    pay_len   varint   payload length
    payload   pay_len bytes (the entropy-coded data)

:func:`unpack` never trusts a length it reads: each one is checked against
the bytes actually left, the varints are bounded, and trailing bytes are an
error, so a truncated or random file fails with one line instead of a hang
or a huge allocation.
"""
from __future__ import annotations

import dataclasses
import hashlib
import struct

from .errors import InriaError

MAGIC = b"INR"
FORMAT_VERSION = 1
MAX_SIDE = 65535
_FIXED = struct.Struct("<3sBHH4s")


@dataclasses.dataclass(frozen=True)
class Container:
    height: int
    width: int
    model_id: bytes
    meta: bytes
    payload: bytes


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    value, shift = 0, 0
    for i in range(5):  # at most 5 bytes: values < 2**35, far above any real length
        if pos + i >= len(data):
            raise InriaError(f"truncated bitstream (ends inside the {what} length)")
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos + i + 1
    raise InriaError(f"corrupt bitstream ({what} length is not a valid varint)")


def model_id(state: dict) -> bytes:
    """A 4-byte identifier of a model: SHA-256 over sorted names, dtypes, shapes and bytes of its tensors."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name]
        h.update(name.encode())
        if hasattr(t, "detach"):
            t = t.detach().cpu().contiguous()
            h.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
            h.update(t.view(-1).view(__import__("torch").uint8).numpy().tobytes() if t.numel() else b"")
        else:
            h.update(repr(t).encode())
    return h.digest()[:4]


def pack(payload: bytes, height: int, width: int, model: bytes = b"\0" * 4, meta: bytes = b"") -> bytes:
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise InriaError(f"image size {height}x{width} is outside the container's 1..{MAX_SIDE} px per side")
    if len(model) != 4:
        raise ValueError("model id must be 4 bytes")
    return b"".join([_FIXED.pack(MAGIC, FORMAT_VERSION, height, width, model), _varint(len(meta)), meta,
                     _varint(len(payload)), payload])


def unpack(data: bytes, expect_model: bytes | None = None, codec: str = "codec") -> Container:
    """Parse and check a container; errors are one line naming what is wrong."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InriaError(f"a bitstream must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) < _FIXED.size:
        raise InriaError(f"truncated bitstream ({len(data)} bytes, the header alone is {_FIXED.size})")
    magic, version, height, width, mid = _FIXED.unpack_from(data, 0)
    if magic != MAGIC:
        raise InriaError(f"not an inria bitstream (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise InriaError(f"unknown bitstream format version {version}", hint=f"this core reads version {FORMAT_VERSION}")
    if height == 0 or width == 0:
        raise InriaError(f"corrupt bitstream (image size {height}x{width})")
    pos = _FIXED.size
    meta_len, pos = _read_varint(data, pos, "header")
    if meta_len > len(data) - pos:
        raise InriaError(f"truncated bitstream (header says {meta_len} header bytes, {len(data) - pos} remain)")
    meta = data[pos:pos + meta_len]
    pos += meta_len
    pay_len, pos = _read_varint(data, pos, "payload")
    if pay_len != len(data) - pos:
        state = "truncated" if pay_len > len(data) - pos else "corrupt"
        raise InriaError(f"{state} bitstream (payload length {pay_len}, {len(data) - pos} bytes present)")
    if expect_model is not None and mid != expect_model:
        raise InriaError(f"bitstream was made by model {mid.hex()}, but this {codec} is model {expect_model.hex()}",
                         hint="decode it with the model that encoded it")
    return Container(height, width, mid, meta, data[pos:])
