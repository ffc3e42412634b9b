/* SPDX-License-Identifier: MIT */
/*
 * config.c: INI files -> spec tree.
 *
 * Broken files live in tests/data/config/broken/: each NAME.ini has a NAME.expected holding,
 * byte for byte, what config_errors_print() must print for it. Good files live in good/ and the
 * tests below check the tree they give. Files are loaded by a path relative to their directory,
 * so that messages (which name the file as it was given) do not depend on where the tree is.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"

#define CONFIG_DIR TEST_DATA_DIR "/config"
#define BROKEN_DIR CONFIG_DIR "/broken"
#define GOOD_DIR CONFIG_DIR "/good"
#define CONF_D_DIR TEST_DATA_DIR "/../../conf.d"

/* The brief of this suite: at least this many broken files, each with its exact errors. */
#define MIN_BROKEN_FILES 25

static void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

static char *read_whole_file(const char *path) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        char *text = NULL;
        size_t size = 0;
        FILE *out;
        int c;

        cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
        out = open_memstream(&text, &size);
        cr_assert_not_null(out);
        while ((c = getc(f)) != EOF)
                fputc(c, out);
        cr_assert_eq(fclose(out), 0);
        return text;
}

/* What print(object, FILE *) writes, as a malloc'd string. */
#define CAPTURE(print, object)                                  \
        ({                                                      \
                char *_text_ = NULL;                            \
                size_t _size_ = 0;                              \
                FILE *_out_ = open_memstream(&_text_, &_size_); \
                                                                \
                cr_assert_not_null(_out_);                      \
                print((object), _out_);                         \
                cr_assert_eq(fclose(_out_), 0);                 \
                _text_;                                         \
        })

static char *errors_text(const ConfigErrors *e) {
        return CAPTURE(config_errors_print, e);
}

static char *tree_text(const Config *c) {
        return CAPTURE(config_print_tree, c);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);

        return ls >= lx && streq(s + ls - lx, suffix);
}

/* Every structural promise of spec.h, for any tree. */
static void assert_tree_invariants(const Config *c) {
        cr_assert_gt(c->n_nodes, 0);
        cr_assert_str_eq(c->nodes[0]->name, "root");
        cr_assert_str_eq(c->nodes[0]->path, "root");
        cr_assert_null(c->nodes[0]->parent);
        cr_assert_eq(c->nodes[0]->kind, NODE_SUPERVISOR);

        for (size_t i = 0; i < c->n_nodes; i++) {
                const NodeSpec *n = c->nodes[i];

                cr_assert_eq(n->index, i, "%s", n->name);
                if (i > 0) {
                        _cleanup_free_ char *path = NULL;

                        cr_assert_not_null(n->parent, "%s", n->name);
                        /* pre-order: a parent comes before its children */
                        cr_assert_lt(n->parent->index, i, "%s", n->name);
                        cr_assert_lt(n->child_index, n->parent->n_children);
                        cr_assert_eq(n->parent->children[n->child_index], n, "%s", n->name);
                        cr_assert_gt(asprintf(&path, "%s/%s", n->parent->path, n->name), 0);
                        cr_assert_str_eq(n->path, path);
                        cr_assert_eq(n->parent->kind, NODE_SUPERVISOR);
                }
                for (size_t k = 0; k < n->n_children; k++) {
                        cr_assert_eq(n->children[k]->parent, n);
                        cr_assert_eq(n->children[k]->child_index, k);
                        /* siblings in start order are also in pre-order order */
                        if (k > 0)
                                cr_assert_lt(n->children[k - 1]->index, n->children[k]->index);
                }
                if (n->kind == NODE_SERVICE) {
                        cr_assert_not_null(n->argv, "%s", n->name);
                        cr_assert_not_null(n->argv[0], "%s", n->name);
                        cr_assert_not_null(n->environment, "%s", n->name);
                        cr_assert_eq(n->n_children, 0);
                }
                /* where.file points into Config.files */
                if (n->where.file) {
                        bool found = false;

                        for (size_t f = 0; f < c->n_files; f++)
                                found = found || n->where.file == c->files[f];
                        cr_assert(found, "%s: where.file is not one of Config.files", n->name);
                }
        }
}

static void assert_argv(char **argv, const char *const *expected, size_t n) {
        cr_assert_not_null(argv);
        for (size_t i = 0; i < n; i++) {
                cr_assert_not_null(argv[i], "argv[%zu] missing, expected '%s'", i, expected[i]);
                cr_assert_str_eq(argv[i], expected[i], "argv[%zu]", i);
        }
        cr_assert_null(argv[n], "argv has more than %zu words: '%s'", n, argv[n]);
}
#define ASSERT_ARGV(argv, ...)                                                  \
        do {                                                                    \
                static const char *const _x_[] = { __VA_ARGS__ };               \
                assert_argv((argv), _x_, ELEMENTSOF(_x_));                      \
        } while (0)

static const NodeSpec *node(const Config *c, const char *name) {
        const NodeSpec *n = config_find_node(c, name);

        cr_assert_not_null(n, "no node '%s'", name);
        return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Broken files */

static void check_broken(const char *name) {
        _cleanup_free_ char *ini = NULL, *expected_path = NULL, *expected = NULL, *got = NULL;
        _cleanup_(config_errors_done) ConfigErrors e = {};
        Config *c = NULL;
        int r;

        cr_assert_eq(chdir(BROKEN_DIR), 0);
        cr_assert_gt(asprintf(&ini, "%s.ini", name), 0);
        cr_assert_gt(asprintf(&expected_path, "%s.expected", name), 0);
        expected = read_whole_file(expected_path);

        r = config_load(ini, &c, &e);
        got = errors_text(&e);
        cr_assert_eq(r, -EINVAL, "%s: config_load() = %d, errors:\n%s", ini, r, got);
        cr_assert_null(c);
        cr_assert_gt(e.n, 0);
        cr_assert_str_eq(got, expected, "%s\n--- expected:\n%s--- got:\n%s", ini, expected, got);
}

#define BROKEN(test, file)                      \
        Test(config_broken, test) {             \
                check_broken(file);             \
        }

BROKEN(unknown_section_typo, "unknown-section")
BROKEN(unknown_section_supervisord_style, "unknown-section-plain")
BROKEN(unknown_key_typo, "unknown-key")
BROKEN(unknown_key_of_other_kind, "unknown-key-supervisor")
BROKEN(bad_strategy, "bad-strategy")
BROKEN(bad_restart, "bad-restart")
BROKEN(bad_duration, "bad-duration")
BROKEN(bad_period, "bad-period")
BROKEN(bad_intensity, "bad-intensity")
BROKEN(bad_signal, "bad-signal")
BROKEN(bad_bool, "bad-bool")
BROKEN(bad_success_exit_code, "bad-exit-code")
BROKEN(bad_auto_shutdown, "bad-auto-shutdown")
BROKEN(bad_ready, "bad-ready")
BROKEN(bad_environment, "bad-environment")
BROKEN(relative_working_directory, "relative-working-directory")
BROKEN(bad_control, "bad-control")
BROKEN(duplicate_name_across_kinds, "duplicate-name")
BROKEN(duplicate_section, "duplicate-section")
BROKEN(duplicate_key, "duplicate-key")
BROKEN(unknown_parent, "unknown-parent")
BROKEN(service_as_parent, "service-as-parent")
BROKEN(cycle, "cycle")
BROKEN(self_parent, "self-parent")
BROKEN(missing_command, "missing-command")
BROKEN(empty_command, "empty-command")
BROKEN(unreadable_include, "unreadable-include")
BROKEN(include_of_main_file, "include-self")
BROKEN(arbor_in_included_file, "arbor-in-include")
BROKEN(include_quote, "include-quote")
BROKEN(too_long_line, "too-long-line")
BROKEN(too_long_command, "too-long-command")
BROKEN(long_section_name, "long-section-name")
BROKEN(unbalanced_quote_from_inline_comment, "inline-comment-quote")
BROKEN(unbalanced_quote_from_inline_comment_in_continuation, "inline-comment-continuation")
BROKEN(unbalanced_quote, "unbalanced-quote")
BROKEN(trailing_backslash, "trailing-backslash")
BROKEN(significant_permanent, "significant-permanent")
BROKEN(child_keys_on_root, "root-child-keys")
BROKEN(reserved_root_name, "reserved-root")
BROKEN(bad_name_chars, "bad-name")
BROKEN(syntax_errors, "syntax")
BROKEN(multiple_errors_all_reported, "multiple-errors")

/* No broken file goes untested, and each one has its expectations. */
Test(config_broken, every_broken_file_matches_its_expected_errors) {
        DIR *d = opendir(BROKEN_DIR);
        struct dirent *de;
        unsigned n = 0;

        cr_assert_not_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *name = NULL;

                if (!has_suffix(de->d_name, ".ini"))
                        continue;
                name = strndup(de->d_name, strlen(de->d_name) - strlen(".ini"));
                cr_assert_not_null(name);
                check_broken(name);
                n++;
        }
        closedir(d);
        cr_assert_geq(n, MIN_BROKEN_FILES, "only %u broken files", n);
}

Test(config_broken, null_errors_still_fails) {
        Config *c = NULL;

        cr_assert_eq(chdir(BROKEN_DIR), 0);
        cr_assert_eq(config_load("multiple-errors.ini", &c, NULL), -EINVAL);
        cr_assert_null(c);
}

Test(config_broken, errors_are_appended_to_what_the_caller_has) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        Config *c = NULL;

        cr_assert_eq(chdir(BROKEN_DIR), 0);
        cr_assert_eq(config_load("bad-bool.ini", &c, &e), -EINVAL);
        cr_assert_eq(config_load("bad-signal.ini", &c, &e), -EINVAL);
        cr_assert_eq(e.n, 2);
        cr_assert_str_eq(e.items[0].file, "bad-bool.ini");
        cr_assert_str_eq(e.items[1].file, "bad-signal.ini");
        cr_assert_eq(e.items[1].line, 3);
}

Test(config_broken, missing_main_file) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_free_ char *got = NULL;
        Config *c = NULL;

        cr_assert_eq(config_load(BROKEN_DIR "/no-such-file.ini", &c, &e), -ENOENT);
        cr_assert_null(c);
        got = errors_text(&e);
        cr_assert_str_eq(got, BROKEN_DIR "/no-such-file.ini: cannot read: No such file or directory\n");
}

Test(config_broken, main_file_is_a_directory) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        Config *c = NULL;

        cr_assert_eq(config_load(BROKEN_DIR, &c, &e), -EISDIR);
        cr_assert_eq(e.n, 1);
}

/* Builds "[service:a]\ncommand = /bin/true\n" followed by extra lines, the long one at line_no. */
static char *text_with_line(unsigned line_no, size_t length, bool newline_at_end) {
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);

        cr_assert_not_null(out);
        fputs("[service:a]\ncommand = /bin/true\n", out);
        for (unsigned l = 3; l < line_no; l++)
                fputs("; filler\n", out);
        /* a comment would be harmless: make it a key line */
        fputs("environment = X=", out);
        for (size_t i = strlen("environment = X="); i < length; i++)
                fputc('x', out);
        if (newline_at_end)
                fputc('\n', out);
        cr_assert_eq(fclose(out), 0);
        return text;
}

Test(config_broken, too_long_line_numbers_are_exact) {
        static const unsigned lines[] = { 3, 4, 17, 120 };

        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                _cleanup_(config_errors_done) ConfigErrors e = {};
                _cleanup_free_ char *text = text_with_line(lines[i], 400, true), *got = NULL, *expected = NULL;
                Config *c = NULL;

                cr_assert_eq(config_load_string(text, "gen.ini", &c, &e), -EINVAL);
                got = errors_text(&e);
                cr_assert_gt(asprintf(&expected,
                                      "gen.ini:%u: line too long (max 199 bytes including the newline); "
                                      "continue a long value on indented lines\n",
                                      lines[i]),
                             0);
                cr_assert_str_eq(got, expected);
        }
}

Test(config_broken, line_length_limit_is_199_bytes_with_the_newline) {
        /* 198 characters and the newline fit inih's 200-byte buffer with its NUL */
        _cleanup_free_ char *fits = text_with_line(3, 198, true), *too_long = text_with_line(3, 199, true);
        _cleanup_free_ char *last_fits = text_with_line(3, 199, false), *last_too_long = text_with_line(3, 200, false);
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        Config *none = NULL;

        cr_assert_eq(config_load_string(fits, "fits.ini", &c, &e), 0);
        cr_assert_eq(strlen(node(c, "a")->environment[0]), 198 - strlen("environment = "));
        config_free(TAKE_PTR(c));
        cr_assert_eq(config_load_string(too_long, "long.ini", &none, &e), -EINVAL);
        cr_assert_eq(e.n, 1);
        cr_assert_eq(e.items[0].line, 3);

        /* the last line, without a newline, has one more byte for itself */
        cr_assert_eq(config_load_string(last_fits, "fits.ini", &c, &e), 0);
        cr_assert_eq(config_load_string(last_too_long, "long.ini", &none, &e), -EINVAL);
        cr_assert_eq(e.n, 2);
}

Test(config_broken, nul_byte) {
        char path[] = "/tmp/arbor-test-config-XXXXXX";
        static const char text[] = "[service:a]\ncommand = /bin/true\nrestart = tran\0sient\n";
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_free_ char *got = NULL, *expected = NULL;
        Config *c = NULL;
        int fd = mkstemp(path);

        cr_assert_geq(fd, 0);
        cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t) sizeof(text) - 1);
        cr_assert_eq(close(fd), 0);
        cr_assert_eq(config_load(path, &c, &e), -EINVAL);
        (void) unlink(path);
        got = errors_text(&e);
        cr_assert_gt(asprintf(&expected, "%s:3: line contains a NUL byte\n", path), 0);
        cr_assert_str_eq(got, expected);
}

Test(config_broken, continuation_of_a_hidden_line_is_not_a_key) {
        /* the indented line belongs to the too-long line, not to command and not a key of its own */
        _cleanup_free_ char *text = text_with_line(3, 300, true), *full = NULL, *got = NULL;
        _cleanup_(config_errors_done) ConfigErrors e = {};
        Config *c = NULL;

        cr_assert_gt(asprintf(&full, "%s    Y=1\nrestart = nope\n", text), 0);
        cr_assert_eq(config_load_string(full, "gen.ini", &c, &e), -EINVAL);
        got = errors_text(&e);
        cr_assert_str_eq(got,
                         "gen.ini:3: line too long (max 199 bytes including the newline); continue a long value on "
                         "indented lines\n"
                         "gen.ini:5: [service:a] restart: 'nope' is not valid; expected permanent, transient or "
                         "temporary\n");
}

Test(config_broken, long_comment_lines_are_harmless) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        char comment[400];

        memset(comment, '-', sizeof(comment) - 1);
        comment[0] = ';';
        comment[sizeof(comment) - 1] = '\0';
        cr_assert_gt(asprintf(&text, "%s\n[service:a]\n%s\ncommand = /bin/true\n", comment, comment), 0);
        cr_assert_eq(config_load_string(text, "c.ini", &c, &e), 0);
        cr_assert_eq(c->n_nodes, 2);
}

Test(config_broken, errors_print_format) {
        ConfigError items[] = {
                { .file = (char *) "a.ini", .line = 12, .message = (char *) "with a line" },
                { .file = (char *) "b.ini", .line = 0, .message = (char *) "without a line" },
                { .file = NULL, .line = 0, .message = (char *) "without a file" },
        };
        ConfigErrors e = { .items = items, .n = ELEMENTSOF(items) };
        _cleanup_free_ char *got = errors_text(&e);

        cr_assert_str_eq(got, "a.ini:12: with a line\nb.ini: without a line\nwithout a file\n");
}

/* ------------------------------------------------------------------------------------------ */
/* Good files */

static Config *load_good(const char *file) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_free_ char *got = NULL;
        Config *c = NULL;
        int r;

        cr_assert_eq(chdir(GOOD_DIR), 0);
        r = config_load(file, &c, &e);
        got = errors_text(&e);
        cr_assert_eq(r, 0, "%s: config_load() = %d:\n%s", file, r, got);
        cr_assert_eq(e.n, 0, "%s", got);
        cr_assert_not_null(c);
        assert_tree_invariants(c);
        return c;
}

static void assert_paths(const Config *c, const char *const *paths, size_t n) {
        cr_assert_eq(c->n_nodes, n, "%zu nodes, expected %zu", c->n_nodes, n);
        for (size_t i = 0; i < n; i++)
                cr_assert_str_eq(c->nodes[i]->path, paths[i], "nodes[%zu]", i);
}
#define ASSERT_PATHS(c, ...)                                                    \
        do {                                                                    \
                static const char *const _p_[] = { __VA_ARGS__ };               \
                assert_paths((c), _p_, ELEMENTSOF(_p_));                        \
        } while (0)

Test(config_good, defaults_are_otp_defaults) {
        _cleanup_(config_freep) Config *c = load_good("defaults.ini");
        const NodeSpec *root = c->nodes[0], *pool = node(c, "pool"), *worker = node(c, "worker");

        ASSERT_PATHS(c, "root", "root/pool", "root/pool/worker");

        cr_assert_eq(root->strategy, STRATEGY_ONE_FOR_ONE);
        cr_assert_eq(root->intensity, 1);
        cr_assert_eq(root->period, 5 * USEC_PER_SEC);
        cr_assert_eq(root->auto_shutdown, AUTO_SHUTDOWN_NEVER);

        cr_assert_eq(pool->kind, NODE_SUPERVISOR);
        cr_assert_eq(pool->strategy, STRATEGY_ONE_FOR_ONE);
        cr_assert_eq(pool->intensity, 1);
        cr_assert_eq(pool->period, 5 * USEC_PER_SEC);
        cr_assert_eq(pool->auto_shutdown, AUTO_SHUTDOWN_NEVER);
        cr_assert_eq(pool->restart, RESTART_PERMANENT);
        cr_assert_eq(pool->shutdown.kind, SHUTDOWN_INFINITY);
        cr_assert_not(pool->significant);

        cr_assert_eq(worker->kind, NODE_SERVICE);
        cr_assert_eq(worker->restart, RESTART_PERMANENT);
        cr_assert_eq(worker->shutdown.kind, SHUTDOWN_TIMEOUT);
        cr_assert_eq(worker->shutdown.timeout, 5 * USEC_PER_SEC);
        cr_assert_not(worker->significant);
        cr_assert_eq(worker->stop_signal, SIGTERM);
        cr_assert_eq(worker->n_success_exit_codes, 0);
        cr_assert_eq(worker->ready, READY_EXEC);
        cr_assert_eq(worker->ready_timeout, 30 * USEC_PER_SEC);
        cr_assert_null(worker->working_directory);
        cr_assert_null(worker->environment[0]);
        ASSERT_ARGV(worker->argv, "/bin/sleep", "60");

        cr_assert_eq(c->n_files, 1);
        cr_assert_str_eq(c->files[0], "defaults.ini");
        cr_assert_null(c->control);
        cr_assert_null(c->control_group);
        cr_assert_eq(worker->where.file, c->files[0]);
        cr_assert_eq(worker->where.line, 4);
        cr_assert_eq(pool->where.line, 2);
}

Test(config_good, children_keep_declaration_order_wherever_the_parent_is) {
        _cleanup_(config_freep) Config *c = load_good("order.ini");
        const NodeSpec *inner = node(c, "inner");

        ASSERT_PATHS(c, "root", "root/a", "root/outer", "root/outer/inner", "root/outer/inner/c1",
                     "root/outer/inner/c2", "root/outer/b");
        cr_assert_eq(inner->n_children, 2);
        cr_assert_str_eq(inner->children[0]->name, "c1");
        cr_assert_str_eq(inner->children[1]->name, "c2");
        cr_assert_eq(node(c, "outer")->children[0], inner);
        cr_assert_eq(node(c, "b")->child_index, 1);
        cr_assert_eq(c->nodes[0]->n_children, 2);
        /* the implicit root: in the main file, on no line */
        cr_assert_eq(c->nodes[0]->where.file, c->files[0]);
        cr_assert_eq(c->nodes[0]->where.line, 0);
}

Test(config_good, indented_lines_continue_a_value) {
        _cleanup_(config_freep) Config *c = load_good("multiline.ini");
        const NodeSpec *n = node(c, "long");

        ASSERT_ARGV(n->argv, "/bin/sh", "-c", "echo \"one line, written on three\"; exec sleep 60", "--");
        ASSERT_ARGV(n->environment, "A=1", "B=two words");
        cr_assert_eq(n->restart, RESTART_TRANSIENT);
}

Test(config_good, words_are_split_like_a_shell_without_one) {
        _cleanup_(config_freep) Config *c = load_good("quoting.ini");

        ASSERT_ARGV(node(c, "q")->argv, "/usr/bin/printf", "%s\\n", "a \"quoted\" $word", "it's", "", "",
                    "back\\slash", "single \"double\" inside", "keep\\n", "mixedsingledoubleplain", "$HOME", "*.txt",
                    "a b");
}

Test(config_good, every_key) {
        _cleanup_(config_freep) Config *c = load_good("full.ini");
        const NodeSpec *root = c->nodes[0], *web = node(c, "web"), *api = node(c, "api"), *db = node(c, "db");

        ASSERT_PATHS(c, "root", "root/web", "root/web/api", "root/db");
        cr_assert_str_eq(c->control, "/run/arbor/test.sock");
        cr_assert_str_eq(c->control_group, "arbor");

        cr_assert_eq(root->strategy, STRATEGY_REST_FOR_ONE);
        cr_assert_eq(root->intensity, 10);
        cr_assert_eq(root->period, 90 * USEC_PER_SEC);
        cr_assert_eq(root->auto_shutdown, AUTO_SHUTDOWN_ALL_SIGNIFICANT);
        cr_assert_eq(root->where.line, 6);

        cr_assert_eq(web->strategy, STRATEGY_ONE_FOR_ALL);
        cr_assert_eq(web->intensity, 0);
        cr_assert_eq(web->period, 500 * USEC_PER_MSEC);
        cr_assert_eq(web->auto_shutdown, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        cr_assert_eq(web->restart, RESTART_TRANSIENT);
        cr_assert_eq(web->shutdown.kind, SHUTDOWN_BRUTAL_KILL);
        cr_assert(web->significant);

        ASSERT_ARGV(api->argv, "/usr/local/bin/api", "--port", "8080");
        cr_assert_eq(api->restart, RESTART_TEMPORARY);
        cr_assert_eq(api->shutdown.kind, SHUTDOWN_INFINITY);
        cr_assert_eq(api->stop_signal, SIGINT);
        cr_assert_eq(api->n_success_exit_codes, 3);
        cr_assert_eq(api->success_exit_codes[0], 0);
        cr_assert_eq(api->success_exit_codes[1], 3);
        cr_assert_eq(api->success_exit_codes[2], 143);
        cr_assert(node_exit_code_is_success(api, 143));
        cr_assert_not(node_exit_code_is_success(api, 1));
        cr_assert(api->significant);
        ASSERT_ARGV(api->environment, "LANG=C.UTF-8", "GREETING=hello world", "EMPTY=");
        cr_assert_str_eq(api->working_directory, "/srv/api");
        cr_assert_eq(api->ready, READY_NOTIFY);
        cr_assert_eq(api->ready_timeout, USEC_INFINITY);

        ASSERT_ARGV(db->argv, "postgres", "-D", "/var/lib/postgresql");
        cr_assert_eq(db->shutdown.kind, SHUTDOWN_TIMEOUT);
        cr_assert_eq(db->shutdown.timeout, 2 * USEC_PER_MINUTE);
        cr_assert_eq(db->stop_signal, SIGINT);
        cr_assert_eq(db->ready_timeout, 45 * USEC_PER_SEC);
}

Test(config_good, include_reads_a_glob_in_byte_order_at_the_arbor_section) {
        _cleanup_(config_freep) Config *c = load_good("include.ini");
        const NodeSpec *api = node(c, "api");

        /* early, then the included files (10-, 20-, 9-), then late; web's children: api, late */
        ASSERT_PATHS(c, "root", "root/early", "root/web", "root/web/api", "root/web/late", "root/nine");
        cr_assert_eq(c->n_files, 4);
        cr_assert_str_eq(c->files[0], "include.ini");
        cr_assert_str_eq(c->files[1], "include.d/10-api.ini");
        cr_assert_str_eq(c->files[2], "include.d/20-web.ini");
        cr_assert_str_eq(c->files[3], "include.d/9-last.ini");
        cr_assert_eq(api->where.file, c->files[1]);
        cr_assert_eq(api->where.line, 2);
        cr_assert_eq(node(c, "web")->strategy, STRATEGY_ONE_FOR_ALL);
}

Test(config_good, root_may_be_declared_anywhere) {
        _cleanup_(config_freep) Config *c = load_good("root-declared.ini");

        ASSERT_PATHS(c, "root", "root/first");
        cr_assert_eq(c->nodes[0]->strategy, STRATEGY_ONE_FOR_ALL);
        cr_assert_eq(c->nodes[0]->intensity, 3);
        cr_assert_eq(c->nodes[0]->period, 10 * USEC_PER_SEC);
        cr_assert_eq(c->nodes[0]->where.line, 5);
}

Test(config_good, colon_separator_and_byte_order_mark) {
        _cleanup_(config_freep) Config *c = load_good("colon-and-bom.ini");

        ASSERT_ARGV(node(c, "colon")->argv, "/bin/true");
        cr_assert_eq(node(c, "colon")->restart, RESTART_TEMPORARY);
        cr_assert_eq(node(c, "colon")->where.line, 1);
}

Test(config_good, man_page_examples) {
        _cleanup_(config_freep) Config *c = load_good("man-example.ini"), *container = load_good("container.ini");
        char *argv[] = { (char *) "/usr/local/bin/app", NULL };
        _cleanup_(config_freep) Config *single = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;

        ASSERT_PATHS(c, "root", "root/db", "root/web", "root/web/api", "root/backup");
        ASSERT_ARGV(node(c, "backup")->argv, "/usr/bin/rsync", "-a", "--delete", "--exclude=*.tmp", "/srv/data/",
                    "/mnt/backup/data/");
        cr_assert_eq(node(c, "api")->n_success_exit_codes, 2);

        /* the container example is exactly the tini drop-in tree */
        cr_assert_eq(config_new_single_command(argv, &single), 0);
        a = tree_text(container);
        b = tree_text(single);
        cr_assert_str_eq(a, b);
}

Test(config_good, tree_printout) {
        _cleanup_(config_freep) Config *c = load_good("full.ini");
        _cleanup_free_ char *got = tree_text(c);

        cr_assert_str_eq(got,
                         "root  supervisor rest_for_one intensity=10 period=1m30s auto_shutdown=all_significant\n"
                         "  web  supervisor transient shutdown=brutal_kill significant one_for_all intensity=0 "
                         "period=500ms auto_shutdown=any_significant\n"
                         "    api  service temporary shutdown=infinity significant stop_signal=SIGINT "
                         "success_exit_codes=0,3,143 ready=notify ready_timeout=infinity working_directory=/srv/api "
                         "environment=LANG=C.UTF-8 environment='GREETING=hello world' environment=EMPTY= "
                         "command=/usr/local/bin/api --port 8080\n"
                         "  db  service permanent shutdown=2m stop_signal=SIGINT ready=notify ready_timeout=45s "
                         "command=postgres -D /var/lib/postgresql\n");
}

/* What --check prints reads back as the same argv. */
Test(config_good, printed_command_reads_back) {
        _cleanup_(config_freep) Config *c = load_good("quoting.ini"), *back = NULL;
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_free_ char *printed = tree_text(c), *text = NULL;
        const char *command = strstr(printed, "command=");
        char **a, **b;

        cr_assert_not_null(command);
        cr_assert_gt(asprintf(&text, "[service:q]\ncommand = %.*s\n", (int) strcspn(command + strlen("command="), "\n"),
                              command + strlen("command=")),
                     0);
        cr_assert_eq(config_load_string(text, "back.ini", &back, &e), 0);
        for (a = node(c, "q")->argv, b = node(back, "q")->argv; *a && *b; a++, b++)
                cr_assert_str_eq(*a, *b);
        cr_assert(!*a && !*b);
}

Test(config_good, every_good_file_loads) {
        DIR *d = opendir(GOOD_DIR);
        struct dirent *de;
        unsigned n = 0;

        cr_assert_not_null(d);
        while ((de = readdir(d)))
                if (has_suffix(de->d_name, ".ini")) {
                        config_free(load_good(de->d_name));
                        n++;
                }
        closedir(d);
        cr_assert_geq(n, 8);
}

/* The shipped examples must always load. */
Test(config_good, every_conf_d_file_loads) {
        DIR *d = opendir(CONF_D_DIR);
        struct dirent *de;
        unsigned n = 0;

        cr_assert_not_null(d);
        cr_assert_eq(chdir(CONF_D_DIR), 0);
        while ((de = readdir(d))) {
                _cleanup_(config_errors_done) ConfigErrors e = {};
                _cleanup_free_ char *got = NULL;
                Config *c = NULL;
                int r;

                if (!has_suffix(de->d_name, ".ini"))
                        continue;
                r = config_load(de->d_name, &c, &e);
                got = errors_text(&e);
                cr_assert_eq(r, 0, "conf.d/%s:\n%s", de->d_name, got);
                assert_tree_invariants(c);
                config_free(c);
                n++;
        }
        closedir(d);
        cr_assert_geq(n, 1);
}

Test(config_good, demo_shows_what_it_promises) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        bool nested = false, crashing_permanent = false, transient = false, rest_for_one = false;

        cr_assert_eq(config_load(CONF_D_DIR "/demo.ini", &c, &e), 0);
        cr_assert_null(c->control, "the demo uses the default socket");
        for (size_t i = 0; i < c->n_nodes; i++) {
                const NodeSpec *n = c->nodes[i];

                nested = nested || (n->kind == NODE_SUPERVISOR && n->parent);
                crashing_permanent = crashing_permanent || (n->kind == NODE_SERVICE && n->restart == RESTART_PERMANENT &&
                                                            strstr(n->argv[strv_length(n->argv) - 1], "exit 1"));
                transient = transient || (n->kind == NODE_SERVICE && n->restart == RESTART_TRANSIENT);
                rest_for_one = rest_for_one ||
                               (n->kind == NODE_SUPERVISOR && n->strategy == STRATEGY_REST_FOR_ONE && n->n_children >= 3);
        }
        cr_assert(nested && crashing_permanent && transient && rest_for_one);
}

/* ------------------------------------------------------------------------------------------ */
/* Strings and the single-command tree */

Test(config_string, name_stands_for_the_file) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *got = NULL;
        Config *none = NULL;

        cr_assert_eq(config_load_string("[service:a]\ncommand = /bin/true\n", "inline.ini", &c, &e), 0);
        cr_assert_eq(c->n_files, 1);
        cr_assert_str_eq(c->files[0], "inline.ini");
        cr_assert_str_eq(c->nodes[1]->path, "root/a");

        cr_assert_eq(config_load_string("[service:a]\n\ncommand = /bin/true\nstop_signal = 0\n", "inline.ini", &none, &e),
                     -EINVAL);
        got = errors_text(&e);
        cr_assert_str_eq(got, "inline.ini:4: [service:a] stop_signal: '0' is not valid; expected a signal name such as "
                              "SIGTERM, TERM or SIGINT, or a signal number\n");
}

Test(config_string, empty_text_is_a_root_alone) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;

        cr_assert_eq(config_load_string("", "empty.ini", &c, &e), 0);
        cr_assert_eq(c->n_nodes, 1);
        assert_tree_invariants(c);
}

Test(config_single_command, tini_drop_in) {
        char *argv[] = { (char *) "/usr/bin/app", (char *) "--flag", (char *) "two words", NULL };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *got = NULL;
        const NodeSpec *root, *m;

        cr_assert_eq(config_new_single_command(argv, &c), 0);
        assert_tree_invariants(c);
        cr_assert_eq(c->n_nodes, 2);
        root = c->nodes[0];
        m = c->nodes[1];
        cr_assert_eq(root->auto_shutdown, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        cr_assert_eq(root->intensity, 1);
        cr_assert_eq(root->period, 5 * USEC_PER_SEC);
        cr_assert_eq(root->strategy, STRATEGY_ONE_FOR_ONE);
        cr_assert_str_eq(m->name, "main");
        cr_assert_str_eq(m->path, "root/main");
        cr_assert_eq(m->restart, RESTART_TEMPORARY);
        cr_assert(m->significant);
        cr_assert_eq(m->shutdown.kind, SHUTDOWN_TIMEOUT);
        cr_assert_eq(m->shutdown.timeout, 5 * USEC_PER_SEC);
        cr_assert_eq(m->stop_signal, SIGTERM);
        ASSERT_ARGV(m->argv, "/usr/bin/app", "--flag", "two words");
        cr_assert_neq(m->argv[0], argv[0], "argv is copied");

        got = tree_text(c);
        cr_assert_str_eq(got, "root  supervisor one_for_one intensity=1 period=5s auto_shutdown=any_significant\n"
                              "  main  service temporary shutdown=5s significant command=/usr/bin/app --flag 'two words'\n");
}

Test(config_single_command, needs_a_command) {
        char *empty[] = { NULL };
        Config *c = NULL;

        cr_assert_eq(config_new_single_command(empty, &c), -EINVAL);
        cr_assert_eq(config_new_single_command(NULL, &c), -EINVAL);
        cr_assert_null(c);
}
