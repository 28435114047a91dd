"""Errors a user can act on. Messages are lazy: they render in the language of whoever reads them."""


class ServiceError(Exception):
    """Refused by a business rule. `field` names the input at fault, when there is one."""

    status_code = 400

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)

    def to_dict(self) -> dict:
        """The JSON body of a refusal: the message in the caller's language and the field at fault."""
        body = {"message": str(self.message)}
        if self.field:
            body["field"] = self.field
        return body


class IllegalTransition(ServiceError):
    status_code = 409


class ConcurrentEdit(ServiceError):
    status_code = 409


class NotFound(ServiceError):
    status_code = 404
