"""Shared type aliases (jaxtyping) used across rnnlab's public signatures."""

from typing import TypeAlias

from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

Key: TypeAlias = PRNGKeyArray
State: TypeAlias = Float[Array, " dim"]
Trajectory: TypeAlias = Float[Array, "time dim"]
Frame: TypeAlias = Float[Array, "dim k"]
Scalar: TypeAlias = Float[ArrayLike, ""]

__all__ = ["Array", "ArrayLike", "Float", "Frame", "Key", "Scalar", "State", "Trajectory"]
