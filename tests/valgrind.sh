#!/usr/bin/env bash
# Runs the engine's unit tests and the runtime integration tests under
# valgrind's memcheck: every criterion test process (--trace-children) and
# every arbord the integration tests start (through $ARBOR_TEST_ARBORD). Any
# error or leak fails. Run from the build directory after `make check`.
# (The other unit tests run under ASan/UBSan/LSan in CI; under valgrind they
# would add minutes for no code the sanitizers do not already watch.)
set -euo pipefail
build=$(pwd)
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect)

# criterion's own runner process keeps some allocations alive; its test processes must be clean
echo "valgrind: tests/unit/test-engine"
"${vg[@]}" --trace-children=yes tests/unit/test-engine --jobs 2 >/dev/null

# valgrind's own reports go to files, not to arbord's stderr: the tests read
# that as arbord's log, and one of them stalls it on purpose (valgrind's
# warnings about syscalls it does not know, pidfd_open among them, would then
# block in valgrind itself). An error or a leak still fails the test through
# arbord's exit status; the reports are printed when a suite fails.
wrapper=$(mktemp)
logs=$(mktemp -d)
trap 'rm -rf "$wrapper" "$logs"' EXIT
# (--log-fd on an fd the wrapper opens, not --log-file: with arbord's stdin
# closed on purpose, valgrind would open its log file as fd 0.)
cat >"$wrapper" <<WRAP
#!/bin/sh
exec 9>>"$logs/arbord.\$\$.log"
exec ${vg[*]} --log-fd=9 "$build/arbord" "\$@"
WRAP
chmod +x "$wrapper"
for t in tests/integration/test-runtime tests/integration/test-pid1; do
        echo "valgrind: arbord under $t"
        if ! ARBOR_TEST_ARBORD=$wrapper ARBOR_TEST_TIMEOUT_SCALE=10 "$t" --jobs 2; then
                grep -v -h -e 'unhandled amd64-linux syscall' -e 'write your own handler' \
                        -e 'README_MISSING_SYSCALL_OR_IOCTL' -e 'consider this a bug' -e 'valgrind.org/support' \
                        "$logs"/*.log || true
                exit 1
        fi
done
