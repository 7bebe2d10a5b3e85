"""How the tests start Chromium: Debian's, never a downloaded one, with the
flags this machine needs (no sandbox as root, no calls home)."""

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A host name for a live server that is not a secure context, as a LAN
# address over plain http is for a phone: no WebCrypto there.
LAN_HOST = "shop.lan.test"
CHROMIUM_ARGS = [
    f"--host-resolver-rules=MAP {LAN_HOST} 127.0.0.1",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-features=LocalNetworkAccessChecks",
]
