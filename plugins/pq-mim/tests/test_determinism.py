"""A fresh process, another thread count and another batch size decode bit-identical tokens."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import torch

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import torch
    from inria.bitstream import unpack
    from inria_pq_mim.codec import PQMIM
    from inria_pq_mim.header import from_meta

    model_dir, work, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    codec = PQMIM.load(model_dir)
    codec.coder.max_batch = 1          # one sequence per transformer call (the encoder batched 32)
    names = json.load(open(work + "/names.json"))
    for name in names:
        data = open(f"{work}/{name}.bin", "rb").read()
        box = unpack(data, expect_model=codec.model_id)
        settings, check = from_meta(box.meta, codec.config.num_subquantizers)
        ds = codec.autoencoder.downsampling
        tokens, got, _ = codec.coder.decompress(box.payload, -(-box.height // ds), -(-box.width // ds), settings)
        assert got == check, name
        np.save(f"{work}/{name}.tokens.npy", tokens.numpy())
        np.save(f"{work}/{name}.image.npy", codec.decompress(data).numpy())
    print(json.dumps({"threads": torch.get_num_threads(), "decoded": len(names)}))
""")


def test_fresh_process_other_threads_other_batch_same_tokens(tiny, tiny_dir, photo, tmp_path):
    from inria.ops.image import pad_to_multiple

    images = {"photo": photo, "photo_m1": photo, "noise": torch.rand(3, 37, 29),
              "gray": photo.mean(0, keepdim=True).expand(3, -1, -1)}
    rates = {"photo": 0, "photo_m1": 1, "noise": 3, "gray": 0}
    expected = {}
    for name, im in images.items():
        codec = tiny.with_overrides(active_subquantizers=rates[name])
        (tmp_path / f"{name}.bin").write_bytes(codec.compress(im))
        padded, _ = pad_to_multiple(im[None], 4)
        tokens = tiny.autoencoder.encode(padded)[0]
        active = rates[name] or 4
        tokens[active:] = 0  # sub-quantizers not sent are not decoded
        expected[name] = (tokens.numpy(), tiny.decompress((tmp_path / f"{name}.bin").read_bytes()).numpy())
    (tmp_path / "names.json").write_text(json.dumps(list(images)))
    threads = 1 if torch.get_num_threads() > 1 else 2
    out = subprocess.run([sys.executable, "-c", CHILD, str(tiny_dir), str(tmp_path), str(threads)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"threads": threads, "decoded": len(images)}
    for name, (tokens, image) in expected.items():
        got = np.load(tmp_path / f"{name}.tokens.npy")
        assert np.array_equal(got, tokens), name
        # the image goes through float convolutions on other threads: equal up to rounding
        assert np.abs(np.load(tmp_path / f"{name}.image.npy") - image).max() < 1e-4, name
