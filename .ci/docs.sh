#!/usr/bin/env bash
# make docs: build the site into docs/_build/html, setting up what it needs.
#
#   1. Graphviz (dot) through .ci/apt.sh: installed when root, else one line
#      saying what to install.
#   2. .venv-docs: the newest Python >= 3.11, with the project and its `docs`
#      extra (Sphinx 9); rebuilt when setup.cfg changes.
#   3. The recorded inputs, under every interpreter present (pyenv's or
#      PATH's own, with one copy of six.py for all of them; no environment
#      to create):
#      traces of every scenario (python -m analysis versions), the
#      compatibility probes (docs/_tools/probes.py) and the worked examples'
#      outputs (docs/_tools/outputs.py), in parallel, with progress.
#      Skipped when a stamp says their inputs (analysis/, compatserver/, the
#      probes, the examples, the interpreter list) have not changed.
#   4. sphinx-build -W -n (warnings are errors, nitpicky), incremental.
#
# Usage: .ci/docs.sh [--generate-only] [--force]
#   --generate-only  steps 3 only (the docs check of the test matrix)
#   --force          record again even when the stamp matches
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root"
# tox 3 hands its commands neither HOME nor PYENV_ROOT, and pyenv and its
# shims need one of them to find the interpreters: run from `make test`'s docs
# check, this script saw 2 interpreters of 9, recorded those only and wrote
# a stamp that the next `make docs` did not match, so it recorded all nine
# again.  Find them the same way wherever this runs.
if [ -z "${HOME:-}" ]; then
    HOME=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6)
    export HOME
fi
if [ -z "${PYENV_ROOT:-}" ] && command -v pyenv >/dev/null 2>&1; then
    pyenv_root=$(dirname "$(dirname "$(readlink -f "$(command -v pyenv)")")")
    if [ -d "$pyenv_root/versions" ]; then
        export PYENV_ROOT="$pyenv_root"
    fi
fi
# The interpreters, found without pyenv's shims: a shim costs most of a
# second per call (it runs pyenv's bash), and the twenty calls a no-change
# `make docs` made took ten seconds.  pyenv's own versions first (those
# PYENV_VERSION selects, else every one installed), then PATH, shims left out.
# The same ones `make test` runs (.ci/interpreters.sh).
find_python() {
    local v=$1 d p
    if [ -n "${PYENV_ROOT:-}" ] && [ -d "$PYENV_ROOT/versions" ]; then
        for d in $(echo "${PYENV_VERSION:-}" | tr ':' ' ') $(ls "$PYENV_ROOT/versions" 2>/dev/null | sort -V); do
            case $d in
                "$v".[0-9]*) if [ -x "$PYENV_ROOT/versions/$d/bin/python$v" ]; then
                                 echo "$PYENV_ROOT/versions/$d/bin/python$v $d"; return 0
                             fi;;
            esac
        done
    fi
    p=$(command -v "python$v" 2>/dev/null) || return 1
    case $p in */shims/*) return 1;; esac
    "$p" -c 'import platform, sys; print(sys.executable + " " + platform.python_version())' 2>/dev/null
}

generate_only=0; force=0
for arg in "$@"; do
    case $arg in
        --generate-only) generate_only=1;;
        --force) force=1;;
        *) echo "usage: .ci/docs.sh [--generate-only] [--force]" >&2; exit 2;;
    esac
done
gen="$root/docs/_generated"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
t_start=$(date +%s)
log() { echo "docs: $*" >&2; }

# -- 1. Graphviz ----------------------------------------------------------
if [ $generate_only = 0 ]; then
    bash "$here/apt.sh" dot:graphviz || exit 1
fi

# -- 2. the Sphinx environment --------------------------------------------
venv="$root/.venv-docs"
if [ $generate_only = 0 ]; then
    host=""
    for v in 3.13 3.12 3.11; do
        found=$(find_python "$v") || continue
        if "${found% *}" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            host=${found% *}; break
        fi
    done
    if [ -z "$host" ]; then
        echo "make docs: Sphinx 9 needs Python 3.11 or newer; none found (pyenv install 3.13)" >&2
        exit 1
    fi
    stamp="$venv/.setup-cfg"
    if ! [ -x "$venv/bin/sphinx-build" ] || ! cmp -s setup.cfg "$stamp" \
        || [ "$(readlink -f "$venv/bin/python")" != "$(readlink -f "$host")" ]; then
        log "creating .venv-docs with $host (Sphinx from setup.cfg's docs extra) ..."
        rm -rf "$venv"
        "$host" -m venv "$venv" >&2 || exit 1
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[docs]" \
                >"$venv/pip.log" 2>&1; then
            tail -n 30 "$venv/pip.log" >&2
            echo "make docs: could not install the docs extra into .venv-docs (log: .venv-docs/pip.log)" >&2
            exit 1
        fi
        cp setup.cfg "$stamp"
    fi
fi

# -- 3. traces and probes ---------------------------------------------------
# The interpreters themselves, not tox environments: creating nine of them
# took six of the thirteen minutes of a first `make docs`, and whether `make
# test` had made them changed the interpreter list, so the stamp below.  What
# the recordings need besides the checkout is six, a single file that runs on
# 2.7 and 3.x: one copy of it goes last on every interpreter's PYTHONPATH.
pythons=""
interpreters=""  # "path version" lines, for the stamp
for v in 2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13; do
    info=$(find_python "$v") || continue
    pythons="$pythons ${info% *}"
    interpreters="$interpreters$info"$'\n'
done
if [ -z "$pythons" ]; then
    echo "make docs: no Python interpreter found (looked for python2.7 and python3.6 to python3.13)" >&2
    exit 1
fi
newest=${pythons##* }
sixdir="$gen/.six"
if ! [ -f "$sixdir/six.py" ]; then
    mkdir -p "$sixdir"
    six=""
    for p in "$venv/bin/python" python3 $pythons; do
        six=$("$p" -c 'import six, os; print(os.path.splitext(six.__file__)[0] + ".py")' 2>/dev/null) \
            && [ -f "$six" ] && break
        six=""
    done
    if [ -n "$six" ]; then
        cp "$six" "$sixdir/six.py"
    elif ! "$newest" -m pip install --quiet --disable-pip-version-check --target "$sixdir" \
            "six>=1.16" >"$gen/.six.log" 2>&1; then
        cat "$gen/.six.log" >&2
        echo "make docs: no six to lend the interpreters (pip install --target $sixdir six failed)" >&2
        exit 1
    fi
fi
export PYTHONPATH="$root:$sixdir"

# The stamp: a digest of each file the recordings depend on, and the
# interpreters they ran under.  Kept as a listing, so a re-recording can say why.
# Not the modules that only read recordings (the renderers, the page generator,
# the Sphinx extension): the recording side never imports them
# (tests/test_architecture_py3.py), so editing a page's wording rebuilds the
# site without recording again.
inputs_listing() {
    find analysis compatserver -name '*.py' -type f ! -path 'analysis/render_*.py' \
        ! -path analysis/sphinxext.py ! -path analysis/pages.py | LC_ALL=C sort | xargs sha256sum
    sha256sum docs/_tools/probes.py docs/_tools/outputs.py .ci/docs.sh
    find docs/walkthrough/examples -name '*.py' -type f | LC_ALL=C sort | xargs sha256sum
    printf '%s' "$interpreters"
}
listing=$(inputs_listing)
stampfile="$gen/.inputs"
if [ $force = 0 ] && [ -f "$stampfile" ] && [ "$(cat "$stampfile")" = "$listing" ] \
    && [ -n "$(ls "$gen/probes" 2>/dev/null)" ] && [ -n "$(ls "$gen/outputs" 2>/dev/null)" ]; then
    log "traces and probes are up to date (inputs unchanged)"
else
    if [ $force = 1 ]; then
        log "recording again (--force)"
    elif [ -f "$stampfile" ]; then
        changed=$(diff <(cat "$stampfile") <(echo "$listing") | grep '^>' | awk '{print $3}' | paste -sd' ' -)
        log "recording again: changed since the last recording: ${changed:-interpreters}"
    fi
    rm -f "$stampfile"
    # Fresh folders: a scenario or an interpreter that went away leaves no
    # stale recording behind.
    rm -rf "$gen/traces" "$gen/probes" "$gen/outputs" "$gen/logs"
    mkdir -p "$gen/traces" "$gen/probes" "$gen/outputs" "$gen/logs"
    scenarios=""
    if [ -f analysis/__main__.py ]; then
        scenarios=$("$newest" -m analysis scenarios) || {
            echo "make docs: python -m analysis scenarios failed" >&2; exit 1; }
    else
        log "analysis/__main__.py is not there yet: no traces recorded"
    fi
    n_traces=$(echo $scenarios | wc -w); n_pythons=$(echo $pythons | wc -w)
    log "recording $n_traces scenarios under $n_pythons interpreters and running the probes" \
        "under each (logs in docs/_generated/logs) ..."
    run_task() {
        local kind=$1 arg=$2 t0 rc name out
        t0=$(date +%s)
        case $kind in
            trace)
                name="trace $arg"
                timeout "$TASK_TIMEOUT" "$NEWEST" -m analysis versions "$arg" --pythons $PYTHONS --out "$GEN/traces" \
                    >"$GEN/logs/trace-$arg.log" 2>&1 </dev/null
                rc=$?; out="$GEN/logs/trace-$arg.log";;
            probes|timing)
                local ver
                ver=$("$arg" -c 'import platform; print(platform.python_version())')
                name="$kind $ver"; out="$GEN/logs/$kind-$ver.log"
                if [ "$kind" = probes ]; then
                    # Then what each worked example prints (the walkthrough shows it).
                    timeout "$TASK_TIMEOUT" "$arg" "$ROOT/docs/_tools/probes.py" --kind fast --jobs 3 \
                        --out "$GEN/probes/$ver.json" >"$out" 2>&1 </dev/null \
                    && timeout "$TASK_TIMEOUT" "$arg" "$ROOT/docs/_tools/outputs.py" \
                        --out "$GEN/outputs/$ver.json" >>"$out" 2>&1 </dev/null
                else
                    timeout "$TASK_TIMEOUT" "$arg" "$ROOT/docs/_tools/probes.py" --kind timing --jobs 1 \
                        --out "$GEN/probes/$ver-timing.json" >"$out" 2>&1 </dev/null
                fi
                rc=$?;;
        esac
        local verdict=ok
        [ $rc = 0 ] || verdict=FAILED
        [ $rc = 124 ] && verdict="KILLED (over TASK_TIMEOUT=${TASK_TIMEOUT}s)"
        printf '  %-30s %s in %ss\n' "$name" "$verdict" "$(( $(date +%s) - t0 ))" >&2
        [ $rc = 0 ] || { tail -n 20 "$out" >&2; }
        return $rc
    }
    export -f run_task
    # No task may hang the build: each is killed after TASK_TIMEOUT seconds.
    export TASK_TIMEOUT=${TASK_TIMEOUT:-600}
    export ROOT="$root" GEN="$gen" PYTHONS="$(echo $pythons)" NEWEST="$newest" PYENV_VERSION="${PYENV_VERSION:-}"
    # Two pools at once: the traces are CPU-bound (each `versions` run
    # already starts every interpreter in parallel), the probes mostly sleep
    # (they wait for timeouts and polls), so they all run together.  Then
    # the latency probes, one at a time per interpreter, on a quieter
    # machine: their figures are what the matrix reports.
    failed=0
    for s in $scenarios; do echo "trace $s"; done | xargs -P "$jobs" -L 1 bash -c 'run_task "$0" "$1"' &
    traces_pid=$!
    for p in $pythons; do echo "probes $p"; done | xargs -P "${PROBE_JOBS:-9}" -L 1 bash -c 'run_task "$0" "$1"' || failed=1
    wait "$traces_pid" || failed=1
    if [ $failed = 0 ]; then
        for p in $pythons; do echo "timing $p"; done | xargs -P "${PROBE_JOBS:-9}" -L 1 bash -c 'run_task "$0" "$1"' || failed=1
    fi
    if [ $failed = 1 ]; then
        echo "make docs: recording failed (see above and docs/_generated/logs)" >&2
        exit 1
    fi
    echo "$listing" >"$stampfile"
fi
[ $generate_only = 1 ] && exit 0

# -- 4. the site ----------------------------------------------------------
log "building HTML (sphinx-build -W -n) ..."
if ! "$venv/bin/sphinx-build" -W -n --keep-going -q -j auto -b html docs docs/_build/html; then
    echo "make docs: the build has warnings or errors (above)" >&2
    exit 1
fi
log "done in $(( $(date +%s) - t_start ))s"
echo "$root/docs/_build/html/index.html"
