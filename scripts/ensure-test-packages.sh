#!/usr/bin/env bash
# Installs the real servers the tests drive, from Debian: chromium (and CJK fonts, so screenshots show
# Chinese) for the browser tests, dovecot for the IMAP poller's tests, redis-server for the shared rate limits'
# tests. Playwright never downloads a browser here: the tests launch /usr/bin/chromium. Dovecot's and Redis'
# system services are not started: the tests run their own dovecot, .ci/run starts redis-server.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]} from Debian…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
fi
if [ "${CI:-}" = "true" ]; then
  echo "error: cannot install ${need[*]}; the browser, IMAP and Redis tests must run in CI" >&2
  exit 1
fi
echo "note: ${need[*]} not installed (needs root/apt); the tests that need them will be skipped." >&2
exit 0
