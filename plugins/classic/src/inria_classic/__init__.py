"""inria-plugin-classic: the classic baselines every later plugin is compared to.

- codecs ``jpeg`` and ``webp`` (Pillow), by quality or by target bpp
  (:mod:`inria_classic.jpeg`, :mod:`inria_classic.webp`);
- watermarker ``dwt_dct`` (the invisible-watermark package)
  (:mod:`inria_classic.dwt_dct`).

Nothing is imported here: the registry imports only the module of the
implementation a user asks for, through the entry points in pyproject.toml.
"""
__version__ = "0.1.0"
