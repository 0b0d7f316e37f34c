"""MS-ILLM (Muckley et al., ICML 2023) for inria: codecs ``ms_illm`` and ``noganms``.

- :mod:`.hific`: the HiFiC encoder / generator and the mean-scale hyperprior (CompressAI entropy models).
- :mod:`.codec`: the two Codecs (real bytes in :mod:`inria.bitstream`).
- :mod:`.official`: NeuralCompression ``msillm_quality_*`` / ``noganms_quality_*`` state dicts from a path.
- :mod:`.discriminator`, :mod:`.tokenizer`, :mod:`.objectives`, :mod:`.training`: the ILLM discriminator,
  its VQ-VAE label tokenizer, the losses and the two-stage training through :mod:`inria.train`.
"""
