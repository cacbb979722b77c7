/* Internal interface between the profile engine and its counting kernels. */
#ifndef COLSCOPE_PROFILE_INTERNAL_H
#define COLSCOPE_PROFILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Largest row count one kernel call may cover: the 16-bit kernel counts in
 * 16-bit lanes. */
#define CS__KERNEL_MAX_ROWS 65535u

/* For every threshold t < T and feature k < nk, adds to zero[t*zstride + k]
 * the number of rows r < nrows whose magnitude bits (x[r*ld + k] with the
 * sign cleared) are below kt[t]. Comparing magnitude bit patterns is exact:
 * for IEEE formats the order of non-negative bit patterns is the order of
 * the values, and NaN patterns lie above +inf, so NaN never counts as zero.
 * nrows <= CS__KERNEL_MAX_ROWS. */
void cs__count_zeros_u16(const uint16_t *x, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T,
                         uint32_t *zero, size_t zstride);
void cs__count_zeros_u32(const uint32_t *x, size_t ld, size_t nrows, size_t nk, const uint32_t *kt, int T,
                         uint32_t *zero, size_t zstride);
void cs__count_zeros_u64(const uint64_t *x, size_t ld, size_t nrows, size_t nk, const uint64_t *kt, int T,
                         uint32_t *zero, size_t zstride);

/* The plain scalar version of the same contract, the reference the
 * vectorised kernels are tested against. */
void cs__count_zeros_ref(const void *x, size_t elem_size, size_t ld, size_t nrows, size_t nk, const uint64_t *kt,
                         int T, uint32_t *zero, size_t zstride);

#endif
