#!/usr/bin/env bash
# Install promtool (from Debian's `prometheus` package) if it is not on PATH.
# Idempotent and quiet; exits 0 with a message when apt-get is unavailable,
# so callers can fall back to skipping the promtool checks.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
    echo "promtool already installed: $(promtool --version 2>&1 | head -n 1)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-promtool: apt-get not available; install promtool (Prometheus) manually" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "install-promtool: not root and no sudo; install promtool manually" >&2
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends prometheus; } >"$log" 2>&1; then
    echo "install-promtool: apt-get failed:" >&2
    tail -n 20 "$log" >&2
    exit 1
fi

if ! command -v promtool >/dev/null 2>&1; then
    echo "install-promtool: prometheus package installed but promtool not on PATH" >&2
    exit 1
fi
echo "installed promtool: $(promtool --version 2>&1 | head -n 1)"
