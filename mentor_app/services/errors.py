"""The errors services raise; states turn them into messages on the page."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every refusal a user may be shown."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The thing does not exist, or the actor may not know that it does."""


class PermissionDenied(ServiceError):
    """The actor may not do this."""


class ValidationError(ServiceError):
    """Input refused; `field` names the form field the message belongs next to."""


class Conflict(ServiceError):
    """The action clashes with what is already there (e.g. a taken e-mail)."""


class Unavailable(ServiceError):
    """The database could not take the change now (locked past its busy timeout,
    unreachable); nothing was written and the same action can simply be repeated."""


class Throttled(ServiceError):
    """Too many attempts; try again after `retry_after_s` seconds."""

    def __init__(self, message: str, *, retry_after_s: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after_s = retry_after_s


# A refusal made in a helper process (mentor_app.apart) travels back as plain values and is
# raised again in the worker as the same kind of refusal, with the same message and field.
Refusal = tuple[str, str, "str | None"]


def as_refusal(error: ServiceError) -> Refusal:
    return (type(error).__name__, error.message, error.field)


def from_refusal(refusal: Refusal) -> ServiceError:
    kinds: dict[str, type[ServiceError]] = {
        kind.__name__: kind
        for kind in (NotFound, PermissionDenied, ValidationError, Conflict, Unavailable)
    }
    name, message, field = refusal
    return kinds.get(name, ServiceError)(message, field=field)
