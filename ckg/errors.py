"""One exception hierarchy for the whole library.

Every error a user can cause derives from :class:`CkgError`; the CLI maps it to
exit status 1 and the HTTP server to a problem+json 4xx. Messages say what was
wrong, where (file:line or concept id) and what to do about it.
"""

from __future__ import annotations


class CkgError(Exception):
    """Base class for every error ckg reports to a user."""

    #: HTTP status the server answers with for this error.
    http_status: int = 400


class SourceError(CkgError):
    """A source document cannot be read at all (missing, unreadable, empty)."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class StrictModeError(CkgError):
    """Warnings or rejections occurred and ``--strict`` made them fatal."""


class BuildMissingError(CkgError):
    """No build exists yet where one was needed."""

    http_status = 503


class BuildDamagedError(CkgError):
    """A file of a build is missing, truncated or edited: it no longer matches the build's manifest."""

    http_status = 503


class ConceptNotFoundError(CkgError):
    """A concept reference matched nothing; ``suggestions`` are what the user may have meant."""

    http_status = 404

    def __init__(self, message: str, suggestions: list[dict] | None = None) -> None:
        super().__init__(message)
        #: ``{"id", "label", "score"}`` dicts, best first (HTTP puts them in the problem body).
        self.suggestions = list(suggestions or [])


class QueryError(CkgError):
    """A SPARQL query was malformed, not allowed, or exceeded a limit."""


class QueryForbiddenError(QueryError):
    """A query asked for something this endpoint never does: an update, or SERVICE (federation)."""

    http_status = 403


class QueryTimeoutError(QueryError):
    """A SPARQL query ran past its time limit."""

    http_status = 408


class QueryBusyError(QueryError):
    """Every slot for users' queries stayed taken while this one waited: try again shortly."""

    http_status = 503


class IndexMismatchError(CkgError):
    """An on-disk vector index does not belong to the current graph or model."""

    http_status = 409


class ModelError(CkgError):
    """The embedding model cannot be loaded."""

    http_status = 500


class NotAcceptableError(CkgError):
    """No result format the client accepts fits the answer (HTTP content negotiation)."""

    http_status = 406
