"""Typed errors raised by the transforms. Anything else escaping a transform is a bug."""


class TransformError(Exception):
    """Base class: `reason` is a short machine-readable code, the message is for people."""

    reason = "transform_error"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class DecodeError(TransformError):
    reason = "undecodable"


class ExtractError(TransformError):
    reason = "no_article"


class GazetteerError(TransformError):
    reason = "bad_gazetteer"
