# shellcheck shell=bash
# Sourced by scripts/python-tests and scripts/python-kernel-tests: the Python package's venv
# (.venv-python at the repository root, python-can, pytest, udsoncan and maturin from PyPI) and the
# package built into it. Sets PYTHON_VENV and VPY (its python).

ensure_python_venv() {
    local root python
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    python="${PYTHON:-python3}"
    PYTHON_VENV="$root/.venv-python"
    VPY="$PYTHON_VENV/bin/python"
    if [ ! -x "$VPY" ]; then
        echo "python venv: creating $PYTHON_VENV with $("$python" --version 2>&1)"
        "$python" -m venv "$PYTHON_VENV" || {
            echo "python venv: '$python -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
            return 1
        }
    fi
    "$VPY" -m pip install --quiet --disable-pip-version-check "maturin>=1.5,<2" "python-can>=4,<5" pytest "udsoncan==1.26"
}

# pip install ./python into the venv (a release build; cargo reuses python/target between runs)
install_python_package() {
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    "$VPY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$root/python"
}
