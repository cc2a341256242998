"""Ground-truth dynamical systems."""

from ._ode import GROUND_TRUTH as GROUND_TRUTH
from ._ode import Henon as Henon
from ._ode import Lorenz as Lorenz
from ._ode import ODESystem as ODESystem
from ._ode import ground_truth as ground_truth
