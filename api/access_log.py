"""Keeping secrets out of the access log: `?token=` and `?ticket=` values are masked in every line.

Browsers cannot send a header with EventSource or `<img>`, so those requests carry their secret
in the URL, and uvicorn's access log writes the URL as it came. The filter sits on uvicorn's
access logger, so it works however the app is served (`tenken serve`, `uvicorn --factory`,
gunicorn with uvicorn workers).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

ACCESS_LOGGER = "uvicorn.access"
SECRET_PARAMS = frozenset({"token", "ticket"})
_QUERY_PARAM = re.compile(r"([?&])([^=&#\s\"]+)=([^&#\s\"]*)")


def _mask(match: re.Match[str]) -> str:
    sep, key, value = match.groups()
    # Keys are compared decoded, as the server reads them: `?tok%65n=` is a token too.
    return f"{sep}{key}=***" if unquote_plus(key) in SECRET_PARAMS else f"{sep}{key}={value}"


def redact_secrets(text: str) -> str:
    """The text with the value of every secret query parameter masked.

    >>> redact_secrets("/api/stream?channels=jobs&token=tk_abc&after=7-0")
    '/api/stream?channels=jobs&token=***&after=7-0'
    >>> redact_secrets("/api/me?tok%65n=tk_abc")
    '/api/me?tok%65n=***'
    """
    return _QUERY_PARAM.sub(_mask, text)


class RedactSecrets(logging.Filter):
    """Masks secret query parameters in a record's message and its string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_secrets(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once, however often the app is created)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
