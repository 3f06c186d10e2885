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


@pytest.mark.parametrize(
    "host, encoding",
    [
        ("[::127.0.0.1]", "IPv4-compatible encoding of 127.0.0.1"),
        ("[::10.0.0.1]", "IPv4-compatible encoding of 10.0.0.1"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped encoding of 127.0.0.1"),
        ("[::ffff:169.254.169.254]", "IPv4-mapped encoding of 169.254.169.254"),
        ("[::ffff:0:7f00:1]", "IPv4-translated encoding of 127.0.0.1"),
        ("[64:ff9b::7f00:1]", "NAT64 encoding of 127.0.0.1"),
        ("[64:ff9b::a9fe:a9fe]", "NAT64 encoding of 169.254.169.254"),
        ("[64:ff9b::c0a8:0101]", "NAT64 encoding of 192.168.1.1"),
        ("[64:ff9b:1::a00:1]", "local-use NAT64"),
        ("[2002:7f00:1::1]", "6to4 encoding of 127.0.0.1"),
        ("[2002:c0a8:101::1]", "6to4 encoding of 192.168.1.1"),
        ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "Teredo client encoding of 127.0.0.1"),
        ("[2001:0:7f00:1:8000:63bf:3fff:fdd2]", "Teredo server encoding of 127.0.0.1"),
    ],
)
def test_ipv6_encodings_of_internal_ipv4_addresses_are_refused(settings, host: str, encoding: str) -> None:
    settings.FORENSICS_WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(DestinationRefused, match=encoding):
        check_destination(f"https://{host}/hook")


@pytest.mark.parametrize("host", ["[64:ff9b::5db8:d822]", "[2002:5db8:d822::1]", "[2606:4700:4700::1111]"])
def test_ipv6_encodings_of_public_addresses_are_allowed(host: str) -> None:
    check_destination(f"https://{host}/hook")  # NAT64 / 6to4 of 93.184.216.34, and a plain public IPv6
