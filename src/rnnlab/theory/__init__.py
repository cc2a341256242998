"""Mean-field predictions of the quantities the analyses measure."""

from ._dmft import DMFTOptions as DMFTOptions
from ._dmft import DMFTSolution as DMFTSolution
from ._dmft import GaussHermite as GaussHermite
from ._dmft import gaussian_mean as gaussian_mean
from ._dmft import pair_correlation as pair_correlation
from ._dmft import scs_dmft as scs_dmft
from ._dmft import scs_lyapunov_max as scs_lyapunov_max
from ._dmft import self_consistent_variance as self_consistent_variance
