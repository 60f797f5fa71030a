#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages when it is
# missing: MSAL Python (an independent OAuth client the simulator must
# satisfy) and a real Alertmanager (the alerts integration test target).
# Without root it only reports what is missing; the affected tests then say
# why they skip (or fail, under CI=true).
set -euo pipefail

need=()
/usr/bin/python3 -c 'import msal' >/dev/null 2>&1 || need+=(python3-msal)
[ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-test-deps: missing ${need[*]}; run as root or install them with apt-get" >&2
	exit 0
fi
echo "install-test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
