/* colscope: errors, atomically written output files and list parsing shared by
 * every subsystem. */
#ifndef COLSCOPE_COMMON_H
#define COLSCOPE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by library functions. CS_EINPUT means the caller's
 * input (a file, a config, an option) is wrong; the CLI maps it to exit status
 * 2. CS_ERUNTIME is everything else that is not the user's fault (I/O failure,
 * out of memory) and maps to exit status 1. */
typedef enum cs_status {
    CS_OK = 0,
    CS_EINPUT = 2,
    CS_ERUNTIME = 1,
} cs_status;

/* One-line error message. Library functions fill it as "FILE: problem" (or
 * "FILE:LINE: problem") so the CLI can print it verbatim. */
typedef struct cs_error {
    cs_status status;
    char msg[768];
} cs_error;

/* Sets err (if non-NULL) and returns status, so callers can write
 * `return cs_error_set(err, CS_EINPUT, "%s: bad header", path);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
cs_status cs_error_set(cs_error *err, cs_status status, const char *fmt, ...);
void cs_error_clear(cs_error *err);

/* An output file that appears under its final name only when complete: data
 * goes to a temporary file beside it, renamed on commit and deleted on abort
 * (and on SIGINT/SIGTERM), so a failed run never leaves a half-written file.
 * The path "-" writes to stdout directly. */
typedef struct cs_outfile {
    FILE *fp;
    char *final_path;
    char *tmp_path; /* NULL for stdout */
} cs_outfile;

cs_status cs_outfile_open(cs_outfile *out, const char *path, cs_error *err);
cs_status cs_outfile_commit(cs_outfile *out, cs_error *err);
void cs_outfile_abort(cs_outfile *out);
/* Writes a whole buffer to path through cs_outfile. */
cs_status cs_write_file_atomic(const char *path, const void *data, size_t len, cs_error *err);

/* Strict number parsing: the whole string must be a number. */
bool cs_parse_double(const char *s, double *out);
bool cs_parse_u64(const char *s, uint64_t *out);
bool cs_parse_i64(const char *s, int64_t *out);
/* Comma-separated lists. The returned array is malloc'ed; *n receives its
 * length. On error err holds "what: problem" and NULL is returned. */
double *cs_parse_double_list(const char *s, size_t *n, const char *what, cs_error *err);
uint64_t *cs_parse_u64_list(const char *s, size_t *n, const char *what, cs_error *err);

/* Room for element index n (n + 1 elements of `size` bytes) in the array
 * `items` of capacity *cap, which doubles (from `first`) when full. Returns
 * the array, perhaps moved, with *cap updated; NULL when out of memory, the
 * array and *cap then unchanged. The one growth rule of every growing
 * array in colscope. */
void *cs_grow(void *items, size_t *cap, size_t n, size_t size, size_t first);

/* Monotonic wall clock in seconds. */
double cs_now_seconds(void);
/* Number of online CPUs (at least 1). */
int cs_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif
