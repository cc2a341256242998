"""Learning: BPTT with optax (many networks at once) and streaming least-squares readouts."""

from ._bptt import BPTTOptions as BPTTOptions
from ._bptt import TrainingResult as TrainingResult
from ._bptt import batch_outputs as batch_outputs
from ._bptt import evaluate_members as evaluate_members
from ._bptt import make_optimiser as make_optimiser
from ._bptt import masked_mse as masked_mse
from ._bptt import train_bptt as train_bptt
from ._least_squares import DEFAULT_RCOND as DEFAULT_RCOND
from ._least_squares import LeastSquaresSolution as LeastSquaresSolution
from ._least_squares import LeastSquaresState as LeastSquaresState
from ._least_squares import StreamingLeastSquares as StreamingLeastSquares
from ._least_squares import least_squares as least_squares
from ._least_squares import streaming_least_squares as streaming_least_squares
from ._readout import ReadoutFit as ReadoutFit
from ._readout import ReadoutOptions as ReadoutOptions
from ._readout import fit_readout as fit_readout
