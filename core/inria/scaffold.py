"""``inria new-plugin NAME --interface X``: a working plugin package to start from.

The generated package installs with pip, registers one implementation under
``inria.<interface>``, and its first test checks that the registry discovers
it and that a recipe step can use it.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

from . import __version__
from .errors import InriaError

_IMPL = {
    "codec": ('''
        """A lossless example codec: PNG bytes (replace it with yours)."""
        import dataclasses
        import io

        from inria.config import doc
        from inria.errors import InriaError
        from inria.interfaces import Codec


        @dataclasses.dataclass
        class Config:
            compress_level: int = doc(6, "zlib level 0..9")

            def validate(self):
                if not 0 <= self.compress_level <= 9:
                    raise ValueError(
                        f"compress_level {self.compress_level} is outside 0..9")


        class {cls}(Codec):
            """Example codec: PNG."""

            Config = Config

            def compress(self, image) -> bytes:
                from inria.ops.image import to_pil

                shape = tuple(getattr(image, "shape", ()))
                if len(shape) != 3 or shape[0] != 3:
                    raise InriaError(f"expected a (3, H, W) image, got {shape}")
                buf = io.BytesIO()
                level = self.config.compress_level
                to_pil(image).save(buf, format="PNG", compress_level=level)
                return buf.getvalue()

            def decompress(self, data: bytes):
                from PIL import Image, UnidentifiedImageError

                from inria.ops.image import from_pil

                try:
                    return from_pil(Image.open(io.BytesIO(data)))
                except (UnidentifiedImageError, OSError) as e:
                    raise InriaError(f"not a PNG bitstream ({e})") from None
        ''', '''
        def test_roundtrip_is_lossless():
            import torch

            codec = inria.create("codec", "{name}")
            x = torch.rand(3, 16, 24)
            y = codec.decompress(codec.compress(x))
            assert y.shape == x.shape
            assert (y - (x * 255).round() / 255).abs().max() < 1e-6


        def test_bad_input_is_one_line_error():
            import pytest
            import torch

            from inria.errors import InriaError

            codec = inria.create("codec", "{name}")
            with pytest.raises(InriaError, match="expected a"):
                codec.compress(torch.rand(16, 24))
            with pytest.raises(InriaError, match="not a PNG bitstream"):
                codec.decompress(b"not a png")
            with pytest.raises(InriaError, match="outside 0..9"):
                inria.create("codec", "{name}", compress_level=12)
        '''),
    "index": ('''
        """An exact (brute-force) example index on numpy."""
        import dataclasses

        import numpy as np

        from inria.config import doc
        from inria.interfaces import Index


        @dataclasses.dataclass
        class Config:
            metric: str = doc("l2", "l2 or ip")


        class {cls}(Index):
            """Example index: brute force."""

            Config = Config

            def __init__(self, config=None, **kw):
                super().__init__(config, **kw)
                self.x = None
                self.ids = None

            def train(self, x):
                pass

            def add(self, x, ids=None):
                x = np.asarray(x, dtype=np.float32)
                ids = np.arange(len(x)) if ids is None else np.asarray(ids)
                if self.x is None:
                    self.x, self.ids = x, ids
                else:
                    self.x = np.vstack([self.x, x])
                    self.ids = np.concatenate([self.ids, ids])

            @property
            def ntotal(self):
                return 0 if self.x is None else len(self.x)

            def search(self, q, k):
                q = np.asarray(q, dtype=np.float32)
                if self.config.metric == "ip":
                    s = -(q @ self.x.T)
                else:
                    s = ((q ** 2).sum(1)[:, None] - 2 * q @ self.x.T
                         + (self.x ** 2).sum(1)[None])
                order = np.argsort(s, axis=1)[:, :k]
                return np.take_along_axis(s, order, 1), self.ids[order]
        ''', '''
        def test_finds_itself():
            import numpy as np

            index = inria.create("index", "{name}")
            x = np.random.default_rng(0).normal(size=(50, 8))
            index.add(x.astype("float32"))
            dist, ids = index.search(x[:5], 1)
            assert (ids[:, 0] == np.arange(5)).all()
        '''),
    "watermarker": ('''
        """An example watermarker: the message in the blue channel's LSBs.

        Each message bit is written, repeated across the image, into the least
        significant bit of the blue channel's 8-bit values; detection reads
        those bits back and takes each bit's majority vote. Fragile (any
        re-encoding erases it): replace it with your method.
        """
        import dataclasses

        import numpy as np

        from inria.config import doc
        from inria.errors import InriaError
        from inria.eval.metrics import binomial_pvalue, bit_accuracy
        from inria.interfaces import Detection, Watermarker


        @dataclasses.dataclass
        class Config:
            bits: int = doc(32, "message length, >= 1")
            fpr: float = doc(1e-6, "target false-positive rate, in (0, 1)")

            def validate(self):
                if self.bits < 1:
                    raise ValueError(f"bits {self.bits} must be >= 1")
                if not 0 < self.fpr < 1:
                    raise ValueError(f"fpr {self.fpr} is outside (0, 1)")


        class {cls}(Watermarker):
            """Example watermarker: least significant bits of the blue channel."""

            Config = Config

            def __init__(self, config=None, **kw):
                super().__init__(config, **kw)
                self.bits = self.config.bits  # read by random_messages()

            def _messages(self, messages, n):
                if messages is None:
                    raise InriaError(
                        "embed needs messages, bool (N, bits)",
                        hint="draw some with random_messages(n)")
                messages = np.asarray(messages)
                if messages.shape != (n, self.bits):
                    raise InriaError(
                        f"messages have shape {messages.shape}, "
                        f"expected ({n}, {self.bits})")
                return messages.astype(bool)

            def embed(self, images, messages=None):
                import torch

                messages = self._messages(messages, len(images))
                out = []
                for im, m in zip(images, messages):
                    v = (im * 255).round()
                    blue = v[2].flatten()
                    reps = np.resize(m.astype(np.float64), blue.numel())
                    blue = blue - blue % 2 + torch.from_numpy(reps).to(blue)
                    v[2] = blue.view_as(v[2])
                    out.append(v / 255)
                if isinstance(images, torch.Tensor):
                    out = torch.stack(out)
                return out, messages

            def detect(self, images, reference=None):
                bits = []
                for im in images:
                    lsb = ((im[2] * 255).round().flatten() % 2).numpy()
                    if len(lsb) < self.bits:
                        raise InriaError(
                            f"an image of {len(lsb)} pixels cannot hold "
                            f"{self.bits} bits")
                    usable = lsb[: len(lsb) // self.bits * self.bits]
                    bits.append(usable.reshape(-1, self.bits).mean(0) > 0.5)
                bits = np.array(bits)
                n = len(bits)
                if reference is None:
                    acc = np.full(n, np.nan)
                    matches, p = np.zeros(n), np.ones(n)
                else:
                    acc = bit_accuracy(bits, reference)
                    matches = np.round(acc * self.bits)
                    p = binomial_pvalue(matches, self.bits)
                return Detection(bits=bits, p_value=p, score=matches,
                                 detected=p < self.config.fpr,
                                 bit_accuracy=acc, fpr=self.config.fpr)
        ''', '''
        def test_embed_then_detect():
            import torch

            wm = inria.create("watermarker", "{name}")
            x = torch.rand(2, 3, 32, 32)
            msg = wm.random_messages(2)
            marked, _ = wm.embed(x, msg)
            det = wm.detect(marked, msg)
            assert det.bit_accuracy.min() == 1.0 and det.detected.all()
            assert not wm.detect(x, msg).detected.any()


        def test_bad_input_is_one_line_error():
            import pytest
            import torch

            from inria.errors import InriaError

            wm = inria.create("watermarker", "{name}")
            x = torch.rand(2, 3, 32, 32)
            with pytest.raises(InriaError, match="embed needs messages"):
                wm.embed(x)
            with pytest.raises(InriaError, match="expected"):
                wm.embed(x, wm.random_messages(3))
            with pytest.raises(InriaError, match="bits 0 must be >= 1"):
                inria.create("watermarker", "{name}", bits=0)
        '''),
    "curator": ('''
        """An example curator: uniform random sampling (replace it with yours)."""
        import dataclasses

        import numpy as np

        from inria.config import doc
        from inria.errors import InriaError
        from inria.interfaces import Curator


        @dataclasses.dataclass
        class Config:
            seed: int = doc(0, "random seed")


        class {cls}(Curator):
            """Example curator: random rows."""

            Config = Config
            n_rows = 0

            def fit(self, embeddings, ctx=None):
                self.n_rows = len(embeddings)
                return {"rows": self.n_rows}

            def sample(self, n):
                if not 1 <= n <= self.n_rows:
                    raise InriaError(
                        f"n={n} is not in 1..{self.n_rows} (the fitted rows)")
                rng = np.random.default_rng(self.config.seed)
                return np.sort(rng.choice(self.n_rows, n, replace=False))
        ''', '''
        def test_samples_distinct_rows():
            import numpy as np

            cur = inria.create("curator", "{name}")
            cur.fit(np.zeros((100, 4), dtype="float32"))
            idx = cur.sample(10)
            assert len(set(idx.tolist())) == 10
        '''),
    "backbone": ('''
        """An example backbone: a tiny CNN (replace it with your architecture)."""
        import dataclasses

        import numpy as np

        from inria.config import doc
        from inria.interfaces import Backbone


        @dataclasses.dataclass
        class Config:
            num_classes: int = doc(10, "classifier outputs")
            width: int = doc(16, "channels")


        class {cls}(Backbone):
            """Example backbone: conv -> pool -> linear."""

            Config = Config

            def __init__(self, config=None, **kw):
                import torch.nn as nn

                super().__init__(config, **kw)
                w = self.config.width
                self.features = nn.Sequential(
                    nn.Conv2d(3, w, 3, padding=1), nn.GELU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten())
                self.head = nn.Linear(w, self.config.num_classes)
                self._module = nn.Sequential(self.features, self.head)

            @property
            def module(self):
                return self._module

            def embed(self, images):
                import torch

                with torch.no_grad():
                    return self.features(images).numpy().astype(np.float32)

            def classify(self, images):
                import torch

                with torch.no_grad():
                    return self._module(images)
        ''', '''
        def test_shapes():
            import torch

            bb = inria.create("backbone", "{name}")
            x = torch.rand(4, 3, 16, 16)
            assert bb.embed(x).shape == (4, 16)
            assert bb.classify(x).shape == (4, 10)
        '''),
}


# A demo recipe shipped as package data (<package>/recipes/*.yaml), so that
# `inria recipes` lists it and `inria run NAME_demo` runs it: (last step id,
# recipe). Only for the interfaces whose example runs from images alone (the
# example index and curator keep no state in their model directory).
_RECIPE = {
    "codec": ("rd", """
        # {name} on two sample photos: bits per pixel (real bytes) and PSNR
        name: {name}_demo
        steps:
          - id: photos
            run: images
            with: {{source: samples, size: 64, limit: 2}}
          - id: rd
            codec: {name}
            do: evaluate
            inputs: {{images: photos}}
        """),
    "watermarker": ("detect", """
        # {name}: mark two sample photos, attack them, detect the messages
        name: {name}_demo
        steps:
          - id: photos
            run: images
            with: {{source: samples, size: 64, limit: 2}}
          - id: mark
            watermarker: {name}
            do: embed
            inputs: {{images: photos}}
          - id: attacked
            run: attack
            with: {{attacks: [none, brightness_1.5]}}
            inputs: {{images: mark}}
          - id: detect
            watermarker: {name}
            do: detect
            inputs: {{images: attacked, messages: mark}}
        """),
    "backbone": ("features", """
        # {name}: features of two sample photos
        name: {name}_demo
        steps:
          - id: photos
            run: images
            with: {{source: samples, size: 32, limit: 2}}
          - id: features
            backbone: {name}
            do: embed
            inputs: {{images: photos}}
        """),
}


_DIST = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def new_plugin(name: str, interface: str, parent: str | Path = "plugins", dist: str | None = None) -> Path:
    """Write the package of a plugin providing ``name`` under ``inria.<interface>``; returns its folder.

    ``dist`` is the distribution name (default ``inria-plugin-<name>`` with
    dashes). ``new_plugin("acme_downscale", "codec", dist="inria-plugin-acme")``
    writes ``plugins/acme``: the distribution ``inria-plugin-acme``, the
    package ``inria_acme``, whose module ``acme_downscale.py`` is registered
    as ``codec: acme_downscale``.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise InriaError(f"plugin name '{name}' must be lower case letters, digits and underscores (e.g. my_codec)")
    if interface not in _IMPL:
        raise InriaError(f"unknown interface '{interface}'", hint=f"accepted: {', '.join(_IMPL)}")
    dist = dist or f"inria-plugin-{name.replace('_', '-')}"
    short = dist.removeprefix("inria-plugin-")
    if not _DIST.fullmatch(dist) or not short or not short[0].isalpha():
        raise InriaError(f"distribution name '{dist}' must be lower case letters, digits and single dashes, "
                         "starting with a letter", where="--dist", hint="e.g. inria-plugin-acme")
    root = Path(parent) / short
    if root.exists():
        raise InriaError("folder already exists; nothing was written", where=str(root))
    pkg = f"inria_{short.replace('-', '_')}" if short != dist else dist.replace("-", "_")
    cls = "".join(p.capitalize() for p in name.split("_"))
    impl, test = _IMPL[interface]
    major, minor = __version__.split(".")[:2]
    files = {
        "pyproject.toml": f'''
            [build-system]
            requires = ["setuptools>=68"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "0.1.0"
            description = "An inria {interface} plugin."
            requires-python = ">=3.10"
            # The core API range this plugin supports; the registry refuses the
            # plugin, naming both versions, when the installed core is outside it.
            dependencies = ["inria>={major}.{minor},<{major}.{int(minor) + 1}"]

            # The entry-point name is what recipes write ({interface}: {name});
            # one distribution may list several, in several groups.
            [project.entry-points."inria.{interface}"]
            {name} = "{pkg}.{name}:{cls}"

            [tool.setuptools.packages.find]
            where = ["src"]

            # Recipes in src/{pkg}/recipes/ are listed by `inria recipes` and run by name.
            [tool.setuptools.package-data]
            {pkg} = ["recipes/*.yaml"]
            ''',
        f"src/{pkg}/__init__.py": f'"""inria plugin {dist}: {interface} {name}."""\n',
        f"src/{pkg}/{name}.py": impl.replace("{cls}", cls).replace("{name}", name),
        "tests/test_discovery.py": textwrap.dedent(f'''
            """The first test of every plugin: the registry finds it and builds it."""
            import inria


            def test_discovered():
                assert "{name}" in inria.available("{interface}")
                impl = inria.create("{interface}", "{name}")
                assert type(impl).name == "{name}"

            ''') + textwrap.dedent(test.replace("{name}", name)),
        "README.md": f"# {dist}\n\nAn inria {interface} plugin (`{interface}: {name}` in recipes).\n\n"
                     f"```\npip install -e .\npytest tests\ninria describe {name}\n```\n\n"
                     f"Recipes in `src/{pkg}/recipes/*.yaml` are listed by `inria recipes` and run by name.\n",
    }
    if interface in _RECIPE:
        last, recipe = _RECIPE[interface]
        files[f"src/{pkg}/recipes/{name}_demo.yaml"] = recipe.format(name=name)
        files["README.md"] += f"\n```\ninria run {name}_demo\n```\n"
        files["tests/test_discovery.py"] += textwrap.dedent(f'''

            def test_demo_recipe_is_found_by_name():
                from inria.recipe import load

                plan = load("{name}_demo")  # src/{pkg}/recipes/
                assert plan.steps[-1].id == "{last}"
            ''')
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root
