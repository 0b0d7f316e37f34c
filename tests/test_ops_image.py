

def test_square_batch_is_the_square_backbones_input_contract():
    import numpy as np
    import pytest
    import torch

    from inria.errors import InriaError
    from inria.ops.image import square_batch

    gray = torch.full((1, 8, 8), 255, dtype=torch.uint8)
    out = square_batch([gray, torch.rand(3, 20, 10)], 16)
    assert out.shape == (2, 3, 16, 16) and out.dtype == torch.float32
    assert torch.allclose(out[0], torch.ones(3, 16, 16))  # uint8 / 255, gray repeated, resized
    assert square_batch(np.zeros((4, 3, 16, 16), np.float32), 16).shape == (4, 3, 16, 16)
    for bad, match in (([], "non-empty list"), ([torch.rand(4, 8, 8)], "image 0 has shape"),
                       (torch.full((3, 8, 8), float("nan")), "NaN"), ("x", "got str")):
        with pytest.raises(InriaError, match=match) as e:
            square_batch(bad, 16, where="fit images")
        assert "fit images" in str(e.value) and "\n" not in str(e.value)
