"""One error family, so the CLI and operators can show a single line that says what to do."""


class LdfaError(Exception):
    """Base of every error ldfa raises on purpose; its message says what was wrong and what to do."""


class ConfigError(LdfaError, ValueError):
    """A parameter is missing, out of range or contradicts another."""


class ModelUnavailableError(LdfaError):
    """Model weights could not be found or fetched."""


class ImageError(LdfaError):
    """An image could not be read or written; recorded per sample, never stops a batch."""


class OutputError(LdfaError):
    """An output location is unsafe or already holds results of another configuration."""
