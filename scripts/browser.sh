#!/usr/bin/env bash
# Installs what the browser tests (examples/web/browser.rs) drive, Debian's Chromium and its WebDriver,
# when they are missing: the browser tests fail, never skip, without them. The first part of the
# README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "==> installing chromium and chromium-driver (Debian) for the browser tests"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || {
            echo "the browser tests need Debian's chromium and chromium-driver: install them as root, or set" >&2
            echo "CHROME and CHROMEDRIVER to a Chromium and its matching chromedriver" >&2
            exit 1
        }
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: fetch them when the first try cannot find the packages.
    $sudo apt-get install -y -q chromium chromium-driver ||
        { $sudo apt-get update -q && $sudo apt-get install -y -q chromium chromium-driver; }
fi
chromium --version
chromedriver --version
