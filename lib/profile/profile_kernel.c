/* Counting kernels of the profiler: how many rows of each feature column lie
 * below each threshold. This is the only per-element work of a profile, so it
 * is written for SIMD: a strip of features is held in vector registers while
 * the rows of a tile stream past, one compare-and-subtract per threshold per
 * vector. GCC vector extensions keep it one readable loop; target_clones
 * compiles it for AVX-512, AVX2 and baseline x86-64 and picks at load time. */
#include "profile_internal.h"

#include <string.h>

#if CS__HAVE_X86_DISPATCH
#include <immintrin.h>
#endif

#define CS__MAX_T_PER_PASS 8
#define CS__ALWAYS_INLINE static inline __attribute__((always_inline))

/* One kernel per element width. STRIP features are processed per vector; the
 * accumulator lanes have the element's own width, which cannot overflow since
 * a call covers at most CS__KERNEL_MAX_ROWS rows. */
#define CS__DEFINE_KERNEL(NAME, ELEM, MAGMASK)                                                                   \
    typedef ELEM NAME##_vec __attribute__((vector_size(64)));                                                    \
    enum { NAME##_LANES = 64 / sizeof(ELEM) };                                                                   \
                                                                                                                 \
    CS__ALWAYS_INLINE void NAME##_strip(const unsigned char *x, size_t ld, size_t nrows, const ELEM *kt,        \
                                        const int T,                                                             \
                                        uint32_t *zero, size_t zstride)                                          \
    {                                                                                                            \
        NAME##_vec thr[CS__MAX_T_PER_PASS] = {{0}}, acc[CS__MAX_T_PER_PASS] = {{0}};                                      \
        const NAME##_vec mag = (NAME##_vec){0} + (ELEM)(MAGMASK);                                                \
        for (int t = 0; t < CS__MAX_T_PER_PASS; t++) {                                                           \
            thr[t] = (NAME##_vec){0} + (ELEM)(t < T ? kt[t] : 0u);                                                \
            acc[t] = (NAME##_vec){0};                                                                            \
        }                                                                                                        \
        for (size_t r = 0; r < nrows; r++) {                                                                     \
            NAME##_vec v;                                                                                        \
            memcpy(&v, x + r * ld * sizeof(ELEM), sizeof v);                                                     \
            v &= mag;                                                                                            \
            for (int t = 0; t < T; t++)                                                                          \
                acc[t] -= (NAME##_vec)(v < thr[t]); /* true lanes are all ones, i.e. -1 */                       \
        }                                                                                                        \
        for (int t = 0; t < T; t++)                                                                              \
            for (int l = 0; l < NAME##_LANES; l++)                                                               \
                zero[(size_t)t * zstride + (size_t)l] += (uint32_t)acc[t][l];                                    \
    }                                                                                                            \
                                                                                                                 \
    CS__ALWAYS_INLINE void NAME##_scalar(const unsigned char *x, size_t ld, size_t nrows, size_t nk,            \
                                         const ELEM *kt,                                                         \
                                         int T, uint32_t *zero, size_t zstride)                                  \
    {                                                                                                            \
        for (size_t k = 0; k < nk; k++)                                                                          \
            for (size_t r = 0; r < nrows; r++) {                                                                 \
                ELEM v;                                                                                          \
                memcpy(&v, x + (r * ld + k) * sizeof(ELEM), sizeof v); /* data may be unaligned */               \
                v &= (ELEM)(MAGMASK);                                                                            \
                for (int t = 0; t < T; t++)                                                                      \
                    zero[(size_t)t * zstride + k] += v < kt[t];                                                  \
            }                                                                                                    \
    }                                                                                                            \
                                                                                                                 \
    CS__CLONES void cs__count_zeros_##NAME(const void *data, size_t ld, size_t nrows, size_t nk,                \
                                           const ELEM *kt, int T, uint32_t *zero, size_t zstride)                \
    {                                                                                                            \
        const unsigned char *x = data;                                                                           \
        while (T > 0) {                                                                                          \
            int pass = T < CS__MAX_T_PER_PASS ? T : CS__MAX_T_PER_PASS;                                          \
            size_t k = 0;                                                                                        \
            for (; k + NAME##_LANES <= nk; k += NAME##_LANES) {                                                  \
                /* A literal T per case lets the compiler unroll the threshold loop                              \
                 * and keep every accumulator in a register. */                                                  \
                switch (pass) {                                                                                  \
                case 1: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 1, zero + k, zstride); break;                         \
                case 2: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 2, zero + k, zstride); break;                         \
                case 3: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 3, zero + k, zstride); break;                         \
                case 4: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 4, zero + k, zstride); break;                         \
                case 5: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 5, zero + k, zstride); break;                         \
                case 6: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 6, zero + k, zstride); break;                         \
                case 7: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 7, zero + k, zstride); break;                         \
                default: NAME##_strip(x + k * sizeof(ELEM), ld, nrows, kt, 8, zero + k, zstride); break;                        \
                }                                                                                                \
            }                                                                                                    \
            NAME##_scalar(x + k * sizeof(ELEM), ld, nrows, nk - k, kt, pass, zero + k, zstride);                 \
            T -= pass;                                                                                           \
            kt += pass;                                                                                          \
            zero += (size_t)pass * zstride;                                                                      \
        }                                                                                                        \
    }

CS__DEFINE_KERNEL(u16_generic, uint16_t, 0x7fffu)
CS__DEFINE_KERNEL(u32, uint32_t, 0x7fffffffu)
CS__DEFINE_KERNEL(u64, uint64_t, 0x7fffffffffffffffull)

void cs__count_zeros_ref(const void *x, size_t elem_size, size_t ld, size_t nrows, size_t nk, const uint64_t *kt,
                         int T, uint32_t *zero, size_t zstride)
{
    const unsigned char *p = x;
    for (size_t r = 0; r < nrows; r++)
        for (size_t k = 0; k < nk; k++) {
            uint64_t bits = 0;
            memcpy(&bits, p + (r * ld + k) * elem_size, elem_size);
            uint64_t magnitude_mask = (~0ull >> (64 - 8 * elem_size)) >> 1; /* all bits but the sign */
            uint64_t mag = bits & magnitude_mask;
            for (int t = 0; t < T; t++)
                zero[(size_t)t * zstride + k] += mag < kt[t];
        }
}

#if CS__HAVE_X86_DISPATCH
/* AVX-512BW version of the 16-bit strip: the compare writes a mask register
 * and a masked subtract of -1 counts it, two instructions per threshold where
 * the generic vector code needs three. T is a literal at every call site so
 * the accumulators stay in registers. */
__attribute__((target("avx512bw,avx512f"), always_inline)) static inline void
cs__strip_u16_avx512(const unsigned char *x, size_t ld, size_t nrows, const __m512i *thr, const int T, uint32_t *zero,
                     size_t zstride)
{
    const __m512i mag = _mm512_set1_epi16(0x7fff), minus_one = _mm512_set1_epi16(-1);
    __m512i acc[CS__MAX_T_PER_PASS];
    for (int t = 0; t < CS__MAX_T_PER_PASS; t++)
        acc[t] = _mm512_setzero_si512();
    for (size_t r = 0; r < nrows; r++, x += ld * 2) {
        /* the rows of a tile are far apart; fetch this row's next strips early */
        _mm_prefetch((const char *)x + 256, _MM_HINT_T0);
        __m512i v = _mm512_and_si512(_mm512_loadu_si512(x), mag);
        for (int t = 0; t < T; t++)
            acc[t] = _mm512_mask_sub_epi16(acc[t], _mm512_cmplt_epu16_mask(v, thr[t]), acc[t], minus_one);
    }
    for (int t = 0; t < T; t++) {
        /* widen the 32 u16 lanes and add them to the u32 totals */
        uint32_t *z = zero + (size_t)t * zstride;
        __m512i lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(acc[t]));
        __m512i hi = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(acc[t], 1));
        _mm512_storeu_si512(z, _mm512_add_epi32(_mm512_loadu_si512(z), lo));
        _mm512_storeu_si512(z + 16, _mm512_add_epi32(_mm512_loadu_si512(z + 16), hi));
    }
}

__attribute__((target("avx512bw,avx512f"))) static void cs__count_zeros_u16_avx512(
    const void *data, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T, uint32_t *zero, size_t zstride)
{
    const unsigned char *x = data;
    while (T > 0) {
        int pass = T < CS__MAX_T_PER_PASS ? T : CS__MAX_T_PER_PASS;
        __m512i thr[CS__MAX_T_PER_PASS];
        for (int t = 0; t < CS__MAX_T_PER_PASS; t++)
            thr[t] = _mm512_set1_epi16((short)(t < pass ? kt[t] : 0));
        size_t k = 0;
        for (; k + 32 <= nk; k += 32) {
            switch (pass) {
            case 1: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 1, zero + k, zstride); break;
            case 2: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 2, zero + k, zstride); break;
            case 3: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 3, zero + k, zstride); break;
            case 4: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 4, zero + k, zstride); break;
            case 5: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 5, zero + k, zstride); break;
            case 6: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 6, zero + k, zstride); break;
            case 7: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 7, zero + k, zstride); break;
            default: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 8, zero + k, zstride); break;
            }
        }
        u16_generic_scalar(x + k * 2, ld, nrows, nk - k, kt, pass, zero + k, zstride);
        T -= pass;
        kt += pass;
        zero += (size_t)pass * zstride;
    }
}
#endif

void cs__count_zeros_u16(const void *x, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T,
                         uint32_t *zero, size_t zstride)
{
#if CS__HAVE_X86_DISPATCH
    static int have_avx512 = -1;
    if (have_avx512 < 0)
        have_avx512 = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
    if (have_avx512) {
        cs__count_zeros_u16_avx512(x, ld, nrows, nk, kt, T, zero, zstride);
        return;
    }
#endif
    cs__count_zeros_u16_generic(x, ld, nrows, nk, kt, T, zero, zstride);
}

/* Per-tile statistics of one threshold: zero[k] = zero rows of feature k in a
 * completed tile of `height` rows. Adds 1 to tiles_zero[k] for every zero
 * column and to the non-zero-row histogram at bin height - zero[k] for every
 * column; returns the number of zero columns. In the scalar version runs of
 * equal counts are the common case (all-dense or all-zero columns), and
 * consecutive increments of one counter serialise on store-to-load
 * forwarding, so columns go round-robin to CS__HIST_COPIES interleaved copies
 * of the histogram (`bins` apart), which the caller sums. Tried and measured
 * slower here: counting the two extreme bins with vector compares and
 * compressing the rest (mispredicted variable-length loops on GELU data). */
CS__ALWAYS_INLINE uint64_t cs__tile_stats_scalar(const uint32_t *zero, size_t nk, uint32_t height, uint64_t *tiles_zero,
                                      uint64_t *hist, size_t bins)
{
    uint64_t zc = 0;
    for (size_t k = 0; k < nk; k++) { /* vectorised by the compiler */
        uint32_t is_zero = zero[k] == height;
        tiles_zero[k] += is_zero;
        zc += is_zero;
    }
    size_t k = 0;
    for (; k + CS__HIST_COPIES <= nk; k += CS__HIST_COPIES)
        for (size_t c = 0; c < CS__HIST_COPIES; c++)
            hist[c * bins + height - zero[k + c]]++;
    for (; k < nk; k++)
        hist[height - zero[k]]++;
    return zc;
}

#if CS__HAVE_X86_DISPATCH
/* Short tiles (few bins) with AVX-512: the counts narrowed to bytes, 64
 * columns at a time. Up to CS__REGISTER_BINS bins (heights up to 16, the
 * usual base tile), each bin has a register of 64 byte counters that a
 * compare and a masked subtract advance, and the counters are summed once
 * per call (or every 255 groups, before a byte can overflow): about 2
 * instructions per bin and 64 columns. Taller short tiles count each bin
 * with a compare and a popcount (4 instructions). Both beat a scalar
 * increment per column while there are at most CS__VECTOR_BINS bins. */
#define CS__VECTOR_BINS 24
#define CS__REGISTER_BINS 17

/* The non-zero rows (height - zero[k]) of 64 columns as bytes; counts the
 * zero columns into tiles_zero and *zc. */
__attribute__((target("avx512f,avx512bw,popcnt"), always_inline)) static inline __m512i
cs__nonzero_bytes(const uint32_t *zero, __m512i vh, uint64_t *tiles_zero, uint64_t *zc)
{
    const __m512i one = _mm512_set1_epi64(1);
    __m128i q[4];
    for (int i = 0; i < 4; i++) {
        __m512i v = _mm512_loadu_si512(zero + 16 * i);
        __mmask16 z = _mm512_cmpeq_epi32_mask(v, vh);
        if (z) {
            uint64_t *tz = tiles_zero + 16 * i;
            _mm512_storeu_si512(tz, _mm512_mask_add_epi64(_mm512_loadu_si512(tz), (__mmask8)z, _mm512_loadu_si512(tz), one));
            _mm512_storeu_si512(tz + 8, _mm512_mask_add_epi64(_mm512_loadu_si512(tz + 8), (__mmask8)(z >> 8),
                                                             _mm512_loadu_si512(tz + 8), one));
            *zc += (uint64_t)__builtin_popcount(z);
        }
        q[i] = _mm512_cvtepi32_epi8(_mm512_sub_epi32(vh, v)); /* non-zero rows, <= height */
    }
    __m512i nz = _mm512_inserti32x4(_mm512_castsi128_si512(q[0]), q[1], 1);
    nz = _mm512_inserti32x4(nz, q[2], 2);
    return _mm512_inserti32x4(nz, q[3], 3);
}

/* H is a literal at every call site, so the H + 1 counters stay in registers. */
__attribute__((target("avx512f,avx512bw,popcnt"), always_inline)) static inline uint64_t
cs__tile_stats_registers(const uint32_t *zero, size_t nk, const uint32_t H, uint64_t *tiles_zero, uint64_t *hist,
                         size_t bins)
{
    __m512i acc[CS__REGISTER_BINS];
    for (uint32_t b = 0; b <= H; b++)
        acc[b] = _mm512_setzero_si512();
    const __m512i vh = _mm512_set1_epi32((int)H), minus_one = _mm512_set1_epi8(-1);
    uint64_t zc = 0;
    size_t k = 0;
    for (unsigned groups = 0; k + 64 <= nk; k += 64) {
        __m512i nz = cs__nonzero_bytes(zero + k, vh, tiles_zero + k, &zc);
        for (uint32_t b = 0; b <= H; b++)
            acc[b] = _mm512_mask_sub_epi8(acc[b], _mm512_cmpeq_epi8_mask(nz, _mm512_set1_epi8((char)b)), acc[b],
                                          minus_one);
        if (++groups == 255 || k + 128 > nk) { /* sum the byte counters before they can wrap */
            for (uint32_t b = 0; b <= H; b++) {
                hist[b] += (uint64_t)_mm512_reduce_add_epi64(_mm512_sad_epu8(acc[b], _mm512_setzero_si512()));
                acc[b] = _mm512_setzero_si512();
            }
            groups = 0;
        }
    }
    return zc + cs__tile_stats_scalar(zero + k, nk - k, H, tiles_zero + k, hist, bins);
}

__attribute__((target("avx512f,avx512bw,popcnt"))) static uint64_t
cs__tile_stats_avx512(const uint32_t *zero, size_t nk, uint32_t height, uint64_t *tiles_zero, uint64_t *hist,
                      size_t bins)
{
    switch (height) {
    case 16: return cs__tile_stats_registers(zero, nk, 16, tiles_zero, hist, bins);
    case 8: return cs__tile_stats_registers(zero, nk, 8, tiles_zero, hist, bins);
    case 4: return cs__tile_stats_registers(zero, nk, 4, tiles_zero, hist, bins);
    default: break;
    }
    uint64_t counts[CS__VECTOR_BINS + 1] = {0};
    const __m512i vh = _mm512_set1_epi32((int)height);
    uint64_t zc = 0;
    size_t k = 0;
    for (; k + 64 <= nk; k += 64) {
        __m512i nz = cs__nonzero_bytes(zero + k, vh, tiles_zero + k, &zc);
        for (uint32_t b = 0; b <= height; b++)
            counts[b] += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(nz, _mm512_set1_epi8((char)b)));
    }
    for (uint32_t b = 0; b <= height; b++)
        hist[b] += counts[b];
    /* the copies of the remainder lie `bins` apart, which is more than
     * height + 1 for a partial last tile */
    return zc + cs__tile_stats_scalar(zero + k, nk - k, height, tiles_zero + k, hist, bins);
}
#endif

CS__CLONES uint64_t cs__tile_stats(const uint32_t *zero, size_t nk, uint32_t height, uint64_t *tiles_zero, uint64_t *hist,
                        size_t bins)
{
#if CS__HAVE_X86_DISPATCH
    static int have_avx512 = -1;
    if (have_avx512 < 0)
        have_avx512 = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
    if (have_avx512 && height <= CS__VECTOR_BINS && nk >= 64)
        return cs__tile_stats_avx512(zero, nk, height, tiles_zero, hist, bins);
#endif
    return cs__tile_stats_scalar(zero, nk, height, tiles_zero, hist, bins);
}
