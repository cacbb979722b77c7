/* Helpers for colscope's Criterion tests: scratch directories and writers of
 * small tensor files, valid or deliberately broken. */
#ifndef CS_TESTUTIL_H
#define CS_TESTUTIL_H

#include "colscope/systolic.h"
#include "colscope/tensor.h"

#include <stddef.h>
#include <stdint.h>

/* A fresh scratch directory under $TMPDIR, removed by cs_test_rmdir. */
char *cs_test_mkdtemp(void);
void cs_test_rmdir(const char *dir);
/* malloc'ed "dir/name". */
char *cs_test_path(const char *dir, const char *name);
void cs_test_write(const char *path, const void *data, size_t len);
/* Reads a whole file; NULL if missing. */
char *cs_test_read(const char *path, size_t *len);
bool cs_test_exists(const char *path);
/* Number of directory entries other than . and .. */
int cs_test_count_entries(const char *dir);

/* Writes a .npy file: descr like "<f4", shape, raw little-endian data. */
void cs_test_write_npy(const char *path, const char *descr, bool fortran, const uint64_t *shape, int ndim,
                       const void *data, size_t nbytes, int major);
/* Writes a safetensors file with one tensor per (name, dtype, shape, data). */
typedef struct cs_test_st_tensor {
    const char *name, *dtype;
    uint64_t shape[4];
    int ndim;
    const void *data;
    size_t nbytes;
} cs_test_st_tensor;
void cs_test_write_safetensors(const char *path, const cs_test_st_tensor *t, size_t n);

/* A GEMM layer named "g", lowered as cs_topology_add_gemm lowers one. */
cs_layer cs_test_gemm(uint64_t M, uint64_t N, uint64_t K);

/* Deterministic pseudo-random numbers (splitmix64). */
uint64_t cs_test_rand(uint64_t *state);
double cs_test_uniform(uint64_t *state);

#endif
