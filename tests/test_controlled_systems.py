"""Controlled systems are exact transforms of the base trajectory; RK4 stage feed."""

import importlib.util

import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import InvalidInputError
from rnnlab.models import SimulationOptions, simulate
from rnnlab.systems import (
    Lorenz,
    ODESystem,
    ParameterShifted,
    Transformed,
    Translated,
    controlled_trajectory,
    dysts_system,
    lorenz_hopf_examples,
    make_examples,
    rk4_input_stages,
)

RK4 = SimulationOptions(solver="rk4", dt=1e-3, rtol=None, atol=None)
TS = jnp.linspace(0.0, 0.5, 51)
Z0 = jnp.array([1.0, 2.0, 20.0])


def _base():
    return np.asarray(simulate(Lorenz(), Z0, TS, options=RK4).states)


def test_translation_is_exact_for_several_controls():
    directions = jnp.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])  # e1 and e3, as §3.5
    system = Translated(Lorenz(), directions)
    control = jnp.array([3.0, -2.0])
    observed = np.asarray(controlled_trajectory(system, Z0, control, TS, options=RK4).states)
    np.testing.assert_allclose(observed, _base() + np.array([3.0, 0.0, -2.0]), atol=1e-12)


def test_linear_transformation_is_exact():
    generator = jnp.diag(jnp.array([-0.012, 0.0, 0.0]))
    system = Transformed(Lorenz(), generator)
    observed = np.asarray(
        controlled_trajectory(system, Z0, jnp.array([40.0]), TS, options=RK4).states
    )
    np.testing.assert_allclose(observed, _base() * np.array([0.52, 1.0, 1.0]), atol=1e-12)


def test_parameter_shift_equals_the_shifted_system():
    system = ParameterShifted(Lorenz(rho=23.0), ("rho",), [[1.0]])
    observed = np.asarray(
        controlled_trajectory(system, Z0, jnp.array([5.0]), TS, options=RK4).states
    )
    reference = np.asarray(simulate(Lorenz(rho=28.0), Z0, TS, options=RK4).states)
    np.testing.assert_allclose(observed, reference, atol=1e-12)


def test_hopf_examples_start_next_to_the_analytic_fixed_points():
    system = ParameterShifted(Lorenz(rho=23.0), ("rho",), [[1.0]])
    examples = lorenz_hopf_examples(system)
    np.testing.assert_array_equal(np.asarray(examples.controls[:, 0]), [0.0, 1.0, 0.0, 1.0])
    for start, control, sign, offset in zip(
        examples.initial_states,
        examples.controls,
        (1, 1, -1, -1),
        (4.0, 2.8, 4.0, 2.8),
        strict=True,
    ):
        point = np.asarray(start) - sign * offset * np.array([0.6, 1.1, 0.0])
        # C+- is a zero of the Lorenz vector field at rho = 23 + c
        speed = system.vector_field(0.0, jnp.asarray(point), control)
        assert float(jnp.abs(speed).max()) < 1e-12
        assert point[2] == pytest.approx(22.0 + float(control[0]))


def test_rk4_stages_match_the_analytic_stages_of_a_linear_flow():
    """For z' = L z the RK4 stages are z, (I + h/2 L) z, (I + h/2 L (I + h/2 L)) z, ...;
    the final state matches diffrax's RK4 (the joint-integration path)."""
    matrix = jnp.array([[0.0, 1.0], [-1.0, -0.1]])
    flow = ODESystem(lambda t, z, args: matrix @ z, dimension=2)
    system = Translated(flow, jnp.array([1.0, 0.0]))
    h, z0 = 0.01, jnp.array([1.0, 0.5])
    stages, final = rk4_input_stages(system, z0, jnp.array([2.0]), dt=h, num_steps=50)
    eye = np.eye(2)
    m = np.asarray(matrix)
    s2 = eye + h / 2 * m
    s3 = eye + h / 2 * m @ s2
    s4 = eye + h * m @ s3
    shift = np.array([2.0, 0.0])
    for stage, operator in zip(stages[0], (eye, s2, s3, s4), strict=True):
        np.testing.assert_allclose(np.asarray(stage), operator @ np.asarray(z0) + shift, 1e-14)
    reference = simulate(
        flow,
        z0,
        jnp.array([0.0, 0.5]),
        options=RK4.__class__(solver="rk4", dt=h, rtol=None, atol=None),
    )
    np.testing.assert_allclose(np.asarray(final), np.asarray(reference.states[-1]), atol=1e-13)


def test_make_examples_broadcasts_one_start():
    system = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    examples = make_examples(system, Z0, jnp.array([0.0, 1.0, 2.0, 3.0]))
    assert examples.initial_states.shape == (4, 3)
    assert examples.controls.shape == (4, 1)


def test_bad_input():
    with pytest.raises(InvalidInputError, match="directions has shape"):
        Translated(Lorenz(), jnp.ones(2))
    with pytest.raises(InvalidInputError, match="non-finite"):
        Translated(Lorenz(), jnp.array([1.0, jnp.nan, 0.0]))
    with pytest.raises(InvalidInputError, match="generators has shape"):
        Transformed(Lorenz(), jnp.ones((3, 2)))
    with pytest.raises(InvalidInputError, match="no parameter"):
        ParameterShifted(Lorenz(), ("gamma",), [[1.0]])
    with pytest.raises(InvalidInputError, match="shifts has shape"):
        ParameterShifted(Lorenz(), ("rho",), [[1.0, 2.0]])
    system = Translated(Lorenz(), jnp.array([1.0, 0.0, 0.0]))
    with pytest.raises(InvalidInputError, match="control grid"):
        make_examples(system, Z0, jnp.ones((4, 2)))
    with pytest.raises(InvalidInputError, match="non-finite"):
        make_examples(system, Z0, jnp.array([0.0, jnp.inf]))
    with pytest.raises(InvalidInputError, match="control has shape"):
        system.observe(Z0, jnp.ones(2))


@pytest.mark.skipif(importlib.util.find_spec("dysts") is not None, reason="dysts installed")
def test_dysts_adapter_says_how_to_install():
    with pytest.raises(InvalidInputError, match="pip install dysts"):
        dysts_system("Lorenz")
