/* SPDX-License-Identifier: MIT */
#pragma once

/* Writing JSON, just enough for events and arborctl --json. */

#include <stdio.h>

/* Writes s as a JSON string literal, quotes included; NULL becomes null. */
void json_write_string(FILE *f, const char *s);
