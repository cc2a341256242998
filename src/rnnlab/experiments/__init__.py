"""Registry of reproductions: ``rnnlab list`` reads it."""

from .._errors import InvalidInputError
from ._base import Experiment as Experiment
from ._base import ExperimentConfig as ExperimentConfig
from ._base import Results as Results
from ._base import SilentProgress as SilentProgress
from ._base import parse_assignment as parse_assignment
from ._chaos_onset import EXPERIMENT as _CHAOS_ONSET
from ._chaotic_memories import EXPERIMENT as _CHAOTIC_MEMORIES
from ._rundir import run_experiment as run_experiment
from ._temporal_tasks import EXPERIMENT as _TEMPORAL_TASKS

REGISTRY: dict[str, Experiment] = {
    e.id: e for e in (_CHAOS_ONSET, _TEMPORAL_TASKS, _CHAOTIC_MEMORIES)
}


def get_experiment(experiment_id: str) -> Experiment:
    """The registered experiment ``experiment_id``; one clear error if unknown."""
    if experiment_id not in REGISTRY:
        raise InvalidInputError(
            f"unknown experiment {experiment_id!r}; run `rnnlab list` (known: "
            + ", ".join(sorted(REGISTRY))
            + ")"
        )
    return REGISTRY[experiment_id]
