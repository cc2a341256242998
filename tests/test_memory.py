"""PeakMemory: the peak resident set of a block, against the bytes it allocated."""

import numpy as np

from rnnlab._memory import PeakMemory


def test_peak_of_a_block_is_its_allocation_and_resets_between_blocks():
    size_mb = 300
    with PeakMemory() as big:
        block = np.ones(size_mb * 2**20 // 8)  # touched pages: resident
        del block
    # the allocation, within what the interpreter moves besides it
    assert size_mb - 5 <= big.increase_mb <= size_mb + 40, big.increase_mb
    assert big.peak_mb >= big.start_mb + size_mb - 5
    with PeakMemory() as small:
        block = np.ones(10 * 2**20 // 8)
        del block
    # the high-water mark of the earlier block does not leak into this one
    assert small.increase_mb < 60, (small.method, small.increase_mb)
