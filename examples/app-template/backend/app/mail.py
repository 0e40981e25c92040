"""Transactional email through a provider's HTTP API, in Postmark's shape:
POST {EMAIL_API_URL}/email with the server token in a header. Any provider
(or a stand-in in tests) that speaks it works: set EMAIL_API_URL."""
import json
import urllib.error
import urllib.request

from .config import settings


class EmailError(RuntimeError):
    pass


def send(subject: str, text: str, to: str | None = None, timeout: float = 10.0) -> str:
    """Send one email; returns the provider's MessageID."""
    if not settings.email_configured:
        raise EmailError("email is not configured: set EMAIL_API_URL, EMAIL_API_KEY, "
                         "EMAIL_FROM and EMAIL_TO (towlion env set APP ...)")
    body = json.dumps({"From": settings.email_from, "To": to or settings.email_to,
                       "Subject": subject, "TextBody": text, "MessageStream": "outbound"}).encode()
    req = urllib.request.Request(
        settings.email_api_url + "/email", data=body, method="POST",
        headers={"Accept": "application/json", "Content-Type": "application/json",
                 "X-Postmark-Server-Token": settings.email_api_key})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        # Postmark answers 422 with {"ErrorCode": n, "Message": "..."}.
        detail = e.read(2000).decode("utf-8", "replace")
        raise EmailError(f"email API answered {e.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        raise EmailError(f"email API at {settings.email_api_url} failed: {e}") from None
    if answer.get("ErrorCode", 0) != 0:
        raise EmailError(f"email API refused the message: {answer.get('Message')}")
    return str(answer.get("MessageID", ""))
