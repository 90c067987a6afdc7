#!/usr/bin/env bash
# Installs the Debian packages wsharness needs beyond Go: Chromium for the
# report's browser test, php-cli for the pure-PHP reference server.
# Idempotent; run as root (CI) or with sudo.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v php >/dev/null 2>&1 || need+=(php-cli)
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
