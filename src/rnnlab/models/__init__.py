"""Models: one vector field or one step map each."""

from ._base import AbstractContinuousModel as AbstractContinuousModel
from ._base import AbstractDiscreteModel as AbstractDiscreteModel
from ._init import random_normal as random_normal
from ._init import scale_by_gain as scale_by_gain
from ._init import zero_diagonal as zero_diagonal
from ._rate import RateRNN as RateRNN
from ._simulate import SimulationOptions as SimulationOptions
from ._simulate import Trajectory as Trajectory
from ._simulate import iterate as iterate
from ._simulate import make_solver as make_solver
from ._simulate import simulate as simulate
from ._simulate import step_map as step_map
