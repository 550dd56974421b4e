"""benchmark.memory on glibc: large freed tensors leave the resident set at once."""
import pytest
import torch

from benchmark.memory import _libc, map_large_allocations


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1]) / 1024


@pytest.mark.skipif(_libc() is None, reason="glibc only")
def test_large_allocations_are_returned_to_the_os_when_freed():
    map_large_allocations()
    before = rss_mb()
    # glibc's default raises its threshold after the first free and keeps the next 12 MiB
    # blocks in its heap (about 25 MB stayed resident here without map_large_allocations)
    for _ in range(3):
        t = torch.ones(12 << 18)  # 12 MiB, written, so resident
        assert rss_mb() - before > 10
        del t
    assert rss_mb() - before < 4
