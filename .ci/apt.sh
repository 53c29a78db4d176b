#!/usr/bin/env bash
# Usage: .ci/apt.sh COMMAND:PACKAGE ...
# Make sure each COMMAND exists, installing its Debian PACKAGE when it is
# missing and we can (root + apt-get).  Otherwise print one line saying what to
# install and exit 1.  `apt-get update` runs at most once per call.
set -uo pipefail
need=()
for pair in "$@"; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need[*]} ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
        exit 0
    fi
    echo "could not install Debian packages: ${need[*]} (apt-get failed)" >&2
    exit 1
fi
echo "missing programs: please install the Debian packages ${need[*]} (apt-get install ${need[*]})" >&2
exit 1
