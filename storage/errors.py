"""The pipeline's exception tree: one root, a few kinds callers act on differently."""


class PipelineError(Exception):
    """Root of every error alvh raises on purpose."""


class SourceUnavailable(PipelineError):
    """A provider could not be reached or answered 429/5xx; worth retrying later."""


class SourceDataError(PipelineError):
    """A provider answered, but the payload is unusable; retrying will not help."""


class DataValidationFailed(PipelineError):
    """A partition failed its blocking expectations and was not published."""


class SchemaError(PipelineError):
    """A frame does not match its table's declared schema."""


class UnsafePathError(PipelineError, ValueError):
    """A name or partition value could escape the lake."""
