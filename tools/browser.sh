#!/usr/bin/env bash
# The browser the customer-page tests drive: Debian's Chromium and its driver, from the
# distribution's packages (never a browser vendor's download at run time). `make test`
# runs this; it does nothing when both are already installed.
set -euo pipefail
# The Chinese pages (and the dashboard's Chinese chart labels) need a CJK font, or the
# screenshots show empty boxes where the characters should be.
if command -v chromium >/dev/null && command -v chromedriver >/dev/null \
    && [ "$(fc-list : family 2>/dev/null | grep -c 'Noto Sans CJK')" -gt 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "installing Debian's chromium, chromium-driver and fonts-noto-cjk (the page browser tests)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-noto-cjk >/dev/null
