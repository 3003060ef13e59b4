#!/usr/bin/env bash
# Installs what is missing on a Debian 12 machine: the Debian packages (as root, or
# through sudo), the project's Python virtual environment in .venv and the map's
# front-end packages in web/node_modules (from npm; the app serves them: no CDN).
# With --browser, only Debian's Chromium, which the browser tests drive (the Makefile runs
# that after the plain setup, so nothing else is done twice).
set -euo pipefail
cd "$(dirname "$0")/.."

# PostGIS; GDAL's command-line tools; Pango and fonts with Vietnamese glyphs for
# WeasyPrint's PDF extracts.
APT_PACKAGES=(postgresql-15 postgresql-15-postgis-3 gdal-bin
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
browser_only=false
if [ "${1:-}" = "--browser" ]; then
    browser_only=true
    # Playwright's driver (Node) needs libatomic1, which a bare Debian 12 lacks.
    APT_PACKAGES=(chromium libatomic1)
fi
missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ! $browser_only; then
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    # Node.js may come from elsewhere (NodeSource) with its own npm: only its absence counts.
    command -v npm >/dev/null || missing+=(nodejs npm)
fi

if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
fi
$browser_only && exit 0

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
    npm ci --prefix web --no-audit --no-fund --loglevel=error
    touch web/node_modules
fi
