#!/usr/bin/env bash
# Fails when a build log shows a compiler warning in Alza's own code (dependencies are not ours to fix).
set -euo pipefail
log="$1"
if grep -E "^/.*/(Sources|Tests|Bench)/.*: warning:" "$log" | grep -v "/.build/" | sort -u | grep .; then
    echo "error: the build has warnings in Alza's code (listed above); the project builds with zero warnings." >&2
    exit 1
fi
