"""Analyses that take any model's vector field or step map."""

from ._fixed_points import FixedPointOptions as FixedPointOptions
from ._fixed_points import FixedPoints as FixedPoints
from ._fixed_points import classify_stability as classify_stability
from ._fixed_points import find_fixed_points as find_fixed_points
from ._jacobian import circular_law_radius as circular_law_radius
from ._jacobian import jacobian as jacobian
from ._jacobian import jacobian_eigenvalues as jacobian_eigenvalues
from ._jacobian import residual_function as residual_function
from ._lyapunov import KaplanYorke as KaplanYorke
from ._lyapunov import LyapunovOptions as LyapunovOptions
from ._lyapunov import LyapunovResult as LyapunovResult
from ._lyapunov import entropy_rate as entropy_rate
from ._lyapunov import kaplan_yorke_dimension as kaplan_yorke_dimension
from ._lyapunov import lyapunov_spectrum as lyapunov_spectrum
from ._lyapunov import max_lyapunov as max_lyapunov
from ._lyapunov import max_lyapunov_two_trajectory as max_lyapunov_two_trajectory
from ._statistics import Autocorrelation as Autocorrelation
from ._statistics import autocorrelation as autocorrelation
from ._statistics import participation_ratio as participation_ratio
