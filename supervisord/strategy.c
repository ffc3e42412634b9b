/* SPDX-License-Identifier: MIT */
#include "strategy.h"

void plan_restart(Strategy s, size_t n, size_t failed, bool *stop, bool *start) {
        for (size_t i = 0; i < n; i++) {
                bool touched = false;

                switch (s) {
                case STRATEGY_ONE_FOR_ONE:
                        touched = i == failed;
                        break;
                case STRATEGY_ONE_FOR_ALL:
                        touched = true;
                        break;
                case STRATEGY_REST_FOR_ONE:
                        touched = i >= failed;
                        break;
                case _STRATEGY_MAX:
                case _STRATEGY_INVALID:
                        break; /* unreachable: the config only holds valid strategies */
                }
                start[i] = touched;
                /* the dead child needs no stopping */
                stop[i] = touched && i != failed;
        }
}
