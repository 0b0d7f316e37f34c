"""inria-plugin-three-things: "Three things everyone should know about Vision Transformers" (Touvron et al. 2022).

- :mod:`.vit`: parallel ViTs (k attention + k MLP branches per block) on timm's ``ParallelThingsBlock``;
- :mod:`.hmlp`: the hierarchical MLP patch stem;
- :mod:`.masked`: SimMIM masked-patch pre-training (objective ``simmim``), valid with the hMLP stem;
- :mod:`.backbone`: the named Backbones; :mod:`.checkpoint`: official deit / timm weights from a local path.

Attention-only fine-tuning is the core's ``param_groups: attention_only`` (any ViT, deit3 included).
"""
