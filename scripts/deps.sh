#!/usr/bin/env bash
# Installs the Debian packages wsharness needs beyond Go:
#   chromium-headless-shell  the report's browser test and the browser interop family
#   php-cli                  the pure-PHP reference server
#   nodejs node-ws           the Node ws target and client agent
#   python3-websockets       the Python websockets target and client agent
#   python3-autobahn         the Autobahn|Python asyncio target and client agent
#   libwebsockets-dev gcc    the libwebsockets C echo target and client agent (built by make)
#   haproxy                  haproxy-h2: HAProxy terminating WebSockets over HTTP/2 (RFC 8441)
#   apache2-bin              apache-h2: Apache's binary and modules (mod_http2 with H2WebSockets, 2.4.58+;
#                            mod_proxy_http), without the apache2 package's system service
# Idempotent; run as root (CI) or with sudo. A package that is already
# installed is not touched, so a runtime removed on purpose (to see the
# target skipped) stays removed unless deps is run again.
set -euo pipefail
want=(chromium-headless-shell php-cli nodejs node-ws python3-websockets python3-autobahn libwebsockets-dev gcc libc6-dev pkg-config haproxy apache2-bin)
need=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
	echo "deps: nothing to install"
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
echo "deps: installed ${need[*]}"
