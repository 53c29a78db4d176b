#!/usr/bin/env bash
# Install the tracers that benchmarks/bench_trace.py compares with (viztracer,
# hunter) into .venv-analysis/pyXY, one virtual environment per interpreter
# 3.6+ present; redone when benchmarks/requirements-tracers.txt changes.  Best
# effort: an interpreter where they do not install is reported here, and the
# benchmark skips them there with the reason.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
# shellcheck source=interpreters.sh
. "$here/interpreters.sh"
req="$root/benchmarks/requirements-tracers.txt"
status=0
for v in 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13; do
    command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import venv' >/dev/null 2>&1 || continue
    venv="$root/.venv-analysis/py${v/./}"
    if [ -x "$venv/bin/python" ] && cmp -s "$req" "$venv/.requirements"; then
        continue
    fi
    echo "make bench: installing viztracer and hunter for Python $v into .venv-analysis ..." >&2
    rm -rf "$venv"
    # pip 18 (3.6's ensurepip) cannot build hunter's sdist; 21.3 is the last pip for 3.6.
    if "python$v" -m venv "$venv" >/dev/null 2>&1 \
        && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pip>=21.3,<24" >/dev/null 2>&1 \
        && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >/dev/null 2>&1; then
        cp "$req" "$venv/.requirements"
    else
        echo "make bench: viztracer and hunter did not install for Python $v; bench_trace skips them there" >&2
        status=1
    fi
done
exit $status
