"""torch.distributed: 2 processes x batch B train like 1 process x batch 2B; helpers work with and without a group."""
import json

import pytest
import torch

from inria import distributed as dist


def test_helpers_without_a_process_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert dist.init_from_env() is False
    assert (dist.rank(), dist.world_size(), dist.is_main(), dist.rank_seed(7)) == (0, 1, True, 7)
    dist.barrier()
    t = torch.tensor([2.0])
    assert dist.all_reduce_sum(t) is t and t.item() == 2.0
    assert dist.broadcast_object({"a": 1}) == {"a": 1} and dist.all_gather_object(3) == [3]


def test_incomplete_torchrun_environment_is_one_line(monkeypatch):
    from inria.errors import InriaError

    monkeypatch.setenv("WORLD_SIZE", "2")
    for k in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(InriaError, match="WORLD_SIZE=2 but RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT not set"):
        dist.init_from_env()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_two_ranks(rank_main, timeout_s: float, what: str) -> None:
    """Fork two ranks running ``rank_main(rank)``; kill both and fail when they outlive ``timeout_s``."""
    import time

    import torch.multiprocessing as mp

    procs = mp.start_processes(rank_main, nprocs=2, start_method="fork", join=False)
    deadline = time.time() + timeout_s
    while not procs.join(timeout=1):
        if time.time() > deadline:
            for p in procs.processes:
                p.kill()
            pytest.fail(f"{what} did not finish in {timeout_s:.0f} s")


def test_two_processes_match_one_process_with_twice_the_batch(tmp_path, tiny_run):
    """2 gloo ranks x batch 4 == 1 process x batch 8, after 6 AdamW steps.

    The ranks are forked from this process (torch already imported: 1 s instead of
    ~20 s for fresh interpreters on a loaded machine); they set torchrun's
    variables and the trainer joins the group through inria.distributed.init_from_env.
    """
    import os

    common = ["--steps", 6, "--dropout", 0, "--noise", 0, "--checkpoint-every", 3]
    tiny_run.main(["--out", tmp_path / "one", "--batch", 8, "--weights", tmp_path / "one.pt", *common])
    port = _free_port()

    def rank_main(rank):
        os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(port))
        tiny_run.main(["--out", tmp_path / "two", "--batch", 4, "--weights", tmp_path / "two.pt", *common])

    _run_two_ranks(rank_main, 120, "the 2-process run")
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    for k in one:
        torch.testing.assert_close(one[k], two[k], rtol=1e-5, atol=1e-6)
    assert not torch.equal(one["3.weight"], tiny_run.model(0.0).state_dict()["3.weight"])
    ranks = [json.loads((tmp_path / "two" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1] and all(r["world"] == 2 for r in ranks)
    assert [r["seed"] for r in ranks] == [0, 1]  # seed + rank
    assert all(r["broadcast"] == {"from": 0} and r["sum"] == 3.0 and r["gathered"] == [0, 10] for r in ranks)
    # rank 0 alone wrote: one checkpoint holding both ranks' RNG states, one metrics line per logged step
    from inria.train.checkpoint import load

    ck = load(tmp_path / "two" / "checkpoints" / "last.pt")
    assert ck["world_size"] == 2 and len(ck["rng"]) == 2
    assert not torch.equal(ck["rng"][0]["torch"], ck["rng"][1]["torch"])
    steps = [json.loads(line)["step"] for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [4, 6]


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process(tmp_path, tiny_run, run_script):
    """The same check through the real launcher (python -m torch.distributed.run), fresh interpreters."""
    common = ["--steps", 6, "--dropout", 0, "--noise", 0]
    tiny_run.main(["--out", tmp_path / "one", "--batch", 8, "--weights", tmp_path / "one.pt", *common])
    res = run_script(["--out", tmp_path / "two", "--batch", 4, "--weights", tmp_path / "two.pt", *common],
                     launcher=["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"])
    assert res.returncode == 0, res.stderr[-3000:]
    one, two = torch.load(tmp_path / "one.pt"), torch.load(tmp_path / "two.pt")
    for k in one:
        torch.testing.assert_close(one[k], two[k], rtol=1e-5, atol=1e-6)


def test_on_main_runs_once_and_the_others_wait(tmp_path, monkeypatch):
    """on_main: rank 0 runs the function (a slow write), rank 1 returns only after it is complete."""
    import os
    import time

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    calls = []
    assert dist.on_main(lambda a, b=0: calls.append(a + b) or "done", 1, b=2) == "done" and calls == [3]
    port = _free_port()

    def write(path):
        time.sleep(1.0)  # rank 1 would look before this ends if on_main did not wait
        path.write_text("complete")
        return "rank0 wrote"

    def rank_main(rank):
        os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(port))
        dist.init_from_env(device="cpu")
        out = dist.on_main(write, tmp_path / "model.txt")
        seen = (tmp_path / "model.txt").read_text() if (tmp_path / "model.txt").exists() else "missing"
        (tmp_path / f"rank{rank}.json").write_text(json.dumps({"out": out, "seen": seen}))
        dist.destroy()

    _run_two_ranks(rank_main, 60, "on_main's 2-process run")
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks == [{"out": "rank0 wrote", "seen": "complete"}, {"out": None, "seen": "complete"}]
