"""Test configuration: float64, strict dtype promotion, a seeded key fixture."""

import os

import jax
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
# CLI tests run in-process: keep their compiled programs out of ~/.cache
os.environ.setdefault("RNNLAB_COMPILE_CACHE", "off")


@pytest.fixture
def seed(request) -> int:
    """Seed of the test's key: RNNLAB_TEST_SEED or 0; printed so a failure can be rerun."""
    value = int(os.environ.get("RNNLAB_TEST_SEED", "0"))
    print(f"[{request.node.name}] seed={value}")
    return value


@pytest.fixture
def key(seed):
    import jax.random as jr

    return jr.key(seed)
