"""Fixtures shared by the test modules."""

import pytest
import torch


@pytest.fixture
def one_thread():
    # Other test processes share this machine's cores; oversubscribed OpenMP threads make small
    # networks train 20x slower, so tests that train compute on one thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
