#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: a seconds-long run of the benchmark harness (arbor and the bare
# loop, tiny sizes) so that it cannot rot. Peers are not needed. See bench/README.md.
command -v python3 >/dev/null 2>&1 || { echo "bench smoke: python3 not found (apt-get install python3)"; exit 1; }
exec python3 "${srcdir:-.}/bench/run" --smoke --build-dir "${ARBOR_BUILD_DIR:-.}"
