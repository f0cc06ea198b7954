#!/usr/bin/env bash
# Quick start: install the light runtime (no torch, no services) and analyse the bundled sample drive.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh ""
.venv/bin/tenken analyze samples/drive.mp4 --track samples/drive.gpx --camera motorbike \
  --out sample-report --overwrite "$@"
echo "Open sample-report/index.html in a browser to see the map."
