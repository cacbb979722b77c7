/* Helpers shared by the colscope subcommands: exit codes, one-line error
 * reporting and progress on a terminal. */
#ifndef COLSCOPE_CLI_H
#define COLSCOPE_CLI_H

#include "colscope/common.h"
#include "colscope/systolic.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

enum { CS_EXIT_OK = 0, CS_EXIT_RUNTIME = 1, CS_EXIT_USAGE = 2 };

/* Prints "colscope: <message>" on stderr and returns the exit status for it:
 * 2 for bad input, 1 for runtime failures. */
int cs_cli_fail(const cs_error *err);
/* Prints "colscope <cmd>: <message> (see 'colscope <cmd> --help')" and
 * returns 2. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int cs_cli_usage(const char *cmd, const char *fmt, ...);
/* The usage error for an option getopt_long (optstring starting with ':')
 * could not take: ch ':' when its value is missing, else unknown. */
int cs_cli_bad_option(const char *cmd, int ch, char **argv);
/* Splits a binding LAYER=VALUE (both non-empty) into malloc'ed halves;
 * false, with nothing allocated, if it is not one or memory runs out. */
bool cs_cli_split_binding(const char *arg, char **layer, char **value);

/* Progress on stderr, redrawn at most ~6 times a second, only when enabled
 * (default: stderr is a terminal). */
typedef struct cs_progress {
    bool enabled;
    double last;
    int width;
} cs_progress;
void cs_progress_init(cs_progress *p, int mode /* -1 auto, 0 off, 1 on */);
void cs_progress_update(cs_progress *p, const char *fmt, ...);
void cs_progress_done(cs_progress *p);

/* Writes cJSON item unformatted + newline to fp; false on failure. */
bool cs_cli_write_json(FILE *fp, const cJSON *item);

/* An activation bound to a layer (--activation LAYER=FILE[:TENSOR]):
 * profiles the one tensor spec names at threshold and the given tile
 * heights, keeping the masks. Its rows and last axis must be the layer's M
 * and K; cs_cli_check_operand checks that for a profile already made. */
cs_status cs_cli_profile_operand(const cs_layer *l, const char *spec, double threshold, const uint32_t *heights,
                                 size_t nheights, cs_profile *out, cs_error *err);
cs_status cs_cli_check_operand(const cs_layer *l, const char *spec, const cs_profile *p, cs_error *err);

/* Subcommands. */
int cs_cmd_profile(int argc, char **argv);
int cs_cmd_compute(int argc, char **argv);
int cs_cmd_simulate(int argc, char **argv);
int cs_cmd_dram(int argc, char **argv);

#endif
