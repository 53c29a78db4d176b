#!/usr/bin/env bash
# Create (once) the virtual environment that holds the matrix tooling and
# print its bin directory.  Rebuilt when .ci/requirements-tox.txt changes.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
# shellcheck source=interpreters.sh
. "$here/interpreters.sh"
venv="$root/.venv-tools"
req="$here/requirements-tox.txt"
stamp="$venv/.requirements"
if [ -x "$venv/bin/tox" ] && cmp -s "$req" "$stamp"; then
    echo "$venv/bin"; exit 0
fi
host=""
for v in 3.13 3.12 3.11 3.10 3.9 3.8 3.7; do
    if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        host="python$v"; break
    fi
done
if [ -z "$host" ]; then
    echo "make: no Python 3.7+ with venv found to run tox; install one (pyenv install 3.11)" >&2
    exit 1
fi
echo "bootstrapping tox in .venv-tools with $host ..." >&2
rm -rf "$venv"
"$host" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
cp "$req" "$stamp"
echo "$venv/bin"
