#!/usr/bin/env bash
# What the benchmark needs beside the project: wrk and GNU time (Debian) and tipg, the
# reference server, in a virtual environment of its own (.venv-tipg) so its pins do not
# touch ours.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null || [ ! -x /usr/bin/time ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk time
fi
if [ ! -x .venv-tipg/bin/python ]; then
    python3 -m venv .venv-tipg
fi
.venv-tipg/bin/python -m pip install -q "tipg>=1.0" "uvicorn[standard]"
