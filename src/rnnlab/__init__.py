"""rnnlab: build, train and analyse recurrent neural networks as dynamical systems.

Importing rnnlab has no side effects. Numerics that need float64 ask for it explicitly
(the CLI and the test-suite enable ``jax_enable_x64``).
"""

from . import analysis as analysis
from . import learning as learning
from . import models as models
from . import systems as systems
from . import tasks as tasks
from . import theory as theory
from ._errors import DivergenceError as DivergenceError
from ._errors import InvalidInputError as InvalidInputError
from ._errors import RnnlabError as RnnlabError

__version__ = "0.1.0"
