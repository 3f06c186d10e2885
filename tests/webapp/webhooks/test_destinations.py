"""Only https:// to public hosts (plus http://localhost when allowed): the SSRF guard."""
import pytest

from webapp.webhooks.destinations import DestinationRefused, check_destination


@pytest.mark.parametrize(
    "url, needle",
    [
        ("http://93.184.216.34/hook", "must use https"),
        ("ftp://93.184.216.34/hook", "unsupported scheme"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://user:pw@93.184.216.34/hook", "credentials"),
        ("https:///nohost", "no host"),
        ("https://host.invalid/hook", "cannot resolve"),
        ("http://127.0.0.1:8000/hook", "FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST"),
    ],
)
def test_refused_urls_say_why(settings, url: str, needle: str) -> None:
    settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = False
    with pytest.raises(DestinationRefused, match=needle):
        check_destination(url)


def test_public_https_and_opt_ins_are_allowed(settings) -> None:
    check_destination("https://93.184.216.34/hook")
    settings.FORENSICS_WEBHOOK_ALLOW_HTTP_LOCALHOST = True
    check_destination("http://127.0.0.1:8000/hook")
    check_destination("http://localhost/hook")
    with pytest.raises(DestinationRefused):
        check_destination("http://10.0.0.5/hook")  # only the local machine, never the LAN, over http
    settings.FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    check_destination("https://10.1.2.3/hook")
