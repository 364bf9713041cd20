"""Delivering a notification: email over SMTP and webhooks as signed JSON POSTs.

Both retry transient failures (a connection refused or lost, a timeout, an SMTP 4xx, an HTTP 5xx,
408 or 429) with exponential back-off (tenacity): ``WEBHOOK_ATTEMPTS`` tries, waiting
``WEBHOOK_BACKOFF_S``, then twice as long each time. Nothing here raises: a delivery returns a
:class:`Delivery` saying whether it arrived, after how many tries, and why not.

Webhook requests carry ``X-Energy-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body
bytes under the rule's secret; a receiver recomputes it (:func:`sign`) and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.config import APP_VERSION, Settings

SIGNATURE_HEADER = "X-Energy-Signature"
EVENT_HEADER = "X-Energy-Event"


@dataclass(frozen=True)
class Delivery:
    """The outcome of one delivery: ``ok``, the ``attempts`` made, and the ``error`` if not ok."""

    ok: bool
    attempts: int
    error: str = ""
    gave_up: bool = False  # retried until ``WEBHOOK_ATTEMPTS`` on transient failures: the receiver is down


class TransientError(Exception):
    """A failure worth trying again (the receiver may be back in a moment)."""


class PermanentError(Exception):
    """A failure that trying again will not fix (a refused recipient, HTTP 4xx)."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=`` + hex HMAC-SHA256 under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_email(recipients: Sequence[str], subject: str, body: str, settings: Settings) -> Delivery:
    """Send a plain-text email to ``recipients`` through ``SMTP_HOST``."""
    if not settings.smtp_host:
        return Delivery(False, 0, "SMTP_HOST is not set: set SMTP_HOST (and SMTP_PORT, SMTP_FROM) to send email")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = "".join(c if c.isprintable() else " " for c in subject)[:200]
    message.set_content(body)

    def attempt() -> None:
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            said = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            text = f"SMTP {exc.smtp_code}: {said}"
            if 400 <= exc.smtp_code < 500:
                raise TransientError(text) from exc
            raise PermanentError(text) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"the SMTP server refused every recipient: {', '.join(exc.recipients)}") from exc
        except OSError as exc:  # refused, lost, timed out (smtplib's own errors are OSErrors too)
            raise TransientError(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc

    return _with_retries(attempt, settings)


def post_webhook(url: str, secret: str, payload: dict, event: str, settings: Settings) -> Delivery:
    """POST ``payload`` as JSON to ``url``, signed with ``secret``; any 2xx answer is delivered."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": f"energy-dashboard/{APP_VERSION}",
        EVENT_HEADER: event, SIGNATURE_HEADER: sign(secret, body)})

    def attempt() -> None:
        try:
            with urllib.request.urlopen(request, timeout=settings.webhook_timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            raise TransientError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
        if 200 <= status < 300:
            return
        if status >= 500 or status in (408, 429):
            raise TransientError(f"{url} answered HTTP {status}")
        raise PermanentError(f"{url} answered HTTP {status}: check the URL and the receiver's configuration")

    return _with_retries(attempt, settings)


def _with_retries(attempt: Callable[[], None], settings: Settings) -> Delivery:
    backoff = settings.webhook_backoff_s
    retrying = Retrying(stop=stop_after_attempt(settings.webhook_attempts),
                        wait=wait_exponential(multiplier=backoff, max=max(backoff, 1.0) * 60),
                        retry=retry_if_exception_type(TransientError), reraise=True)
    tries = 0
    try:
        for state in retrying:
            with state:
                tries = state.retry_state.attempt_number
                attempt()
    except TransientError as exc:
        return Delivery(False, tries, f"gave up after {tries} tries: {exc}", gave_up=True)
    except Exception as exc:  # noqa: BLE001 - recorded, never raised into the caller
        return Delivery(False, tries, str(exc) or type(exc).__name__)
    return Delivery(True, tries)
