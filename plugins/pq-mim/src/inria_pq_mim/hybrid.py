"""The hybrid compression / generation mode: a byte budget far below what the tokens need.

The encoder sends the first ``send_groups`` of the S token groups, with the
first ``active_subquantizers`` sub-indices each; the decoder lets the MIM
transformer fill every group that was not sent (the expected codeword, the
argmax, or a seeded sample: the ``fill`` and ``fill_seed`` config fields),
group by group in the coding
schedule, exactly as it would decode them. Any bitstream of this codec can
be made hybrid with ``codec.with_overrides(send_groups=..)``; this module
picks the settings that fit a budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from inria.errors import InriaError


@dataclass
class BudgetChoice:
    data: bytes
    active_subquantizers: int
    send_groups: int
    psnr: float


def compress_to_budget(codec, image: torch.Tensor, max_bytes: int = 200, fill: str = "mean",
                       candidates: list[int] | None = None) -> BudgetChoice:
    """The bitstream of at most ``max_bytes`` (header included) whose decoded image has the best PSNR.

    For each candidate number of sub-quantizers (default 1, 2, 4, ... up to
    M) the largest number of groups that fits is found by bisection (bytes
    grow with the groups sent); the feasible candidates are decoded and the
    best PSNR wins. Raises InriaError when even one group of one
    sub-quantizer does not fit.
    """
    from inria.eval.metrics import psnr

    c = codec.config
    m = c.num_subquantizers
    if candidates is None:
        candidates = sorted({min(m, 2 ** i) for i in range(m.bit_length() + 1)})
    best: BudgetChoice | None = None
    smallest = None
    for active in candidates:
        def make(groups: int) -> bytes:
            return codec.with_overrides(active_subquantizers=active, send_groups=groups, fill=fill).compress(image)

        lo, hi, fit = 1, c.coding_groups, None
        while lo <= hi:
            mid = (lo + hi) // 2
            data = make(mid)
            smallest = len(data) if smallest is None else min(smallest, len(data))
            if len(data) <= max_bytes:
                fit, lo = (mid, data), mid + 1
            else:
                hi = mid - 1
        if fit is None:
            continue
        groups, data = fit
        recon = codec.decompress(data)
        score = float(psnr([image.float()], [recon])[0]) if image.dim() == 3 and image.shape[0] == 3 else float("nan")
        if best is None or score > best.psnr:
            best = BudgetChoice(data, active, groups, score)
    if best is None:
        raise InriaError(f"no pq_mim setting fits {max_bytes} bytes for this image (the smallest is {smallest} bytes)",
                         hint="raise max_bytes or downscale the image")
    return best
