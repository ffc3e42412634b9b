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

wrapper=$(mktemp)
trap 'rm -f "$wrapper"' EXIT
cat >"$wrapper" <<WRAP
#!/bin/sh
exec ${vg[*]} "$build/arbord" "\$@"
WRAP
chmod +x "$wrapper"
for t in tests/integration/test-runtime tests/integration/test-pid1; do
        echo "valgrind: arbord under $t"
        ARBOR_TEST_ARBORD=$wrapper ARBOR_TEST_TIMEOUT_SCALE=10 "$t" --jobs 2
done
