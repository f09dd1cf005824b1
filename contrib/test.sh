#!/usr/bin/env bash
# Builds and runs every test: Swift unit and integration tests (real containers, as root), then the real
# docker CLI smoke checks against a berthd on a temporary root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "tests run real containers: run as root" >&2; exit 1; }
swift format lint --strict -r Sources Tests Package.swift
swift build --build-tests
swift test --skip-build
contrib/smoke.sh
