#!/usr/bin/env bash
# Print the tox environments of the interpreters present, one per line
# (py27, py36 ... py313), and make every pyenv interpreter callable at once.
# Source it to get PYENV_VERSION exported; run it to just list.
#
# Interpreters come from pyenv when it is there, otherwise from PATH.
if command -v pyenv >/dev/null 2>&1; then
    PYENV_VERSION=$(pyenv versions --bare 2>/dev/null | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | paste -sd: -)
    export PYENV_VERSION
fi
compat_envs() {
    local v
    for v in 2.7 3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13; do
        if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import sys' >/dev/null 2>&1; then
            echo "py${v/./}"
        fi
    done
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    compat_envs
fi
