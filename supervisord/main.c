/* SPDX-License-Identifier: MIT */
/*
 * arbord: argv, the configuration, then the manager's loop. The only file
 * that decides arbord's exit status.
 */

#include <getopt.h>
#include <malloc.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "engine.h"
#include "log.h"
#include "manager.h"

#ifndef ARBOR_SYSCONFDIR
#define ARBOR_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG ARBOR_SYSCONFDIR "/arbor/arbor.ini"

typedef struct Options {
        const char *config_path;
        bool check;
        LogFormat log_format;
        char **command; /* after "--": the tini drop-in case */
} Options;

static void print_help(FILE *f) {
        fprintf(f,
                "Usage: arbord [-c FILE] [--check] [--log-format text|json]\n"
                "       arbord [--log-format text|json] -- COMMAND [ARG...]\n"
                "\n"
                "Runs a supervision tree of services, with Erlang/OTP's semantics.\n"
                "\n"
                "  -c, --config FILE       the tree to run (default " DEFAULT_CONFIG ")\n"
                "      --check             validate FILE, print the tree, and exit\n"
                "      --log-format FMT    text (default) or json: one JSON object per line\n"
                "  -h, --help              show this help\n"
                "      --version           show the version\n"
                "  -- COMMAND [ARG...]     run COMMAND as the one significant child (like tini)\n"
                "\n"
                "Exit status: 0 after a requested shutdown; the significant child's status\n"
                "(128+N for signal N) when it ended the tree; 1 internal error; 2 invalid\n"
                "configuration or usage; 3 the tree failed to start; 4 the root supervisor\n"
                "gave up. See arbord(8).\n");
}

enum { OPT_CHECK = 0x100, OPT_LOG_FORMAT, OPT_VERSION };

static int parse_argv(int argc, char *argv[], Options *o) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check", no_argument, NULL, OPT_CHECK },
                { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {},
        };
        int c;

        /* "+": stop at the first non-option, so that COMMAND's own options stay its own */
        while ((c = getopt_long(argc, argv, "+c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o->config_path = optarg;
                        break;
                case OPT_CHECK:
                        o->check = true;
                        break;
                case OPT_LOG_FORMAT:
                        o->log_format = log_format_from_string(optarg);
                        if (o->log_format < 0) {
                                fprintf(stderr, "arbord: --log-format: '%s' is not valid; expected text or json\n",
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                case 'h':
                        print_help(stdout);
                        return 0;
                case OPT_VERSION:
                        printf("arbord " PACKAGE_VERSION "\n");
                        return 0;
                default:
                        fprintf(stderr, "Try 'arbord --help'.\n");
                        return -EINVAL;
                }

        if (optind < argc) {
                if (strcmp(argv[optind - 1], "--") != 0) {
                        fprintf(stderr, "arbord: unexpected argument '%s'; to run a command, put it after --\n",
                                argv[optind]);
                        return -EINVAL;
                }
                if (o->config_path || o->check) {
                        fprintf(stderr, "arbord: -- COMMAND cannot be combined with -c or --check\n");
                        return -EINVAL;
                }
                o->command = argv + optind;
        } else if (optind > 0 && strcmp(argv[optind - 1], "--") == 0) {
                fprintf(stderr, "arbord: -- needs a command after it\n");
                return -EINVAL;
        }
        if (!o->config_path)
                o->config_path = DEFAULT_CONFIG;
        return 1;
}

static int load_config(const Options *o, Config **ret) {
        ConfigErrors errors = {};
        int r;

        if (o->command) {
                r = config_new_single_command(o->command, ret);
                if (r < 0)
                        fprintf(stderr, "arbord: %s\n", strerror(-r));
                return r;
        }
        r = config_load(o->config_path, ret, &errors);
        if (r < 0) {
                config_errors_print(&errors, stderr);
                if (errors.n == 0)
                        fprintf(stderr, "arbord: %s: %s\n", o->config_path, strerror(-r));
        }
        config_errors_done(&errors);
        return r;
}

/*
 * control_group = NAME or GID, resolved once here: the control server checks
 * connections against the number and never calls NSS itself.
 */
static int resolve_control_group(const Config *c, ControlOptions *ret) {
        struct group grp, *found = NULL;
        char buf[16384], *end;
        unsigned long n;
        int r;

        if (!c->control_group)
                return 0;
        errno = 0;
        n = strtoul(c->control_group, &end, 10);
        if (c->control_group[0] && *end == 0 && errno == 0 && n < (gid_t) -1) {
                ret->group = (gid_t) n;
        } else {
                r = getgrnam_r(c->control_group, &grp, buf, sizeof(buf), &found);
                if (r != 0) {
                        fprintf(stderr, "arbord: [arbor] control_group: cannot look up '%s': %s\n",
                                c->control_group, strerror(r));
                        return -r;
                }
                if (!found) {
                        fprintf(stderr, "arbord: [arbor] control_group: no group named '%s'\n", c->control_group);
                        return -EINVAL;
                }
                ret->group = grp.gr_gid;
        }
        ret->group_set = true;
        ret->group_name = c->control_group;
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(control_server_freep) ControlServer *control = NULL; /* freed before the manager */
        ControlOptions control_opts = {};
        Options o = {};
        int r, status = EXIT_STATUS_FATAL;

        /* first of all: signals sent from now on must queue for the loop, even to PID 1 */
        r = manager_block_signals();
        if (r < 0) {
                fprintf(stderr, "arbord: cannot set up signal handling: %s\n", strerror(-r));
                return EXIT_STATUS_FATAL;
        }

        /*
         * stderr is unbuffered: a JSON event would leave in a dozen write()s.
         * Line-buffered, each event and message is one write, which also
         * keeps concurrent writers (services share our stderr) from
         * splitting our lines. Every log call ends in a newline or fflush().
         */
        if (setvbuf(stderr, NULL, _IOLBF, 0) != 0)
                fprintf(stderr, "arbord: cannot line-buffer stderr; logging stays unbuffered\n");

        r = parse_argv(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_STATUS_CONFIG : EXIT_STATUS_OK;
        log_set_format(o.log_format);

        r = load_config(&o, &config);
        if (r < 0)
                return EXIT_STATUS_CONFIG;
        if (o.check) {
                config_print_tree(config, stdout);
                return EXIT_STATUS_OK;
        }
        if (resolve_control_group(config, &control_opts) < 0)
                return EXIT_STATUS_CONFIG;

        r = manager_new(config, &m);
        if (r < 0) {
                log_error_errno(r, "cannot set up: %m");
                return EXIT_STATUS_FATAL;
        }
        TAKE_PTR(config); /* the manager owns it now */
        /* parsing freed much more than the tree keeps: give it back before we idle */
        (void) malloc_trim(0);

        control_opts.path = manager_get_config(m)->control;
        r = control_server_new(m, &control_opts, &control);
        if (r < 0) {
                /* logged; a live socket is never stolen */
                if (!o.command)
                        return EXIT_STATUS_FATAL;
                /*
                 * As a tini-style wrapper the command matters more than arborctl:
                 * several `arbord -- CMD` on one host, or a read-only /run,
                 * must still run CMD. ARBOR_SOCKET gives each its own socket.
                 */
                log_warning("running %s without a control socket", o.command[0]);
        }

        r = manager_run(m, &status);
        if (r < 0)
                return EXIT_STATUS_FATAL;
        return status;
}
