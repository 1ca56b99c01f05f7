#!/usr/bin/env bash
# A long soak of every fuzz target (docs/fuzzing.md): the fuzz tier's run,
# for an hour per target by default, the targets side by side on every
# core.  What each finds stays in build/fuzz/corpus (the next runs start
# from it) and a failure's input in build/fuzz/artifacts.
#   scripts/fuzz-soak.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)} exec scripts/fuzz.sh "${1:-3600}"
