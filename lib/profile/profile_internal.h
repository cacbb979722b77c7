/* Internal interface between the profile engine and its counting kernels. */
#ifndef COLSCOPE_PROFILE_INTERNAL_H
#define COLSCOPE_PROFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Functions on the per-element or per-tile path are compiled for AVX-512,
 * AVX2 and baseline x86-64 and chosen at load time (GCC target_clones). Off
 * under sanitizers, whose instrumentation does not support ifunc. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CS__HAVE_X86_DISPATCH 1
#define CS__CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CS__HAVE_X86_DISPATCH 0
#define CS__CLONES
#endif

/* Largest row count one kernel call may cover: the 16-bit kernel counts in
 * 16-bit lanes. */
#define CS__KERNEL_MAX_ROWS 65535u

/* For every threshold t < T and feature k < nk, adds to zero[t*zstride + k]
 * the number of rows r < nrows whose magnitude bits (x[r*ld + k] with the
 * sign cleared) are below kt[t]. Comparing magnitude bit patterns is exact:
 * for IEEE formats the order of non-negative bit patterns is the order of
 * the values, and NaN patterns lie above +inf, so NaN never counts as zero.
 * nrows <= CS__KERNEL_MAX_ROWS. x need not be aligned (safetensors data
 * offsets are arbitrary). */
void cs__count_zeros_u16(const void *x, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T,
                         uint32_t *zero, size_t zstride);
/* The vector-extension version of the 16-bit kernel, which
 * cs__count_zeros_u16 uses where AVX-512BW is missing. */
void cs__count_zeros_u16_generic(const void *x, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T,
                                 uint32_t *zero, size_t zstride);
void cs__count_zeros_u32(const void *x, size_t ld, size_t nrows, size_t nk, const uint32_t *kt, int T,
                         uint32_t *zero, size_t zstride);
void cs__count_zeros_u64(const void *x, size_t ld, size_t nrows, size_t nk, const uint64_t *kt, int T,
                         uint32_t *zero, size_t zstride);

/* Statistics of completed tiles for one threshold (profile_kernel.c):
 * tiles_zero[k] += zero[k] == height, in bytes that wrap (callers empty them
 * into wider totals at least every 255 tiles: CS__TILES_ZERO_SPAN); the
 * histogram (CS__HIST_COPIES copies, `bins` apart) counts height - zero[k];
 * returns the number of zero columns. */
#define CS__HIST_COPIES 8
#define CS__TILES_ZERO_SPAN 255
uint64_t cs__tile_stats(const uint32_t *zero, size_t nk, uint32_t height, uint8_t *tiles_zero, uint64_t *hist,
                        size_t bins);

/* Test hooks (profile.c): nonzero makes workers read contiguous tensors with
 * pread, the path taken where the mapping cannot be populated; and count
 * 16-bit data in 32-bit words, the path taken without AVX-512BW. */
extern int cs__profile_force_pread, cs__profile_force_words;
/* Nonzero: histograms only by the AVX-512BW paths, as on CPUs without VBMI,
 * BITALG and GFNI (profile_kernel.c). */
extern int cs__profile_force_avx512bw;

/* The same for counts held in bytes (tiles of at most 255 rows). */
uint64_t cs__tile_stats_u8(const uint8_t *zero, size_t nk, uint32_t height, uint8_t *tiles_zero, uint64_t *hist,
                           size_t bins);

/* The byte kernel: for whole tiles of at most 255 rows of 16-bit data,
 * *stores* (not adds) each count as a byte, zero[t*zstride + k], for any
 * alignment of x. Only where cs__have_avx512bw(); elsewhere the profile
 * counts in 32-bit words. Bytes cut the memory the per-tile passes move by
 * four. */
bool cs__have_avx512bw(void); /* AVX-512BW and AVX-512F, checked once */
void cs__count_zeros_u16_bytes(const void *x, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T,
                               uint8_t *zero, size_t zstride);

/* The plain scalar version of the same contract, the reference the
 * vectorised kernels are tested against. */
void cs__count_zeros_ref(const void *x, size_t elem_size, size_t ld, size_t nrows, size_t nk, const uint64_t *kt,
                         int T, uint32_t *zero, size_t zstride);

/* The tile heights' order, smallest first (stable), and for each height
 * the index of the largest smaller height that divides it (-1: none). The
 * engine accumulates each height from that one; the final statistics raise
 * its powers from it. */
void cs__height_order(const uint32_t *heights, int H, int *order, int *parent);

/* Derived statistics of a profile from the exact counts (profile_stats.c);
 * order and parent as cs__height_order gives them for the profile's
 * heights. */
struct cs_profile;
void cs__profile_finish(struct cs_profile *p, const uint64_t *chan_zero, const uint64_t *chan_zero_tiles,
                        const int *order, const int *parent, int threads);

#endif
