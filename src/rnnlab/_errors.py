"""Exceptions shared by every subpackage."""


class RnnlabError(Exception):
    """Base class of rnnlab's own errors."""


class InvalidInputError(RnnlabError, ValueError):
    """A value the user gave cannot work; the message names it and the fix."""


class DivergenceError(RnnlabError, RuntimeError):
    """Dynamics produced a non-finite value or escaped to infinity."""
