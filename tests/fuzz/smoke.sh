#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A libFuzzer smoke run of every fuzz target in tests/fuzz/ (STYLE.md G15 tier 4):
# builds each with clang -fsanitize=fuzzer,address,undefined straight from the
# sources (no configure needed), then fuzzes each for SECONDS (default 20),
# starting from its seed corpus tests/fuzz/corpus/<target>/. Fails when a target
# crashes, trips a sanitizer or an oracle, leaks, or takes too long on one input;
# the input that did it is printed (base64) and kept in the work directory.
#
# usage: tests/fuzz/smoke.sh [SECONDS]
# env:   CC (default clang), FUZZ_TARGETS (default: all), FUZZ_KEEP=1 keeps the work dir
# needs: clang, libclang-rt-14-dev (libFuzzer), libsystemd-dev, libinih-dev, libcap-dev, pkg-config
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-20}
cc=${CC:-clang}
targets=${FUZZ_TARGETS:-config parsers notify control}

command -v "$cc" >/dev/null || { echo "smoke.sh: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/arbor-fuzz.XXXXXX")
cleanup() { if [ "${FUZZ_KEEP:-0}" = 1 ] || [ -n "${failed:-}" ]; then echo "smoke.sh: work directory kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

# What configure would put in build-config.h, as far as the sources use it.
cat >"$work/build-config.h" <<'EOH'
#define _GNU_SOURCE 1
#define PACKAGE "arbor"
#define PACKAGE_VERSION "fuzz"
EOH

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-std=gnu11 -g -O1 -include $work/build-config.h -I$srcdir/lib -I$srcdir/supervisord $san"
deps_cflags=$(pkg-config --cflags libsystemd inih libcap)
deps_libs=$(pkg-config --libs libsystemd inih libcap)

# Everything but main(), as in libarbor.a: instrumented for coverage, in an archive
# so that a target links only what it uses (fuzz-control brings its own control.c).
echo "smoke.sh: building with $($cc --version | head -1)"
mkdir -p "$work/obj"
objs=()
for src in "$srcdir"/lib/*.c "$srcdir"/supervisord/*.c; do
        case $(basename "$src") in main.c | control.c) continue ;; esac
        obj=$work/obj/$(basename "$src" .c).o
        # shellcheck disable=SC2086
        "$cc" $cflags $deps_cflags -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
        objs+=("$obj")
done
ar rcs "$work/libarbor-fuzz.a" "${objs[@]}"

for t in $targets; do
        # shellcheck disable=SC2086
        "$cc" $cflags $deps_cflags -fsanitize=fuzzer -I"$srcdir/tests/fuzz" \
                "$srcdir/tests/fuzz/fuzz-$t.c" "$work/libarbor-fuzz.a" $deps_libs -o "$work/fuzz-$t"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TMPDIR=$work # fuzz-config's include sandbox goes there too

failed=
for t in $targets; do
        mkdir -p "$work/corpus-$t" "$work/artifacts-$t"
        dict=()
        [ "$t" = config ] && dict=(-dict="$srcdir/tests/fuzz/arbor.dict")
        echo "smoke.sh: fuzz-$t for ${seconds}s"
        start=$(date +%s)
        # new inputs go to the first directory: the seed corpus in the source tree stays as it is
        if "$work/fuzz-$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                "${dict[@]}" -artifact_prefix="$work/artifacts-$t/" \
                "$work/corpus-$t" "$srcdir/tests/fuzz/corpus/$t" >"$work/fuzz-$t.log" 2>&1; then
                echo "smoke.sh: fuzz-$t: ok in $(($(date +%s) - start))s," \
                        "$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/fuzz-$t.log" | grep -o '[0-9]*$') runs," \
                        "$(find "$work/corpus-$t" -type f | wc -l) new inputs"
        else
                echo "smoke.sh: fuzz-$t FAILED; its log:" >&2
                tail -80 "$work/fuzz-$t.log" >&2
                for a in "$work/artifacts-$t"/*; do
                        [ -f "$a" ] || continue
                        echo "smoke.sh: $(basename "$a") (base64; replay: fuzz-$t FILE):" >&2
                        base64 "$a" >&2
                done
                failed="$failed fuzz-$t"
        fi
done

if [ -n "$failed" ]; then
        echo "smoke.sh: FAILED:$failed" >&2
        exit 1
fi
echo "smoke.sh: all fuzz targets ran ${seconds}s each without a failure"
