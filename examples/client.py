"""A minimal client of the media forensics REST API (only needs ``requests``).

    export FORENSICS_URL=http://127.0.0.1:8000 FORENSICS_API_KEY=fk_...
    python examples/client.py photo.jpg            # submit, wait, print the verdict
    python examples/client.py --text "Some words"  # the same for a text

Copy what you need: submit(), wait_for(), register_webhook() and
verify_webhook(), which a webhook receiver runs on every POST it gets.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests


class ForensicsClient:
    def __init__(self, base_url: str, api_key: str, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = timeout

    def _check(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 400:  # errors are RFC 9457 problem details
            problem = response.json()
            raise RuntimeError(f"{problem.get('status')} {problem.get('title')}: {problem.get('detail')}")
        return response.json()

    def submit(self, path: Path | None = None, text: str | None = None) -> dict[str, Any]:
        """Queue an analysis. The Idempotency-Key makes a retried POST return the first analysis."""
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        for attempt in range(3):
            try:
                if path is not None:
                    with path.open("rb") as fh:
                        response = self.session.post(f"{self.base}/analyses", files={"file": (path.name, fh)},
                                                     headers=headers, timeout=self.timeout)
                else:
                    response = self.session.post(f"{self.base}/analyses", json={"text": text}, headers=headers,
                                                 timeout=self.timeout)
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(2**attempt)
                continue
            if response.status_code == 429:  # rate limited: wait as told, then retry with the same key
                time.sleep(int(response.headers.get("Retry-After", "1")))
                continue
            return self._check(response)
        raise RuntimeError("still rate limited after 3 attempts")

    def analysis(self, analysis_id: str) -> dict[str, Any]:
        return self._check(self.session.get(f"{self.base}/analyses/{analysis_id}", timeout=self.timeout))

    def wait_for(self, analysis_id: str, timeout: float = 300.0, interval: float = 1.0) -> dict[str, Any]:
        """Poll until the analysis is done or failed (or use a webhook instead of polling)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.analysis(analysis_id)
            if result["state"] in ("done", "failed"):
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"analysis {analysis_id} is still {result['state']} after {timeout:.0f} s")
            time.sleep(interval)

    def register_webhook(self, url: str) -> dict[str, Any]:
        """Returns the endpoint including its ``secret``: store it, it is shown only once."""
        return self._check(self.session.post(f"{self.base}/webhooks", json={"url": url}, timeout=self.timeout))


def verify_webhook(secret: str, signature_header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """True when ``Forensics-Signature`` matches the raw body and is recent.

    The header is ``t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``. Use the body
    bytes exactly as received, and drop repeats by the ``Forensics-Delivery`` header.
    """
    fields = dict(part.split("=", 1) for part in signature_header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="an image, a video or a text file")
    parser.add_argument("--text", help="analyse this text instead of a file")
    parser.add_argument("--url", default=os.environ.get("FORENSICS_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--key", default=os.environ.get("FORENSICS_API_KEY", ""), help="or FORENSICS_API_KEY")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    if not args.key or (args.file is None) == (args.text is None):
        parser.error("give an API key and exactly one of FILE or --text")
    client = ForensicsClient(args.url, args.key)
    submitted = client.submit(path=args.file, text=args.text)
    result = client.wait_for(submitted["id"], timeout=args.timeout)
    print(json.dumps({key: result[key] for key in ("id", "state", "verdict", "score", "verdict_reason", "error")},
                     indent=2))
    return 0 if result["state"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
