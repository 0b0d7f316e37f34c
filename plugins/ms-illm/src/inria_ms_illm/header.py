"""The ms_illm header in the core container's ``meta`` and the payload split.

Nine bytes, little-endian::

    meta version (uint8) | hyper-latent string length (uint32) | CRC-32 (uint32)

The payload is the hyper-latent rANS string followed by the latent rANS
string. The CRC-32 covers the image size, the model id, the first five meta
bytes and the payload: CompressAI's rANS decoder reads its input without
bounds checks, so a truncated or bit-flipped stream is refused here, before
any rANS call (and :mod:`.codec` still pads what it hands the decoder so that
even a forged stream with a valid CRC cannot make it read outside its buffer).
"""
from __future__ import annotations

import struct
import zlib

from inria.errors import InriaError

META_VERSION = 1
_META = struct.Struct("<BII")


def crc(height: int, width: int, model: bytes, head: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack("<HH", height, width) + model + head))


def to_meta(height: int, width: int, model: bytes, hyper_len: int, payload: bytes) -> bytes:
    head = _META.pack(META_VERSION, hyper_len, 0)[:5]
    return head + struct.pack("<I", crc(height, width, model, head, payload))


def split_payload(box, codec: str) -> tuple[bytes, bytes]:
    """Check the header and the CRC of a parsed container; returns (hyper string, latent string)."""
    if len(box.meta) != _META.size:
        raise InriaError(f"corrupt {codec} header ({len(box.meta)} bytes, expected {_META.size})")
    version, hyper_len, check = _META.unpack(box.meta)
    if version != META_VERSION:
        raise InriaError(f"unknown {codec} header version {version}", hint=f"this plugin reads version {META_VERSION}")
    if hyper_len == 0 or hyper_len >= len(box.payload):
        raise InriaError(f"corrupt {codec} header (hyper-latent length {hyper_len} of a {len(box.payload)}-byte "
                         "payload)")
    if crc(box.height, box.width, box.model_id, box.meta[:5], box.payload) != check:
        raise InriaError(f"corrupt {codec} bitstream (CRC-32 mismatch: truncated, altered or bit-flipped)",
                         hint="decode the file the encoder wrote, unmodified")
    return box.payload[:hyper_len], box.payload[hyper_len:]
