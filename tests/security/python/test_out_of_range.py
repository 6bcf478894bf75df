"""No time a caller passes crashes the interpreter or prints a wrong year
(issue 12, item 6), through the Python binding: out-of-range skews, ages,
lifetimes and instants raise postpolicy.TimeRangeError (a ValueError), never
PanicException."""

from __future__ import annotations

import datetime
import re
from typing import Any, Callable

import pytest

import postpolicy
from postpolicy import (
    Credentials,
    FileInfo,
    OssSigner,
    Policy,
    S3Signer,
    S3Verifier,
    TimeRangeError,
    Verifier,
)

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ID = "LTAI5tSecurityKeyId"
SECRET = "SecuritySecretKZo149BD9GLPNiDIEmdQ7"
FIVE_DIGIT_YEAR = re.compile(r"\d{5,}-\d\d-\d\d")


def raises_time_range_error(call: Callable[[], Any], name: str) -> TimeRangeError:
    """`call` raises TimeRangeError (not PanicException) whose message names `name`."""
    with pytest.raises(TimeRangeError) as info:
        call()
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, postpolicy.Error)
    assert error.code == "TIME_OUT_OF_RANGE"
    assert name in str(error), str(error)
    assert not FIVE_DIGIT_YEAR.search(str(error)), str(error)
    return error


def v4_form(signed_at: datetime.datetime) -> list[tuple[str, str]]:
    signer = OssSigner(Credentials(ID, SECRET), "cn-hangzhou", "examplebucket", version="v4")
    form = signer.sign(Policy.parse('key starts-with "u/"'), now=signed_at)
    return [("key", "u/a.txt"), *form.fields.items()]


@pytest.mark.parametrize(
    "skew",
    [
        datetime.timedelta(days=999999999),
        datetime.timedelta.max,
        datetime.timedelta(days=7, seconds=1),
        10**15,
        9007199254740991,
    ],
)
def test_a_huge_clock_skew_raises_a_typed_error(skew: Any) -> None:
    raises_time_range_error(
        lambda: Verifier("examplebucket", "cn-hangzhou", {ID: SECRET}, clock_skew=skew),
        "the clock skew",
    )


@pytest.mark.parametrize("skew", [datetime.timedelta(seconds=-1), -1, -5.5, datetime.timedelta.min])
def test_a_negative_clock_skew_raises_a_typed_error(skew: Any) -> None:
    error = raises_time_range_error(
        lambda: Verifier("examplebucket", "cn-hangzhou", {ID: SECRET}, clock_skew=skew),
        "the clock skew",
    )
    assert "negative" in str(error)


@pytest.mark.parametrize(
    "age",
    [
        datetime.timedelta(days=999999999),
        datetime.timedelta.max,
        datetime.timedelta(days=3651),
        datetime.timedelta(seconds=-1),
    ],
)
def test_a_huge_or_negative_s3_max_date_age_raises_a_typed_error(age: Any) -> None:
    raises_time_range_error(
        lambda: S3Verifier("examplebucket", "us-east-1", {ID: SECRET}, max_date_age=age),
        "the maximum date age",
    )


def test_the_largest_allowed_skew_verifies_without_overflow() -> None:
    verifier = Verifier(
        "examplebucket", "cn-hangzhou", {ID: SECRET}, clock_skew=datetime.timedelta(days=7)
    )
    accepted = verifier.verify(v4_form(NOW), FileInfo("a.txt", size=1), now=NOW)
    assert accepted.key == "u/a.txt"
    last = datetime.datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    with pytest.raises(postpolicy.Rejected):
        verifier.verify(v4_form(NOW), FileInfo("a.txt", size=1), now=last)


def test_a_lifetime_past_9999_fails_to_json_instead_of_printing_year_2142() -> None:
    policy = Policy.parse("expires in 99999999999d")
    error = raises_time_range_error(lambda: policy.to_json(NOW), "expires in 99999999999d")
    assert "9999-12-31T23:59:59.999Z" in str(error)
    raises_time_range_error(lambda: policy.expires_at(NOW), "99999999999d")


def test_signing_a_lifetime_past_9999_raises_a_typed_error() -> None:
    policy = Policy.parse("expires in 99999999999d")
    credentials = Credentials(ID, SECRET)
    for signer in (
        OssSigner(credentials, "cn-hangzhou", "examplebucket", version="v1"),
        OssSigner(credentials, "cn-hangzhou", "examplebucket", version="v4"),
        S3Signer(credentials, "us-east-1", "examplebucket"),
    ):
        raises_time_range_error(lambda: signer.sign(policy, now=NOW), "99999999999d")


def test_a_now_past_9999_in_utc_raises_a_typed_error() -> None:
    # The core handles up to 9999-12-31T23:59:59.999Z; datetime.max is a
    # microsecond-precise instant past it.
    late = datetime.datetime.max.replace(tzinfo=UTC)
    policy = Policy.parse('key starts-with "u/"')
    signer = OssSigner(Credentials(ID, SECRET), "cn-hangzhou", "examplebucket")
    verifier = Verifier("examplebucket", "cn-hangzhou", {ID: SECRET})
    for call in (
        lambda: signer.sign(policy, now=late),
        lambda: policy.to_json(late),
        lambda: verifier.verify(v4_form(NOW), FileInfo("a.txt", size=1), now=late),
    ):
        raises_time_range_error(call, "`now`")
    # 9999-12-31 23:59 at UTC-23:00 is year 10000 in UTC, which Python's own
    # datetime refuses to convert: an OverflowError, not a crash.
    beyond = datetime.datetime(
        9999, 12, 31, 23, 59, tzinfo=datetime.timezone(-datetime.timedelta(hours=23))
    )
    with pytest.raises(OverflowError):
        signer.sign(policy, now=beyond)


def test_lint_reports_a_lifetime_past_9999() -> None:
    found = Policy.parse('expires in 99999999999d\nkey starts-with "u/"').lint(NOW)
    codes = {d.code: d for d in found}
    assert codes["expiration-out-of-range"].severity == "error"
    assert not FIVE_DIGIT_YEAR.search(codes["expiration-out-of-range"].message)
