#!/usr/bin/env bash
# Create .venv (Python 3.11) and install Tenken with the extras given as arguments (e.g. "train,server,dev").
# Re-running is cheap: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
# torch and torchvision are pinned together in the train extra, so pip cannot swap torch for another build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" 2>&1 | grep -v "is ignored: it is neither" || true
.venv/bin/python -c "import tenken" # fail here, not later, if the install did not work
