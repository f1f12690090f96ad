"""Exceptions shown to users without a traceback.

Everything that derives from :class:`HelsedataError` is an expected failure with a message a
user can act on; the CLI prints ``ClassName: message`` and exits with the class's ``exit_code``.
Any other exception is a bug and exits 1 with a traceback hint.
"""


class HelsedataError(Exception):
    """Base class for errors we display directly, without a traceback."""

    exit_code = 1


class UserInputError(HelsedataError):
    """The input (a file, an option, a request) cannot be used as given."""

    exit_code = 2


class ConfigurationError(UserInputError):
    """The environment is not set up for this command (missing key, missing warehouse...)."""


class RefusedError(UserInputError):
    """A request that was understood but is not allowed (over budget, no permit, self-review)."""


class PipelineFailure(HelsedataError):
    """A step ran and failed (a dbt model or test, a quality check, a publication)."""

    exit_code = 1
