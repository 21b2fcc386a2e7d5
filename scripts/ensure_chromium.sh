#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/browser/).
#
# The tests drive /usr/bin/chromium with Playwright; Playwright never downloads a
# browser of its own (no `playwright install`). If Chromium is missing and we are root
# on a system with apt-get (CI, a fresh container), install it from Debian; otherwise
# say what to do and exit 0 - the browser tests then skip with that message.
#
# Usage: scripts/ensure_chromium.sh   (EDU_CNN_CHROMIUM=/path/to/chromium: another binary)
set -uo pipefail

CHROMIUM="${EDU_CNN_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: $CHROMIUM is missing and I cannot install it (need root and apt-get);" \
         "install Debian's 'chromium' package to run the browser tests." >&2
    exit 0
fi
echo "ensure_chromium: installing Debian's chromium (about a minute) ..." >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh private log (mktemp: a new name, mode 0600, O_EXCL), never a fixed path in /tmp
# that another user could have made a symlink to a file root would then overwrite.
log="$(mktemp "${TMPDIR:-/tmp}/ensure_chromium.XXXXXXXX.log")" || {
    echo "ensure_chromium: cannot create a log file; the browser tests will skip." >&2
    exit 0
}
# fonts-wqy-zenhei, fonts-noto-color-emoji: the course prints Chinese terms and check marks;
# without these fonts the screenshots the tests save for a human show empty boxes.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei fonts-noto-color-emoji; } >"$log" 2>&1; then
    echo "ensure_chromium: apt-get failed, see $log; the browser tests will skip." >&2
    exit 0
fi
rm -f "$log"
if [ -x "$CHROMIUM" ]; then
    echo "ensure_chromium: $("$CHROMIUM" --version 2>/dev/null)" >&2
fi
exit 0
