"""The exceptions postpolicy raises.

Every error is a :class:`postpolicy.Error`, itself a :class:`ValueError`.
The classes are plain Python; the native module builds and raises them, and
the text of every message comes from the Rust core.

One code vocabulary, the same in Rust, Python and Node: ``code`` is the
stable, language-neutral code of the core (``POLICY_SYNTAX``,
``POLICY_INVALID``, ``SIGNATURE_MISMATCH``, ``SIGNING_INVALID``,
``REJECTED``, ``TIME_OUT_OF_RANGE``, and the ``CALLBACK_*`` codes of
:class:`CallbackError`); ``service_code`` is what the storage service itself
would answer (``AccessDenied``, ``EntityTooLarge``,
``InvalidPolicyDocument``, ...), on :class:`Rejected` and
:class:`PolicyError`. Branch on ``code``; show or log ``service_code``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "CallbackError",
    "Error",
    "PolicyError",
    "PolicySyntaxError",
    "Rejected",
    "SignatureError",
    "SyntaxErrorDetail",
    "TimeRangeError",
]


class Error(ValueError):
    """Base class of every postpolicy error."""

    code: str

    def __init__(self, message: str, *, code: str = "ERROR") -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), dict(self.__dict__)))


def _rebuild(cls: type[Error], message: str, state: dict[str, Any]) -> Error:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


@dataclass(frozen=True)
class SyntaxErrorDetail:
    """One syntax error of a policy DSL text.

    ``line`` and ``column`` are 1-based (column counted in characters);
    ``start`` and ``end`` are byte offsets into the UTF-8 source.
    """

    line: int
    column: int
    expected: str
    found: str
    start: int
    end: int

    @property
    def reason(self) -> str:
        """``expected …, found …``, without the location."""
        return f"expected {self.expected}, found {self.found}"

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


class PolicySyntaxError(Error):
    """The policy DSL text does not parse.

    ``line`` and ``column`` locate the first error; ``errors`` lists all of
    them (the parser recovers per statement).
    """

    line: int
    column: int
    errors: list[SyntaxErrorDetail]

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[SyntaxErrorDetail],
        code: str = "POLICY_SYNTAX",
    ) -> None:
        super().__init__(message, code=code)
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        self.line = first.line if first else 0
        self.column = first.column if first else 0


class PolicyError(Error):
    """A policy document the service would refuse, or one that cannot be made.

    ``service_code`` is the service's error code (``InvalidPolicyDocument``),
    ``service_message`` its message, ``reason`` the same for a person.
    """

    service_code: str
    service_message: str
    reason: str

    def __init__(
        self,
        message: str,
        *,
        service_code: str = "InvalidPolicyDocument",
        service_message: str = "",
        reason: str = "",
        code: str = "POLICY_INVALID",
    ) -> None:
        super().__init__(message, code=code)
        self.service_code = service_code
        self.service_message = service_message
        self.reason = reason or message


class SignatureError(Error):
    """Signing could not be done (bad credentials, region, bucket, date,
    endpoint or version), or a signature does not match."""

    def __init__(self, message: str, *, code: str = "SIGNING_INVALID") -> None:
        super().__init__(message, code=code)


class TimeRangeError(Error):
    """An instant or a duration outside what a form can state: ``now`` or an
    expiration past 9999-12-31 (a policy writes four-digit years), an
    ``expires in`` lifetime that ends there, or a negative or too long
    ``clock_skew`` or ``max_date_age``. The message names the input."""

    def __init__(self, message: str, *, code: str = "TIME_OUT_OF_RANGE") -> None:
        super().__init__(message, code=code)


class Rejected(Error):
    """An upload the storage service would refuse, as it would answer it.

    ``code`` is always ``"REJECTED"``. ``status`` is the HTTP status,
    ``service_code`` and ``message`` the service's own error code
    (``AccessDenied``, ``EntityTooLarge``, ...) and message,
    ``condition_index`` the 0-based index of the failing policy condition
    (``None`` when no condition failed) and ``reason`` a plain explanation
    naming the value sent and what was expected.
    ``str(rejected)`` is ``"<service_code> (<status>): <reason>"``.
    """

    status: int
    service_code: str
    message: str
    condition_index: Optional[int]
    reason: str

    def __init__(
        self,
        text: str,
        *,
        status: int,
        service_code: str,
        message: str,
        condition_index: Optional[int] = None,
        reason: str = "",
        code: str = "REJECTED",
    ) -> None:
        super().__init__(text, code=code)
        self.status = status
        self.service_code = service_code
        self.message = message
        self.condition_index = condition_index
        self.reason = reason

    def __repr__(self) -> str:
        return (
            f"Rejected(status={self.status!r}, service_code={self.service_code!r}, "
            f"condition_index={self.condition_index!r}, reason={self.reason!r})"
        )


class CallbackError(Error):
    """An upload callback that cannot be built, decoded or signed, or a
    callback request that does not verify.

    ``code`` is one of the core's stable ``CALLBACK_*`` codes:
    ``CALLBACK_BAD_SIGNATURE``, ``CALLBACK_UNTRUSTED_KEY_URL``,
    ``CALLBACK_UNDEFINED_VAR``, ... ``is_verification_failure`` is true for the
    errors of a callback request that must be refused (signature and key
    problems), false for a spec or key that cannot be used. When the key source
    raised, that exception is the ``__cause__``.
    """

    is_verification_failure: bool

    def __init__(
        self,
        message: str,
        *,
        code: str = "CALLBACK_INVALID",
        is_verification_failure: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.is_verification_failure = is_verification_failure

    def __repr__(self) -> str:
        return f"CallbackError(code={self.code!r}, message={str(self)!r})"
