#!/usr/bin/env bash
# The whole test matrix: one tox environment per interpreter present, two at
# a time (the machine has two cores), each one's output printed in full and
# in order, then a summary.  Exits non-zero if any environment failed, if an
# interpreter pyenv knows about could not be run, or if no test ran at all.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root"
. "$here/interpreters.sh"
bin=$("$here/tools.sh") || exit 1

envs=${TOXENVS:-$(compat_envs | paste -sd' ' -)}
if [ -z "$envs" ]; then
    echo "make test: no Python interpreter found (looked for python2.7 and python3.6 to python3.13)" >&2
    exit 1
fi
# Every interpreter pyenv has must be in the matrix: a skipped one is a failure.
missing=""
if [ -z "${TOXENVS:-}" ] && command -v pyenv >/dev/null 2>&1; then
    for full in $(pyenv versions --bare | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$'); do
        short=${full%.*}; e="py${short/./}"
        case " $envs " in *" $e "*) ;; *) missing="$missing $e($full)";; esac
    done
fi
if [ -n "$missing" ]; then
    echo "make test: installed interpreters that cannot be run:$missing" >&2
    exit 1
fi

# Debian programs the tests drive: wrk and curl (real HTTP clients against our
# servers), Graphviz and Chromium (the docs check).  Installed when missing and
# we are root.  Without them the wrk/curl tests skip with the reason, and the
# docs environment fails (its own apt.sh step says what to install).
"$here/apt.sh" wrk:wrk curl:curl dot:graphviz chromium:chromium || true

# The docs check runs with the newest interpreter that Sphinx 9 supports
# (3.11+; tox.ini reads COMPATDOCS_PYTHON).  It records its traces with the
# interpreters themselves (.ci/docs.sh --generate-only), not with the other
# environments, so it shares the pool with them; it goes first, being the
# longest.  NO_DOCS=1 leaves it out.
docs_env=""
if [ -z "${TOXENVS:-}" ] && [ -z "${NO_DOCS:-}" ]; then
    for v in 3.13 3.12 3.11; do
        if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import sys' >/dev/null 2>&1; then
            export COMPATDOCS_PYTHON="python$v"; docs_env=docs; break
        fi
    done
    if [ -z "$docs_env" ]; then
        echo "make test: no Python 3.11+ for the docs check (Sphinx 9 needs it)" >&2
        exit 1
    fi
fi

logs="$root/.tox/logs"; mkdir -p "$logs"
jobs=${JOBS:-2}
# The docs environment first: the longest job, started first, ends no later
# than the rest.
queue="$docs_env $envs"
echo "matrix: $queue (up to $jobs at a time; logs in .tox/logs)"
start=$(date +%s)
# Build the sdist once; the environments install that same file in parallel.
rm -rf "$root/.tox/dist"
if ! "$bin/tox" --sdistonly >"$logs/sdist.log" 2>&1 </dev/null; then
    cat "$logs/sdist.log"; echo "make test: could not build the sdist" >&2; exit 1
fi
sdist=$(ls "$root"/.tox/dist/*.zip "$root"/.tox/dist/*.tar.gz 2>/dev/null | head -n1)
export sdist
run_one() {
    local e=$1 t0 rc
    t0=$(date +%s)
    "$bin/tox" -e "$e" --installpkg "$sdist" -- $PYTEST_ARGS >"$logs/$e.log" 2>&1 </dev/null
    rc=$?
    echo "$rc" >"$logs/$e.rc"
    printf '  %-6s %s in %ss\n' "$e" "$([ $rc = 0 ] && echo ok || echo FAILED)" "$(( $(date +%s) - t0 ))"
}
export -f run_one; export bin logs PYENV_VERSION
export PYTEST_ARGS=${PYTEST_ARGS:-}
# The environments run in their own process group, so that Ctrl-C or a
# TERM sent to this script stops every tox and pytest under it, not only xargs.
# Job control (set -m) makes that group; it also keeps SIGINT's default
# disposition for the job, which bash otherwise sets to "ignore" for a
# background job, and a Python started with SIGINT ignored never raises
# KeyboardInterrupt (the tests send Ctrl-C to the demos).
set -m
bash -c 'printf "%s\n" $0 | xargs -P "$1" -I{} bash -c "run_one {}"' "$queue" "$jobs" &
group=$!
set +m
trap 'kill -TERM -- "-$group" 2>/dev/null; echo "make test: interrupted" >&2; exit 130' INT TERM
wait "$group"
trap - INT TERM
envs="$envs $docs_env"

failed=""; passed_total=0; failed_total=0; skipped_total=0
for e in $envs; do
    echo; echo "==================== $e ===================="
    cat "$logs/$e.log"
    rc=$(cat "$logs/$e.rc" 2>/dev/null || echo 99)
    [ "$rc" = 0 ] || failed="$failed $e"
    line=$(grep -E '^=+ .*(passed|failed|error|no tests ran).* =+$' "$logs/$e.log" | tail -n1)
    for kind in passed failed skipped; do
        n=$(echo "$line" | grep -oE "[0-9]+ $kind" | grep -oE '^[0-9]+' || true)
        case $kind in passed) passed_total=$((passed_total + ${n:-0}));;
                      failed) failed_total=$((failed_total + ${n:-0}));;
                      skipped) skipped_total=$((skipped_total + ${n:-0}));; esac
    done
    [ -n "$line" ] || failed="$failed $e(no-pytest-summary)"
done
echo
echo "matrix finished in $(( $(date +%s) - start ))s"
for e in $envs; do
    printf '  %-6s %s\n' "$e" "$(grep -E '^=+ .*(passed|failed|error|no tests ran).* =+$' "$logs/$e.log" | tail -n1 | tr -d '=' | sed 's/^ *//')"
done
if [ "$passed_total" = 0 ]; then
    failed="$failed (no-test-ran)"
fi
echo "matrix: $passed_total passed, $failed_total failed, $skipped_total skipped"
if [ -n "$failed" ]; then
    echo "make test: FAILED:$failed" >&2
    exit 1
fi
