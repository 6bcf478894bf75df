"""Verifying OSS upload callbacks: the one piece done in Python is fetching
the public key over HTTP.

:func:`verify_callback` hands the request to the Rust core, which checks the
key URL against the trusted prefixes (as a parsed URL) **before** asking the
key source, which gets the canonical URL (https for OSS's key host); then it
checks the RSA signature. The default key source, :data:`default_key_source`,
fetches with :func:`fetch_public_key` (``urllib.request``, with a timeout)
and keeps each parsed key by canonical URL, at most 32 of them (failures are
not kept).
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Optional, Union

from ._native import CachedKeySource, VerifiedCallback
from ._native import callback_string_to_sign as string_to_sign
from ._native import verify_callback as _verify_callback

if TYPE_CHECKING:
    from ._native import _Bytes, _Headers, _KeySource, _TrustedKeyUrls

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_KEY_BYTES",
    "default_key_source",
    "fetch_public_key",
    "string_to_sign",
    "verify_callback",
]

DEFAULT_TIMEOUT = 3.0
"""Seconds to wait for the key server: OSS itself gives the whole callback 5 s."""

MAX_KEY_BYTES = 64 * 1024
"""A PEM public key is well under 1 KiB; anything larger is refused unread."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: the URL the core trusted is the one fetched."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def fetch_public_key(url: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The PEM text at ``url`` (HTTP or HTTPS GET, no redirects).

    Raises ``OSError`` (``urllib.error.URLError``, ``TimeoutError``) or
    ``ValueError`` on failure; :func:`verify_callback` turns that into a
    ``CallbackError`` with the code ``CALLBACK_KEY_FETCH_FAILED``.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"only http and https key URLs are fetched, not {scheme or 'no'} scheme")
    request = urllib.request.Request(url, headers={"Accept": "application/x-pem-file, */*"})
    opener = urllib.request.build_opener(_NoRedirect)  # proxies from the environment, as urlopen
    with opener.open(request, timeout=timeout) as response:
        data: bytes = response.read(MAX_KEY_BYTES + 1)
    if len(data) > MAX_KEY_BYTES:
        raise ValueError(f"the key at {url} is larger than {MAX_KEY_BYTES} bytes")
    return data.decode("utf-8", errors="replace")


default_key_source = CachedKeySource(fetch_public_key)
"""The key source :func:`verify_callback` uses when given none."""


def verify_callback(
    method: str,
    path: str,
    query: Optional[str],
    headers: _Headers,
    body: _Bytes,
    key_source: Optional[_KeySource] = None,
    trusted_key_urls: Union[_TrustedKeyUrls, None] = None,
) -> VerifiedCallback:
    """Checks that a callback request was signed by OSS; returns
    :class:`VerifiedCallback` or raises :class:`postpolicy.CallbackError`.

    ``path`` is the raw, still percent-encoded path; ``query`` the raw query
    without ``?`` (``""`` for a bare ``?``, ``None`` when the request target
    has none); ``headers`` a mapping (Flask's ``request.headers`` works) or
    ``(name, value)`` pairs; ``body`` the raw bytes. ``key_source`` (default
    :data:`default_key_source`) is a :class:`CachedKeySource` or a callable
    ``url -> PEM``, only called for a key URL that ``trusted_key_urls``
    trusts: ``None`` for OSS's own (``http(s)://gosspublic.alicdn.com/``), a
    :class:`KeyUrlPolicy`, or prefixes trusted in addition to OSS's own.
    """
    return _verify_callback(
        method,
        path,
        query,
        headers,
        body,
        default_key_source if key_source is None else key_source,
        trusted_key_urls,
    )
