"""Step-addressable batches: resumable at any step, disjoint across ranks, full epochs."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from pixelforge.training.sampler import StepBatchSampler, step_generator


@given(n=st.integers(32, 300), batch=st.integers(1, 16), world=st.integers(1, 3),
       start=st.integers(0, 50))
def test_resume_at_any_step_matches(n, batch, world, start):
    if n < batch * world:
        return
    a = StepBatchSampler(n, batch, seed=1, world=world)
    it = iter(a)
    seq = [next(it) for _ in range(start + 3)]
    b = iter(StepBatchSampler(n, batch, seed=1, start_step=start, world=world))
    assert [next(b) for _ in range(3)] == seq[start:start + 3]


def test_ranks_are_disjoint_and_epoch_is_a_permutation():
    n, batch, world = 64, 8, 2
    per_epoch = n // (batch * world)
    seen = []
    for rank in range(world):
        s = StepBatchSampler(n, batch, seed=3, rank=rank, world=world)
        for step in range(per_epoch):
            seen += s.indices(step).tolist()
    assert sorted(seen) == list(range(n))
    s = StepBatchSampler(n, batch, seed=3, world=world)
    assert not torch.equal(s.indices(0), s.indices(per_epoch))  # a new shuffle next epoch


def test_step_generator_is_pure():
    a = torch.randn(4, generator=step_generator(5, 10, 0))
    b = torch.randn(4, generator=step_generator(5, 10, 0))
    c = torch.randn(4, generator=step_generator(5, 10, 1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_global_batch_is_the_same_for_any_number_of_processes():
    """Two processes with batch B see, together, the images and noise of one process with 2B
    (the basis of test_distributed's 2 x B == 1 x 2B comparison)."""
    from pixelforge.training.sampler import global_randn

    one = StepBatchSampler(64, 16, seed=4)
    two = [StepBatchSampler(64, 8, seed=4, rank=r, world=2) for r in range(2)]
    for step in range(6):
        assert torch.equal(one.indices(step), torch.cat([s.indices(step) for s in two]))
        z1 = global_randn(16, 5, seed=4, step=step, rank=0, world=1, stream=0)
        z2 = [global_randn(8, 5, seed=4, step=step, rank=r, world=2, stream=0) for r in range(2)]
        assert torch.equal(z1, torch.cat(z2))
    # one process: exactly the per-step stream's own draw, as before global_randn existed
    assert torch.equal(global_randn(3, 4, seed=1, step=2, rank=0, world=1, stream=5),
                       torch.randn(3, 4, generator=step_generator(1, 2, 0, 5)))
