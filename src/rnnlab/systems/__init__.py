"""Ground-truth dynamical systems."""

from ._controlled import AbstractControlledSystem as AbstractControlledSystem
from ._controlled import Examples as Examples
from ._controlled import ParameterShifted as ParameterShifted
from ._controlled import Transformed as Transformed
from ._controlled import Translated as Translated
from ._controlled import controlled_trajectory as controlled_trajectory
from ._controlled import dysts_metadata as dysts_metadata
from ._controlled import dysts_system as dysts_system
from ._controlled import lorenz_hopf_examples as lorenz_hopf_examples
from ._controlled import lorenz_outer_fixed_point as lorenz_outer_fixed_point
from ._controlled import make_examples as make_examples
from ._controlled import rk4_input_stages as rk4_input_stages
from ._ode import GROUND_TRUTH as GROUND_TRUTH
from ._ode import Henon as Henon
from ._ode import Lorenz as Lorenz
from ._ode import ODESystem as ODESystem
from ._ode import ground_truth as ground_truth
