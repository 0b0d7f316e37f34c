import os

import pytest
import torch

os.environ.setdefault("INRIA_PROGRESS", "0")
# one thread for every test, module fixtures included: on shared few-core machines OpenMP's spinning
# threads make small ops many times slower
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield
