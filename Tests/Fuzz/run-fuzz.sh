#!/usr/bin/env bash
# Builds the libFuzzer harnesses (Tests/Fuzz) and runs each target for a set time; `make fuzz` calls this.
# Run from the main package's root. Environment:
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   space-separated targets (default: all)
#   FUZZ_NICE      run the build and the fuzzers under `nice -n $FUZZ_NICE` (default: not niced)
#   FUZZ_JOBS      build jobs (`swift build -j`; default: SwiftPM's)
#   FUZZ_SKIP_BUILD=1  use the existing .build-fuzz/debug/alza-fuzz
# New corpus units go to .build-fuzz/corpus-<target> (the seeds in Tests/Fuzz/corpus/<target> are read, never
# written); crashes to .build-fuzz/crashes/<target>/; libFuzzer's output to .build-fuzz/logs/<target>.log.
# Exits non-zero if any target crashed (or its fuzzer failed to run).
set -uo pipefail

SWIFT=${SWIFT:-swift}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
ALL_TARGETS="frame handshake wire gossip block transaction blocklog journal checkpoint lz4 field"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
SCRATCH=.build-fuzz
BIN=$SCRATCH/debug/alza-fuzz
NICE=()
if [[ -n "${FUZZ_NICE:-}" ]]; then NICE=(nice -n "$FUZZ_NICE"); fi

# Largest input per target: a few frames, blocks or log records; bigger inputs only slow the search.
max_len() {
    case "$1" in
        handshake|wire|field) echo 4096 ;;
        frame|gossip|transaction|lz4) echo 8192 ;;
        *) echo 16384 ;;
    esac
}

if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
    JOBS=()
    if [[ -n "${FUZZ_JOBS:-}" ]]; then JOBS=(-j "$FUZZ_JOBS"); fi
    "${NICE[@]}" "$SWIFT" build --package-path Tests/Fuzz --scratch-path "$SCRATCH" -c debug "${JOBS[@]}" \
        -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol" || exit 1
fi
[[ -x "$BIN" ]] || { echo "fuzz: $BIN was not built" >&2; exit 1; }

mkdir -p "$SCRATCH/logs"
failed=0
summary=()
for target in $TARGETS; do
    corpus=$SCRATCH/corpus-$target
    crashes=$SCRATCH/crashes/$target
    log=$SCRATCH/logs/$target.log
    mkdir -p "$corpus" "$crashes"
    before=$(find "$crashes" -type f | wc -l)
    echo "fuzz: $target for ${SECONDS_PER_TARGET}s (log $log)"
    # A crash stops libFuzzer; the target is restarted for the time left (at most FUZZ_RESTARTS times), so it
    # is fuzzed for its whole time and several distinct crashes can be collected.
    start=$(date +%s)
    runs=0
    attempt=0
    status=0
    : >"$log"
    while :; do
        left=$(( SECONDS_PER_TARGET - ($(date +%s) - start) ))
        (( left >= 1 )) || break
        attempt=$(( attempt + 1 ))
        part=$SCRATCH/logs/$target.$attempt.log
        # SWIFT_BACKTRACE off: a Swift trap goes to libFuzzer's handler, which saves the input and prints the stack.
        ALZA_FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
            "${NICE[@]}" "$BIN" "$corpus" "Tests/Fuzz/corpus/$target" \
            -max_total_time="$left" -rss_limit_mb=2048 -max_len="$(max_len "$target")" -timeout=60 \
            -print_final_stats=1 -artifact_prefix="$crashes/" >"$part" 2>&1
        code=$?
        cat "$part" >>"$log"
        rm -f "$part"
        done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        runs=$(( runs + ${done_runs:-0} ))
        # Rename the counted stats line, so the next attempt reads only its own.
        sed -i 's/^stat::number_of_executed_units:/stat::counted_executed_units:/' "$log"
        if (( code != 0 )); then status=$code; fi
        (( code != 0 )) || break
        (( attempt < ${FUZZ_RESTARTS:-5} )) || break
    done
    took=$(( $(date +%s) - start ))
    new=$(( $(find "$crashes" -type f | wc -l) - before ))
    units=$(find "$corpus" -type f | wc -l)
    rate=$(( took > 0 ? runs / took : runs ))
    line=$(printf "%-12s seconds=%-5s executions=%-10s execs/s=%-7s crashes=%-3s corpus=%s" \
        "$target" "$took" "$runs" "$rate" "$new" "$units")
    if [[ $status -ne 0 || $new -gt 0 ]]; then
        failed=1
        line="$line  FAILED (last exit $status; see $log and $crashes/)"
    fi
    echo "fuzz: $line"
    summary+=("$line")
done

echo "fuzz: summary (${SECONDS_PER_TARGET}s per target)"
for line in "${summary[@]}"; do echo "  $line"; done
exit $failed
