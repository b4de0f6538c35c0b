# shellcheck shell=bash
# Sourced by scripts/interop-tests and scripts/compare-bench: makes sure .venv at the repository root
# holds the python packages the interop suite and the comparative benchmark run against, installed
# from PyPI. Sets VENV_PYTHON.

# What the venv must hold (pip requirement specifiers).
# asammdf: python-can's MF4Reader and MF4Writer (scripts/capture-tests).
INTEROP_REQUIREMENTS=("can-isotp==2.0.7" "python-can>=4,<5" "udsoncan==1.26" "asammdf>=8,<9")

ensure_interop_venv() {
    local root venv python
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    venv="$root/.venv"
    python="${PYTHON:-python3}"
    VENV_PYTHON="$venv/bin/python"

    if [ -x "$VENV_PYTHON" ] && "$VENV_PYTHON" - <<'EOF' 2>/dev/null; then
import importlib.metadata as m, sys
isotp = m.version("can-isotp")
can = m.version("python-can")
uds = m.version("udsoncan")
mdf = m.version("asammdf")
sys.exit(0 if isotp == "2.0.7" and can.split(".")[0] == "4" and uds in ("1.26", "1.26.0") and mdf.split(".")[0] == "8" else 1)
EOF
        echo "interop: reusing $venv"
        return 0
    fi

    if ! command -v "$python" >/dev/null 2>&1; then
        echo "interop: $python not found; install python3 (with the venv module) or set PYTHON" >&2
        return 1
    fi
    if [ ! -x "$VENV_PYTHON" ]; then
        echo "interop: creating $venv with $("$python" --version 2>&1)"
        if ! "$python" -m venv "$venv"; then
            echo "interop: '$python -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
            return 1
        fi
    fi
    echo "interop: installing ${INTEROP_REQUIREMENTS[*]} from PyPI into $venv"
    "$VENV_PYTHON" -m pip install --quiet --disable-pip-version-check "${INTEROP_REQUIREMENTS[@]}"
}
