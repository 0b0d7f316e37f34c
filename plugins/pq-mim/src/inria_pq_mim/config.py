"""The typed config of the ``pq_mim`` codec (validated before anything heavy runs).

Three groups of fields: the architecture (fixed once a model is trained: it is
written to ``card.yaml`` and a checkpoint must match it), the coding knobs (free
to change on a trained model with ``with_overrides``: rate sweeps, hybrid
mode), and the training schedule used by ``fit``.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

from inria.config import doc
from inria.train import TrainConfig, train_config_field

#: fields that define the weights; the others may change on a trained model
ARCHITECTURE_FIELDS = (
    "downsampling", "channels", "res_blocks", "linear_path", "latent_dim", "num_subquantizers", "codebook_size",
    "mim_dim", "mim_depth", "mim_heads", "mim_mlp_ratio", "mim_head_dim", "mim_tile",
)


@dataclasses.dataclass
class PQMIMConfig:
    # -- where the weights come from ------------------------------------------------
    checkpoint: str = doc("default", "'default' (the small model shipped in the plugin), a model directory, "
                                     "or '' for random weights (to train with fit); architecture fields left "
                                     "at their defaults follow the checkpoint's card")

    # -- architecture -----------------------------------------------------------------
    downsampling: int = doc(16, "spatial downsampling of the latent grid (a power of two, 2..64)")
    channels: list[int] = doc([16, 32, 64, 128], "encoder widths, one per 2x downsampling stage "
                                                  "(log2(downsampling) entries); the decoder mirrors them")
    res_blocks: int = doc(1, "residual blocks after each stage below 1/2 resolution")
    linear_path: bool = doc(True, "a patchify conv / transposed conv beside the conv stacks (a learned linear block "
                                  "transform; trains in minutes, see autoencoder.py)")
    latent_dim: int = doc(128, "channels of the latent vector at each grid position")
    num_subquantizers: int = doc(16, "M: sub-vectors per latent vector, each with its own codebook")
    codebook_size: int = doc(256, "K: codewords per sub-quantizer (log2 K bits per sub-index before coding)")
    mim_dim: int = doc(128, "width of the MIM transformer")
    mim_depth: int = doc(3, "transformer blocks of the MIM entropy model")
    mim_heads: int = doc(4, "attention heads")
    mim_mlp_ratio: float = doc(3.0, "MLP hidden width / mim_dim")
    mim_head_dim: int = doc(32, "width of each sub-quantizer's output head (dim -> M x head_dim -> M x K)")
    mim_tile: int = doc(8, "the token grid is coded in independent tiles of mim_tile x mim_tile positions "
                            "(the transformer's attention span; bounds memory on large images)")

    # -- coding (free to change on a trained model) ---------------------------------------
    active_subquantizers: int = doc(0, "sub-quantizers sent (1..M; 0 = all M): the rate knob of one trained model")
    coding_groups: int = doc(8, "S: token groups coded one after the other, each under the MIM prediction "
                                "given the groups before it")
    group_schedule: Literal["cosine", "linear"] = doc("cosine", "how many tokens each group holds "
                                                                "(cosine: small first groups, as MaskGIT)")
    send_groups: int = doc(0, "hybrid mode: send only the first N of the S groups and let the MIM model fill "
                              "the rest (0 = send all)")
    fill: Literal["mean", "sample", "argmax"] = doc(
        "mean", "how the decoder fills tokens that were not sent: mean = the expected codeword under the MIM "
                "prediction (best PSNR), sample = a seeded draw (sharper, the paper's generative use), argmax")
    fill_seed: int = doc(0, "seed of fill='sample' (written in the bitstream)")
    logit_grid: int = doc(16, "logits are rounded to multiples of 1/logit_grid nat before the integer "
                              "probability tables are built (see entropy.py: why)")

    # -- training (fit): two runs of the core engine, inria.train ------------------------------
    crop: int = doc(128, "stage 1 training crop side in pixels (a multiple of downsampling)")
    pca_init: bool = doc(True, "fit on fresh weights starts the linear path as the PCA of random training patches")
    codebook_update: Literal["ema", "loss"] = doc("ema", "EMA (k-means) codebook updates, or a codebook loss")
    ema_decay: float = doc(0.97, "EMA decay of the codebook statistics")
    commitment: float = doc(0.25, "weight of the commitment loss ||z - sg(q)||^2")
    dead_threshold: float = doc(0.03, "a codeword whose EMA usage (assignments per step) falls below this is "
                                      "restarted on a random encoder output of the batch")
    stage1: TrainConfig = train_config_field(
        "stage 1, the autoencoder (objective pq_mim_autoencoder; objective_args: full_rate_prob, perceptual, "
        "perceptual_weight)",
        steps=1500, batch_size=8, lr=1e-3, weight_decay=0.0, warmup_steps=50, min_lr=1e-5, clip_grad=1.0,
        objective="pq_mim_autoencoder", log_every=50)
    refine_decoder: bool = doc(False, "fit runs stage 3: the decoder alone, on the frozen encoder's codes")
    stage3: TrainConfig = train_config_field(
        "stage 3 (with refine_decoder), the decoder on frozen codes (objective pq_mim_decoder; objective_args as "
        "stage 1's): indices and rates unchanged",
        steps=1000, batch_size=8, lr=5e-4, weight_decay=0.0, warmup_steps=50, min_lr=1e-5, clip_grad=1.0,
        objective="pq_mim_decoder", log_every=50)
    stage2: TrainConfig = train_config_field(
        "stage 2, the MIM entropy model on frozen indices (objective pq_mim_mim; objective_args: full_rate_prob)",
        steps=1500, batch_size=16, lr=1e-3, weight_decay=0.01, warmup_steps=50, min_lr=1e-5,
        objective="pq_mim_mim", log_every=50)

    def validate(self) -> None:
        ds = self.downsampling
        if ds < 2 or ds > 64 or ds & (ds - 1):
            raise ValueError(f"downsampling={ds} is not a power of two in 2..64")
        stages = ds.bit_length() - 1
        if len(self.channels) != stages:
            raise ValueError(f"channels has {len(self.channels)} entries, downsampling={ds} needs {stages}")
        if any(c < 1 for c in self.channels):
            raise ValueError("channels must be positive")
        if self.num_subquantizers < 1 or self.latent_dim % self.num_subquantizers:
            raise ValueError(f"latent_dim={self.latent_dim} is not divisible by num_subquantizers="
                             f"{self.num_subquantizers}")
        if not 2 <= self.codebook_size <= 65536:
            raise ValueError(f"codebook_size={self.codebook_size} is outside 2..65536")
        if not 0 <= self.active_subquantizers <= self.num_subquantizers:
            raise ValueError(f"active_subquantizers={self.active_subquantizers} is outside 0..{self.num_subquantizers}")
        if not 1 <= self.coding_groups <= 255:
            raise ValueError(f"coding_groups={self.coding_groups} is outside 1..255")
        if not 0 <= self.send_groups <= self.coding_groups:
            raise ValueError(f"send_groups={self.send_groups} is outside 0..coding_groups={self.coding_groups}")
        if self.mim_dim % self.mim_heads:
            raise ValueError(f"mim_dim={self.mim_dim} is not divisible by mim_heads={self.mim_heads}")
        if not 1 <= self.mim_tile <= 255:
            raise ValueError(f"mim_tile={self.mim_tile} is outside 1..255")
        if not 1 <= self.logit_grid <= 255:
            raise ValueError(f"logit_grid={self.logit_grid} is outside 1..255")
        if self.crop < ds or self.crop % ds:
            raise ValueError(f"crop={self.crop} is not a positive multiple of downsampling={ds}")
        if not 0 <= self.fill_seed < 2 ** 32:
            raise ValueError("fill_seed must be in 0..2**32-1")

    @property
    def active(self) -> int:
        """The number of sub-quantizers actually sent."""
        return self.active_subquantizers or self.num_subquantizers

    @property
    def groups_sent(self) -> int:
        return self.send_groups or self.coding_groups
