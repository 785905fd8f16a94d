"""The pipeline's exception tree: one root, a few kinds callers act on differently."""


class PipelineError(Exception):
    """Root of every error alvh raises on purpose."""


class SourceUnavailable(PipelineError):
    """A provider could not be reached or answered 429/5xx; worth retrying later."""


class SourceDataError(PipelineError):
    """A provider answered, but the payload is unusable; retrying will not help."""


class DataValidationFailed(PipelineError):
    """A partition failed its blocking expectations and was not published.

    ``published_rows``: rows of the same call that were published anyway (other partitions
    that passed their own gate). ``dropped``: one line per partition published without some
    rows that failed row-level checks (those rows went to quarantine); ``dropped_rows``: how
    many rows of the call that was.
    """

    def __init__(self, message: str, published_rows: int = 0,
                 dropped: list[str] | None = None, dropped_rows: int = 0):
        super().__init__(message)
        self.published_rows = published_rows
        self.dropped = dropped or []
        self.dropped_rows = dropped_rows


class SchemaError(PipelineError):
    """A frame does not match its table's declared schema."""


class UnsafePathError(PipelineError, ValueError):
    """A name or partition value could escape the lake."""
