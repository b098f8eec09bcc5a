"""List cursors only this API can issue: the last key of a page, signed with HMAC-SHA256.

A cursor is base64url(tag ‖ body): ``body`` is the JSON ``{"id": <last id>}``, ``tag`` the HMAC-SHA256 of
``<table name>\n<body>`` under the stack's key. A cursor that was altered (even one rewritten to point at
another key), cut short, made up, issued for another table or under an earlier key is a 400, never a page
from somewhere else; the client then starts listing again without a cursor.

The key is the text of CURSOR_SIGNING_KEY: on AWS a per-stack secret that Pulumi creates
(components/microservice.py), locally one the local stack makes at start. A function started without it
makes a random key at init and warns once: its cursors then hold within that execution environment only.
hmac and hashlib add nothing to init: botocore has imported both before this module runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re

import request_log
from problems import ApiError

KEY_VARIABLE = "CURSOR_SIGNING_KEY"
_TAG_BYTES = hashlib.sha256().digest_size
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,1024}")  # api/openapi.yaml's Cursor parameter
INVALID = (
    "the cursor is not one this API issued (altered, or issued before the service's key changed); "
    "start listing again without a cursor"
)

_key_text: str | None = None
_key = b""


def signing_key() -> bytes:
    """The key for this environment: CURSOR_SIGNING_KEY, read again only when it changes (tests rotate it)."""
    global _key_text, _key
    text = os.environ.get(KEY_VARIABLE) or None
    if text != _key_text or not _key:
        _key_text = text
        if text:
            _key = text.encode("utf-8")
        else:
            _key = os.urandom(32)
            request_log.log_warning(
                f"{KEY_VARIABLE} is not set: list cursors are signed with a random key of this execution "
                "environment and fail (400) in any other"
            )
    return _key


def _tag(table: str, body: bytes) -> bytes:
    return hmac.digest(signing_key(), table.encode("utf-8") + b"\n" + body, "sha256")


def encode(table: str, item_id: str) -> str:
    body = json.dumps({"id": item_id}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(_tag(table, body) + body).decode("ascii").rstrip("=")


def decode(table: str, cursor: str) -> str:
    """The id a cursor this API issued for ``table`` names; anything else is a 400."""
    try:
        if not _CURSOR.fullmatch(cursor):
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, body = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
        if not hmac.compare_digest(tag, _tag(table, body)):
            raise ValueError
        document = json.loads(body)
    except (ValueError, binascii.Error):
        raise ApiError(400, INVALID) from None
    return document["id"]


signing_key()  # at init: a missing key is warned about once, before any request
