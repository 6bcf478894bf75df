"""A signer keeps a plan for the Policy object it signs again and again: the
forms (and errors) must be exactly those of a Policy signed for the first
time, whatever the order of policies, keys and signers."""

from __future__ import annotations

import datetime
import itertools
from typing import Optional, Union

import pytest

from postpolicy import Credentials, OssSigner, Policy, PolicyError, S3Signer

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

SOURCES = [
    "content-length 1..10MiB\nsuccess_action_status = 201",
    'key starts-with "user/"\ncontent-type starts-with "image/"\nx-oss-meta-owner = "42"',
    'bucket = "examplebucket"\ncache-control starts-with "max-age="',
]


Signer = Union[OssSigner, S3Signer]


def signers() -> list[Signer]:
    oss = Credentials("LTAI5tPlanKey0001", "PlanSecretKZo149BD9GLPNiDIEmdQ7dyN")
    sts = Credentials("LTAI5tPlanKey0001", "PlanSecretKZo149BD9GLPNiDIEmdQ7dyN", "STS.tok")
    s3 = Credentials("AKIAPLANKEY000001", "PlanSecretKZo149BD9GLPNiDIEmdQ7dyN")
    return [
        OssSigner(oss, region="cn-hangzhou", bucket="examplebucket"),
        OssSigner(sts, region="cn-hangzhou", bucket="examplebucket", version="v1"),
        S3Signer(s3, region="us-east-1", bucket="examplebucket"),
    ]


def fresh(source: str) -> Policy:
    """An equal Policy that no signer has seen."""
    return Policy.parse(source)


def first_time(
    signer_index: int, source: str, now: datetime.datetime, key: Optional[str] = None
) -> str:
    """The token of a fresh signer signing a fresh Policy: no plan involved."""
    return signers()[signer_index].sign(fresh(source), now=now, key=key).to_json()


@pytest.mark.parametrize("signer_index", [0, 1, 2])
def test_a_repeated_policy_signs_as_a_fresh_one(signer_index: int) -> None:
    signer = signers()[signer_index]
    kept = [Policy.parse(s) for s in SOURCES]
    keys = [None, "user/42/${filename}", "user/43/cat.png"]
    # Each policy several times in a row, then the policies interleaved.
    order = [0, 0, 0, 1, 1, 2, 2, 2, 0, 1, 2, 0, 2, 1, 1]
    for step, (index, key) in enumerate(zip(order, itertools.cycle(keys))):
        now = NOW + datetime.timedelta(seconds=step * 37)
        got = signer.sign(kept[index], now=now, key=key)
        want = first_time(signer_index, SOURCES[index], now=now, key=key)
        assert got.to_json() == want, (step, index, key)


def test_a_repeated_policy_that_cannot_be_signed_keeps_failing_the_same_way() -> None:
    signer = signers()[0]
    conflicting = Policy.parse('bucket = "another-bucket"')
    messages = set()
    for _ in range(3):
        with pytest.raises(PolicyError) as error:
            signer.sign(conflicting, now=NOW)
        messages.add(str(error.value))
    with pytest.raises(PolicyError) as error:
        signers()[0].sign(fresh('bucket = "another-bucket"'), now=NOW)
    assert messages == {str(error.value)}


def test_one_policy_object_shared_by_signers() -> None:
    policy = Policy.parse(SOURCES[1])
    all_signers = signers()
    for round_ in range(3):
        for index, signer in enumerate(all_signers):
            now = NOW + datetime.timedelta(minutes=round_)
            got = signer.sign(policy, now=now, key="user/7/${filename}")
            want = first_time(index, SOURCES[1], now=now, key="user/7/${filename}")
            assert got.to_json() == want
