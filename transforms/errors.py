"""The corpus's one error hierarchy (pure: the transforms, the warehouse and the flows all raise from it).

Every error raised on purpose is a CorpusError: the CLI prints its message as one line (no traceback)
and exits with its `exit_code` (the table is in README.md, "Exit codes"). Anything else escaping is a bug.

    CorpusError              1  a run failed (BatchError, RenormalizeError, ServerStartError, FetchError)
    ├── UserError            2  bad input: a flag, a path, a cluster id (RepairError, EntitiesError)
    │   └── ConfigError      2  a CORPUS_* setting that cannot be used
    ├── TransformError       2  a broken rules file or gazetteer (file:line); per document: quarantined
    └── WarehouseError       3  the warehouse is busy or unusable (warehouse/store.py)
        ├── CatalogCorrupt   4  corpus.duckdb is damaged
        ├── RefusedQuery     2  `corpus sql` refuses or fails the statement
        └── QueryTimeout   124  `corpus sql --timeout`
"""


class CorpusError(Exception):
    """Root of the errors the corpus raises on purpose; the CLI exits with `exit_code`."""

    exit_code = 1


class UserError(CorpusError):
    """Bad input from the user; the CLI prints the message and exits 2."""

    exit_code = 2


class ConfigError(UserError):
    """A setting (a CORPUS_* variable or its flag) that cannot be used: the message names it."""


class TransformError(CorpusError):
    """Base class of the transforms' errors: `reason` is a short machine-readable code, the message is for
    people. Raised to the CLI only for a broken data file (rules, gazetteer): exit 2."""

    exit_code = 2
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
