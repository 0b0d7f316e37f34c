"""The core's optimizers (``inria.optimizers``) and param-group rules (``inria.param_groups``).

An optimizer entry point is a factory
``fn(param_groups: list[dict], lr: float, weight_decay: float, **optimizer_args) -> torch.optim.Optimizer``.

A param-group entry point is ``fn(model, weight_decay: float, **param_groups_args) -> list[dict]``:
each dict has ``params`` and may set ``weight_decay`` and ``lr_scale`` (a
multiplier of the learning rate, as timm's layer decay does). Parameters in
no group are frozen (``requires_grad=False``) by the trainer, so a rule like
"attention only" (:func:`attention_only`) is just a rule that returns fewer parameters.
"""
from __future__ import annotations

import fnmatch
import logging
import re
from typing import Any

import torch

from ..errors import InriaError

log = logging.getLogger("inria.train")


def _no_weight_decay_names(model) -> set[str]:
    fn = getattr(model, "no_weight_decay", None)
    return set(fn()) if callable(fn) else set()


def all_parameters(model, weight_decay: float, layer_decay: float | None = None,
                   no_weight_decay: list[str] | tuple[str, ...] = ()) -> list[dict]:
    """Every trainable parameter; no weight decay on norms, biases, 1-d tensors and ``model.no_weight_decay()``.

    The rule is timm's ``param_groups_weight_decay`` (names may be fnmatch
    patterns), written out here so a trainer start does not import timm (3 s).
    ``layer_decay`` (e.g. 0.75) scales the learning rate down layer by layer
    from the head, through timm's ``param_groups_layer_decay`` (the model must
    have timm's ``group_matcher``).
    """
    skip = _no_weight_decay_names(model) | set(no_weight_decay)
    if layer_decay is not None:
        from timm.optim import param_groups_layer_decay

        if not callable(getattr(model, "group_matcher", None)):
            raise InriaError(f"layer_decay needs a timm model with group_matcher(); {type(model).__name__} has none",
                             where="train.param_groups_args.layer_decay")
        return param_groups_layer_decay(model, weight_decay=weight_decay, no_weight_decay_list=skip,
                                        layer_decay=float(layer_decay))
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if not weight_decay or p.ndim <= 1 or name.endswith(".bias") or any(fnmatch.fnmatch(name, s) for s in skip):
            no_decay.append(p)
        else:
            decay.append(p)
    groups = []
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    return groups


#: a parameter inside an attention module: ``blocks.3.attn.qkv.weight`` (timm, DeiT), ``blocks.3.attn1.proj.bias``
#: (the official parallel blocks' second branch), ``blocks.3.attns.1.attn.qkv.weight`` (timm's ParallelThingsBlock)
ATTENTION_NAME = re.compile(r"(^|\.)attn\d*\.")


def attention_only(model, weight_decay: float, head: bool = True, pos_embed: bool = True,
                   also: list[str] | tuple[str, ...] = (), layer_decay: float | None = None,
                   no_weight_decay: list[str] | tuple[str, ...] = (), report: bool = True) -> list[dict]:
    """Only the attention layers train, with the classifier head and the position embedding.

    "Three things everyone should know about Vision Transformers" (Touvron et
    al. 2022, sec. 3): fine-tuning the attention weights alone adapts a ViT to
    a new resolution or task at a fraction of the trainable parameters. The
    official ``--attn-only`` (deit ``main.py``) trains the parameters whose
    name contains ``.attn.``, the head (``head`` or ``fc``) and ``pos_embed``;
    the class token, the patch embedding, the norms, LayerScale and the MLPs
    stay frozen. Here an attention parameter is any parameter of a module
    named ``attn`` or ``attn<k>`` (:data:`ATTENTION_NAME`), so the second
    branch of the official parallel blocks (``attn1``, which the official
    substring rule skips) and timm's ``attns.<k>.attn`` train too.

    ``head`` / ``pos_embed``: also train those (as the paper); ``also``:
    fnmatch patterns of further parameters to train (e.g. ``["cls_token"]``).
    Weight decay and ``layer_decay`` follow :func:`all_parameters`. The share
    of trainable parameters is logged (``inria.train`` logger, in run.log)
    and, with ``report``, printed by rank 0. A model with no attention
    parameter is a one-line error.
    """
    names = [n for n, _ in model.named_parameters()]
    attention = [n for n in names if ATTENTION_NAME.search(n)]
    if not attention:
        raise InriaError(f"param_groups 'attention_only': {type(model).__name__} has no attention parameters "
                         f"(none named *.attn.* or *.attn<k>.*; first parameters: {', '.join(names[:3]) or 'none'})",
                         where="train.param_groups", hint="use a ViT (timm VisionTransformer, deit3_*, three_things_*) "
                                                          "or param_groups: all")
    keep = set(attention)
    if head:
        classifier = model.get_classifier() if callable(getattr(model, "get_classifier", None)) else None
        heads = {id(p) for p in classifier.parameters()} if isinstance(classifier, torch.nn.Module) else set()
        keep |= {n for n, p in model.named_parameters()
                 if id(p) in heads or n.split(".")[0] in ("head", "fc")}
    if pos_embed:
        keep |= {n for n in names if n == "pos_embed" or n.endswith(".pos_embed")}
    for pattern in also:
        matched = [n for n in names if fnmatch.fnmatch(n, pattern)]
        if not matched:
            raise InriaError(f"param_groups 'attention_only': pattern {pattern!r} matches no parameter of "
                             f"{type(model).__name__}", where="train.param_groups_args.also",
                             hint=f"parameter names look like {', '.join(names[:3])}")
        keep |= set(matched)
    chosen = {id(p) for n, p in model.named_parameters() if n in keep}
    groups = []
    for g in all_parameters(model, weight_decay, layer_decay=layer_decay, no_weight_decay=no_weight_decay):
        params = [p for p in g["params"] if id(p) in chosen]
        if params:
            groups.append(dict(g, params=params))
    total = sum(p.numel() for p in model.parameters())
    trained = sum(p.numel() for g in groups for p in g["params"])
    message = (f"param_groups attention_only: {trained:,} of {total:,} parameters train "
               f"({100 * trained / max(total, 1):.2f} %; {len(attention)} attention tensors"
               f"{', head' if head else ''}{', pos_embed' if pos_embed else ''}"
               f"{', ' + ', '.join(also) if also else ''})")
    log.info(message)
    if report:
        from ..distributed import is_main

        if is_main():
            print(message, flush=True)
    return groups


def adamw(param_groups: list[dict], lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8,
          **kw: Any) -> torch.optim.Optimizer:
    """torch.optim.AdamW."""
    return torch.optim.AdamW(param_groups, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps, **kw)


def sgd(param_groups: list[dict], lr: float, weight_decay: float, momentum: float = 0.9, nesterov: bool = False,
        **kw: Any) -> torch.optim.Optimizer:
    """torch.optim.SGD with momentum 0.9 by default."""
    return torch.optim.SGD(param_groups, lr=lr, weight_decay=weight_decay, momentum=momentum,
                           nesterov=nesterov, **kw)


def lamb(param_groups: list[dict], lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-6,
         **kw: Any) -> torch.optim.Optimizer:
    """LAMB (You et al. 2020) from timm.optim, as DeiT III and Stable Signature train with it."""
    from timm.optim import Lamb

    return Lamb(param_groups, lr=lr, weight_decay=weight_decay, betas=tuple(betas), eps=eps, **kw)


def build_optimizer(model, config, lr: float | None = None) -> torch.optim.Optimizer:
    """Param groups by ``config.param_groups``, then the optimizer by ``config.optimizer``.

    Parameters that the rule leaves out are frozen. ``lr_scale`` of a group
    multiplies its learning rate (the schedule then scales every group alike).
    ``lr`` overrides ``config.lr`` (the trainer passes the batch-scaled one).
    """
    from .components import resolve

    rule = resolve("param_groups", config.param_groups)
    try:
        groups = list(rule(model, weight_decay=config.weight_decay, **config.param_groups_args))
    except TypeError as e:
        raise InriaError(f"param_groups '{config.param_groups}' rejected its arguments: {e}",
                         where="train.param_groups_args") from None
    chosen = {id(p) for g in groups for p in g["params"]}
    if not chosen:
        raise InriaError(f"param_groups '{config.param_groups}' selected no parameter of {type(model).__name__}",
                         where="train.param_groups")
    for p in model.parameters():
        if id(p) not in chosen:
            p.requires_grad_(False)
    lr = config.lr if lr is None else lr
    for g in groups:
        g["lr"] = lr * float(g.get("lr_scale", 1.0))
    factory = resolve("optimizers", config.optimizer)
    try:
        return factory(groups, lr=lr, weight_decay=config.weight_decay, **config.optimizer_args)
    except TypeError as e:
        raise InriaError(f"optimizer '{config.optimizer}' rejected its arguments: {e}",
                         where="train.optimizer_args") from None
