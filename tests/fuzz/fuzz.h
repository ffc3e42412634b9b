/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The libFuzzer entry points every target in tests/fuzz/ defines. Built two ways:
 * with clang -fsanitize=fuzzer by smoke.sh (libFuzzer's main), and by `make check`
 * with the normal compiler and fuzz-main.c, which replays the seed corpus
 * tests/fuzz/corpus/<target>/ so that the targets cannot rot.
 *
 * A target aborts (FUZZ_CHECK) when an oracle fails, so that both drivers report
 * a wrong answer as loudly as a crash.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: run once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                  \
        do {                                                                              \
                if (!(cond)) {                                                            \
                        fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                          \
                }                                                                         \
        } while (0)
