"""Policy.parse(source, params) and Policy.builder(): request data goes into
a policy as values, never as policy text."""

from __future__ import annotations

import datetime
import json
import types
from collections.abc import Iterator, Mapping
from typing import Optional

import pytest

from postpolicy import Policy, PolicyBuilder, PolicyError, PolicySyntaxError

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TEMPLATE = 'expires in 10m\nkey starts-with "user/{user}/"\ncontent-length 1..10MiB'


class Params(Mapping[str, str]):
    """A mapping that is not a dict."""

    def __init__(self, **items: str) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize(
    "params",
    [{"user": "42"}, types.MappingProxyType({"user": "42"}), Params(user="42")],
    ids=["dict", "mappingproxy", "Mapping"],
)
def test_any_mapping_of_str(params: Mapping[str, str]) -> None:
    policy = Policy.parse(TEMPLATE, params)
    assert policy == Policy.parse(
        'expires in 10m\nkey starts-with "user/42/"\ncontent-length 1..10MiB'
    )
    assert Policy.parse(TEMPLATE, params=params) == policy


def test_the_issue_payloads_stay_values() -> None:
    policy = Policy.parse(TEMPLATE, {"user": '"#'})
    assert policy.to_dsl().splitlines()[1] == 'key starts-with "user/\\"#/"'
    payload = '42/"; expires at 2099-01-01T00:00:00Z #'
    policy = Policy.parse(TEMPLATE, {"user": payload})
    assert policy.expires_at(NOW) == NOW + datetime.timedelta(minutes=10)
    assert len(policy) == 2
    document = json.loads(policy.to_json(NOW))
    assert document["expiration"] == "2026-11-21T12:10:00.000Z"
    assert document["conditions"][0] == ["starts-with", "$key", f"user/{payload}/"]


def test_no_params_is_no_parameters() -> None:
    no_params: list[Optional[Mapping[str, str]]] = [None, {}]
    for params in no_params:
        with pytest.raises(PolicySyntaxError) as raised:
            Policy.parse(TEMPLATE, params)
        error = raised.value.errors[0]
        assert (error.line, error.column) == (2, 23)
        assert error.reason == (
            "expected a parameter for {user}, found no parameters (a literal brace is written {{ or }})"
        )
    assert len(Policy.parse('key = "{{literal}}"')) == 1


def test_missing_and_unused_parameters_name_the_parameter() -> None:
    with pytest.raises(PolicySyntaxError) as raised:
        Policy.parse(TEMPLATE, {"usr": "42"})
    assert str(raised.value) == (
        "line 2, column 23: expected a parameter for {user}, found none among the parameters given (usr)"
    )
    with pytest.raises(PolicySyntaxError) as raised:
        Policy.parse(TEMPLATE, {"user": "42", "extra": "x"})
    assert raised.value.errors[0].reason == (
        "expected placeholder {extra} (the parameter is given but not used), found end of input"
    )
    with pytest.raises(PolicySyntaxError) as raised:
        Policy.parse("content-length 1..{max}", {"max": "10MiB"})
    assert raised.value.errors[0].reason == "expected size, found placeholder {max}"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"user": 42}, "params['user'] must be str, not int"),
        ({"user": b"42"}, "params['user'] must be str, not bytes"),
        ({"user": None}, "params['user'] must be str, not NoneType"),
        ({1: "42"}, "params keys must be str, not int (1)"),
        ([("user", "42")], "params must be a mapping of str to str (e.g. a dict), not list"),
        ("user=42", "params must be a mapping of str to str (e.g. a dict), not str"),
    ],
)
def test_params_that_are_not_str_are_type_errors(params: object, message: str) -> None:
    with pytest.raises(TypeError) as raised:
        Policy.parse(TEMPLATE, params)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_a_lone_surrogate_is_a_unicode_error() -> None:
    with pytest.raises(UnicodeEncodeError):
        Policy.parse(TEMPLATE, {"user": "\ud800"})


def test_builder_equals_the_dsl() -> None:
    builder = Policy.builder()
    assert isinstance(builder, PolicyBuilder)
    policy = (
        builder.expires_in(datetime.timedelta(minutes=10))
        .key_prefix("user/42/")
        .content_types(["image/png", "image/jpeg"])
        .size(1, 10 * 1024 * 1024)
        .field("success_action_status", "201")
        .metadata("x-oss-meta-owner", "42")
        .build()
    )
    assert policy == Policy.parse(
        """
        expires in 10m
        key starts-with "user/42/"
        content-type in [image/png, image/jpeg]
        content-length 1..10MiB
        success_action_status = 201
        x-oss-meta-owner = "42"
        """
    )
    assert policy.to_json(NOW) == Policy.parse(policy.to_dsl()).to_json(NOW)
    # build() leaves the builder usable.
    assert builder.build() == policy
    at = datetime.datetime(2026, 12, 1, tzinfo=UTC)
    assert Policy.builder().expires_at(at).key("a.png").content_type(
        "image/png"
    ).build() == Policy.parse(
        "expires at 2026-12-01T00:00:00Z\nkey = a.png\ncontent-type = image/png"
    )
    assert Policy.builder().expires_in(600).content_type_prefix("image/").build() == Policy.parse(
        "expires in 10m\ncontent-type starts-with image/"
    )


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda b: b.size(10, 1), "size: the minimum 10 is above the maximum 1"),
        (lambda b: b.field("", "x"), "field: the field name is empty"),
        (
            lambda b: b.metadata("owner", "x"),
            "metadata: `owner` is not a metadata field name: expected x-oss-meta-NAME or x-amz-meta-NAME",
        ),
        (
            lambda b: b.content_types([]),
            "content_types needs at least one type: `content-type in []` allows no upload",
        ),
        (
            lambda b: b.expires_in(datetime.timedelta(milliseconds=1500)),
            "expires_in takes whole seconds, got 1.5s",
        ),
        (
            lambda b: b.expires_in(60).expires_in(60),
            "the expiration is set twice: call expires_in or expires_at once",
        ),
    ],
)
def test_builder_errors_are_policy_errors(build: object, reason: str) -> None:
    builder = build(Policy.builder())  # type: ignore[operator]
    with pytest.raises(PolicyError) as raised:
        builder.build()
    assert raised.value.reason == reason
    assert raised.value.code == "POLICY_INVALID"


def test_builder_argument_types() -> None:
    with pytest.raises(TypeError, match="types must be a list of str, not str"):
        Policy.builder().content_types("image/png")
    with pytest.raises(TypeError, match="types must be a list of str, not int"):
        Policy.builder().content_types(["image/png", 3])  # type: ignore[list-item]
    with pytest.raises(OverflowError):
        Policy.builder().size(-1, 10)
    with pytest.raises(OverflowError):
        Policy.builder().expires_in(-5)
    with pytest.raises(ValueError, match="naive"):
        Policy.builder().expires_at(datetime.datetime(2026, 12, 1))
    with pytest.raises(TypeError):
        Policy.builder().key_prefix(42)  # type: ignore[arg-type]
