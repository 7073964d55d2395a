"""Errors a user can cause. The CLI prints them as one line and exits with code 2."""


class NasError(Exception):
    """A problem with the user's input (config, genotype, data, arguments), not a bug."""


class ConfigError(NasError):
    """A YAML file, recipe, space or command-line option is malformed or names something unknown."""


class GenotypeError(NasError):
    """A genotype is malformed: unknown op, bad input index, wrong shape."""


class DataError(NasError):
    """A dataset folder is missing, laid out wrongly, empty or unreadable."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) ended a command. The message says what was kept and how to go on; the CLI prints it as one
    line and exits with code 130, the shell's code for SIGINT."""


def failure_line(error: Exception, limit: int = 500) -> str:
    """A failure as one line for a results table: the error's type and the first line of its message."""
    message = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {message}"[:limit]
