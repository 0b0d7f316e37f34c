import os

import pytest

os.environ.setdefault("INRIA_PROGRESS", "0")


CODEC_SRC = '''
import dataclasses, io
from inria.config import doc
from inria.interfaces import Codec

@dataclasses.dataclass
class Config:
    quality: int = doc(50, "1..100")
    def validate(self):
        if not 1 <= self.quality <= 100:
            raise ValueError(f"quality {self.quality} is outside 1..100")

class FakeJpeg(Codec):
    """A JPEG codec for core tests."""
    Config = Config
    def compress(self, image):
        from inria.ops.image import to_pil
        buf = io.BytesIO(); to_pil(image).save(buf, format="JPEG", quality=self.config.quality)
        return buf.getvalue()
    def decompress(self, data):
        from PIL import Image
        from inria.ops.image import from_pil
        return from_pil(Image.open(io.BytesIO(data)))
'''

FAILING_SRC = '''
import dataclasses
from inria.interfaces import Codec

class Exploding(Codec):
    """Fails at run time, for the keep-earlier-artifacts test."""
    def compress(self, image):
        raise RuntimeError("boom")
    def decompress(self, data):
        raise RuntimeError("boom")
'''


def install(root, name="fake-codecs", **kw):
    from inria.testing import fake_plugin

    return fake_plugin(root, name, entry_points={"inria.codec": {"fakejpeg": "fake_codec_mod:FakeJpeg",
                                                                  "exploding": "fake_failing_mod:Exploding"}},
                       files={"fake_codec_mod.py": CODEC_SRC, "fake_failing_mod.py": FAILING_SRC}, **kw)


@pytest.fixture
def fake_codecs():
    """install(root, name=..., **kw): a context manager installing the fake codec plugin."""
    return install
