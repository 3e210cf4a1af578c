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


def still_images_only(collection, what: str) -> None:
    """Refuse a video collection in a stage that reads still images, saying what measures videos."""
    if collection.media_type == "video":
        raise ConfigError(f"{what} reads still images, and '{collection.name}' holds videos: measure a "
                          "video's anonymization over time (`ldfa evaluate`: leaks per track, flicker, "
                          "identity consistency), or import its frames as a frame sequence")
