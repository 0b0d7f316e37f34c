import importlib.util
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
os.environ.setdefault("INRIA_PROGRESS", "0")
os.environ.setdefault("INRIA_CONSOLE_METRICS", "0")


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_run():
    """The tests/train/tiny_run.py module (imported by path: tests are not a package)."""
    spec = importlib.util.spec_from_file_location("inria_tests_tiny_run", HERE / "tiny_run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def run_script():
    """run_script(args, env=None, launcher=()) runs tiny_run.py in a fresh interpreter -> CompletedProcess."""
    import subprocess

    def run(args, env=None, launcher=(), timeout=180):
        full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        cmd = [sys.executable, *launcher, str(HERE / "tiny_run.py"), *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)

    return run
