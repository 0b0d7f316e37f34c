"""``webp``: lossy WebP through Pillow (libwebp), a stronger classic baseline than JPEG."""
from __future__ import annotations

import dataclasses

from inria.config import doc

from .pillow_codec import PillowCodec, PillowConfig


@dataclasses.dataclass
class WebPConfig(PillowConfig):
    method: int = doc(4, "libwebp effort, 0 (fast) .. 6 (slowest, smallest files)")

    def validate(self) -> None:
        super().validate()
        if not 0 <= self.method <= 6:
            raise ValueError(f"method {self.method} is out of range; accepted: an integer 0..6")


class WebP(PillowCodec):
    """Lossy WebP (Pillow/libwebp): quality 1..100 or a target bpp; bytes = the .webp file."""

    name = "webp"
    Config = WebPConfig
    format = "WEBP"
    max_side = 16383  # WebP stores 14-bit sides

    def save_options(self) -> dict:
        return {"method": self.config.method}

    @staticmethod
    def looks_like(data: bytes) -> bool:
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
