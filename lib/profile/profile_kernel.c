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

int cs__profile_force_avx512bw; /* test hook, see profile_internal.h */

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
cs__strip_u16_avx512(const unsigned char *x, size_t ld, size_t nrows, const __m512i *thr, const int T, void *zero,
                     size_t zstride, const bool bytes, const char *next)
{
    const __m512i mag = _mm512_set1_epi16(0x7fff), minus_one = _mm512_set1_epi16(-1);
    __m512i acc[CS__MAX_T_PER_PASS];
    for (int t = 0; t < CS__MAX_T_PER_PASS; t++)
        acc[t] = _mm512_setzero_si512();
    for (size_t r = 0; r < nrows; r++, x += ld * 2) {
        /* The rows of a tile are far apart: fetch this row's next strips
         * early; and, one line per load, the next tile into L2 in address
         * order (see cs__count_u16_avx512). */
        _mm_prefetch((const char *)x + 256, _MM_HINT_T0);
        _mm_prefetch(next + 64 * r, _MM_HINT_T1);
        __m512i v = _mm512_and_si512(_mm512_loadu_si512(x), mag);
        for (int t = 0; t < T; t++)
            acc[t] = _mm512_mask_sub_epi16(acc[t], _mm512_cmplt_epu16_mask(v, thr[t]), acc[t], minus_one);
    }
    for (int t = 0; t < T; t++) {
        if (bytes) { /* the byte kernel: a whole tile of at most 255 rows, stored */
            _mm256_storeu_si256((__m256i *)((uint8_t *)zero + (size_t)t * zstride), _mm512_cvtepi16_epi8(acc[t]));
            continue;
        }
        /* widen the 32 u16 lanes and add them to the u32 totals */
        uint32_t *z = (uint32_t *)zero + (size_t)t * zstride;
        __m512i lo = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(acc[t]));
        __m512i hi = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(acc[t], 1));
        _mm512_storeu_si512(z, _mm512_add_epi32(_mm512_loadu_si512(z), lo));
        _mm512_storeu_si512(z + 16, _mm512_add_epi32(_mm512_loadu_si512(z + 16), hi));
    }
}

/* Both 16-bit AVX-512 kernels; `bytes` is a literal at both call sites. */
__attribute__((target("avx512bw,avx512f"), always_inline)) static inline void
cs__count_u16_avx512(const void *data, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T, void *zero,
                     size_t zstride, const bool bytes)
{
    const unsigned char *x = data;
    const size_t es = bytes ? 1 : 4; /* of the counts */
    while (T > 0) {
        int pass = T < CS__MAX_T_PER_PASS ? T : CS__MAX_T_PER_PASS;
        __m512i thr[CS__MAX_T_PER_PASS];
        for (int t = 0; t < CS__MAX_T_PER_PASS; t++)
            thr[t] = _mm512_set1_epi16((short)(t < pass ? kt[t] : 0));
        size_t k = 0;
        for (; k + 32 <= nk; k += 32) {
            void *z = (char *)zero + k * es;
            /* The tile after this one (nrows rows down, contiguous where
             * ld == nk, as in a whole tensor) is prefetched into L2 while
             * this one is counted, a line per load and in address order:
             * a sequential stream, which memory serves at full speed, and
             * which keeps it busy while the tile's statistics are computed
             * between two calls, instead of 16 row streams restarting cold
             * at every tile. */
            const char *next = (const char *)x + nrows * ld * 2 + k / 32 * nrows * 64;
            switch (pass) {
            case 1: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 1, z, zstride, bytes, next); break;
            case 2: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 2, z, zstride, bytes, next); break;
            case 3: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 3, z, zstride, bytes, next); break;
            case 4: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 4, z, zstride, bytes, next); break;
            case 5: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 5, z, zstride, bytes, next); break;
            case 6: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 6, z, zstride, bytes, next); break;
            case 7: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 7, z, zstride, bytes, next); break;
            default: cs__strip_u16_avx512(x + k * 2, ld, nrows, thr, 8, z, zstride, bytes, next); break;
            }
        }
        if (!bytes)
            u16_generic_scalar(x + k * 2, ld, nrows, nk - k, kt, pass, (uint32_t *)zero + k, zstride);
        else
            for (; k < nk; k++) /* the features after the last whole vector */
                for (int t = 0; t < pass; t++) {
                    unsigned n = 0;
                    for (size_t r = 0; r < nrows; r++) {
                        uint16_t v;
                        memcpy(&v, x + (r * ld + k) * 2, 2);
                        n += (uint16_t)(v & 0x7fffu) < kt[t];
                    }
                    ((uint8_t *)zero)[(size_t)t * zstride + k] = (uint8_t)n;
                }
        T -= pass;
        kt += pass;
        zero = (char *)zero + (size_t)pass * zstride * es;
    }
}

__attribute__((target("avx512bw,avx512f"))) static void cs__count_zeros_u16_avx512(
    const void *data, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T, uint32_t *zero, size_t zstride)
{
    cs__count_u16_avx512(data, ld, nrows, nk, kt, T, zero, zstride, false);
}

__attribute__((target("avx512bw,avx512f"))) static void cs__count_zeros_u16_bytes_avx512(
    const void *data, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T, uint8_t *zero, size_t zstride)
{
    cs__count_u16_avx512(data, ld, nrows, nk, kt, T, zero, zstride, true);
}
#endif

/* AVX-512BW and AVX-512F, which the 16-bit kernels, the byte kernel and the
 * short-tile statistics use. */
bool cs__have_avx512bw(void)
{
#if CS__HAVE_X86_DISPATCH
    static int have = -1;
    if (have < 0)
        have = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f");
    return have;
#else
    return false;
#endif
}

void cs__count_zeros_u16(const void *x, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T,
                         uint32_t *zero, size_t zstride)
{
#if CS__HAVE_X86_DISPATCH
    if (cs__have_avx512bw()) {
        cs__count_zeros_u16_avx512(x, ld, nrows, nk, kt, T, zero, zstride);
        return;
    }
#endif
    cs__count_zeros_u16_generic(x, ld, nrows, nk, kt, T, zero, zstride);
}

void cs__count_zeros_u16_bytes(const void *x, size_t ld, size_t nrows, size_t nk, const uint16_t *kt, int T,
                               uint8_t *zero, size_t zstride)
{
#if CS__HAVE_X86_DISPATCH
    cs__count_zeros_u16_bytes_avx512(x, ld, nrows, nk, kt, T, zero, zstride);
#else
    (void)x, (void)ld, (void)nrows, (void)nk, (void)kt, (void)T, (void)zero, (void)zstride;
#endif
}

/* Per-tile statistics of one threshold: zero[k] = zero rows of feature k in a
 * completed tile of `height` rows. Adds 1 to tiles_zero[k] (a byte, which the
 * caller empties into wider totals before it can wrap) for every zero column
 * and to the non-zero-row histogram at bin height - zero[k] for every
 * column; returns the number of zero columns. In the scalar version runs of
 * equal counts are the common case (all-dense or all-zero columns), and
 * consecutive increments of one counter serialise on store-to-load
 * forwarding, so columns go round-robin to CS__HIST_COPIES interleaved copies
 * of the histogram (`bins` apart), which the caller sums. Tried and measured
 * slower here: counting the two extreme bins with vector compares and
 * compressing the rest (mispredicted variable-length loops on GELU data). */
#define CS__DEFINE_TILE_STATS_SCALAR(NAME, ELEM)                                                                 \
    CS__ALWAYS_INLINE uint64_t NAME(const ELEM *zero, size_t nk, uint32_t height, uint8_t *tiles_zero,            \
                                    uint64_t *hist, size_t bins)                                                   \
    {                                                                                                              \
        uint64_t zc = 0;                                                                                           \
        for (size_t k = 0; k < nk; k++) { /* vectorised by the compiler */                                         \
            uint8_t is_zero = zero[k] == height;                                                                   \
            tiles_zero[k] = (uint8_t)(tiles_zero[k] + is_zero);                                                    \
            zc += is_zero;                                                                                         \
        }                                                                                                          \
        size_t k = 0;                                                                                              \
        for (; k + CS__HIST_COPIES <= nk; k += CS__HIST_COPIES)                                                    \
            for (size_t c = 0; c < CS__HIST_COPIES; c++)                                                           \
                hist[c * bins + height - zero[k + c]]++;                                                           \
        for (; k < nk; k++)                                                                                        \
            hist[height - zero[k]]++;                                                                              \
        return zc;                                                                                                 \
    }

CS__DEFINE_TILE_STATS_SCALAR(cs__tile_stats_scalar, uint32_t)
CS__DEFINE_TILE_STATS_SCALAR(cs__tile_stats_scalar_u8, uint8_t)

#if CS__HAVE_X86_DISPATCH
/* Short tiles (few bins) with AVX-512: the counts as bytes, 64 columns at a
 * time. Up to CS__REGISTER_BINS bins (heights up to 16, the usual base
 * tile), each bin has a register of 64 byte counters that a compare and a
 * masked subtract advance, and the counters are summed once per call (or
 * every 255 groups, before a byte can overflow): about 2 instructions per
 * bin and 64 columns. Taller short tiles count each bin with a compare and a
 * popcount (4 instructions). Both beat a scalar increment per column while
 * there are at most CS__VECTOR_BINS bins. The counts come as 32-bit words
 * (narrowed here) or, from the byte kernel, as bytes (`u8`, a literal at
 * every call site). */
#define CS__VECTOR_BINS 24
#define CS__REGISTER_BINS 17
#define CS__AVX512_INLINE __attribute__((target("avx512f,avx512bw,popcnt"), always_inline)) static inline

/* The non-zero rows (height - zero[k]) of 64 columns as bytes; counts the
 * zero columns into tiles_zero and *zc. */
CS__AVX512_INLINE __m512i cs__nonzero_bytes(const void *counts, bool u8, uint32_t height, uint8_t *tiles_zero,
                                            uint64_t *zc)
{
    const __m512i vh = _mm512_set1_epi8((char)height);
    __m512i v;
    if (u8) {
        v = _mm512_loadu_si512(counts);
    } else {
        const uint32_t *zero = counts;
        __m128i q[4];
        for (int i = 0; i < 4; i++) /* counts <= height <= 255 */
            q[i] = _mm512_cvtepi32_epi8(_mm512_loadu_si512(zero + 16 * i));
        v = _mm512_inserti32x4(_mm512_castsi128_si512(q[0]), q[1], 1);
        v = _mm512_inserti32x4(v, q[2], 2);
        v = _mm512_inserti32x4(v, q[3], 3);
    }
    __mmask64 z = _mm512_cmpeq_epi8_mask(v, vh);
    __m512i tz = _mm512_loadu_si512(tiles_zero);
    _mm512_storeu_si512(tiles_zero, _mm512_mask_sub_epi8(tz, z, tz, _mm512_set1_epi8(-1)));
    *zc += (uint64_t)__builtin_popcountll(z);
    return _mm512_sub_epi8(vh, v); /* non-zero rows, <= height */
}

/* The columns from k on, one at a time. */
CS__AVX512_INLINE uint64_t cs__tile_stats_rest(const void *counts, bool u8, size_t k, size_t nk, uint32_t height,
                                               uint8_t *tiles_zero, uint64_t *hist, size_t bins)
{
    /* the copies lie `bins` apart, which is more than height + 1 for a
     * partial last tile */
    return u8 ? cs__tile_stats_scalar_u8((const uint8_t *)counts + k, nk - k, height, tiles_zero + k, hist, bins)
              : cs__tile_stats_scalar((const uint32_t *)counts + k, nk - k, height, tiles_zero + k, hist, bins);
}

/* H is a literal at every call site, so the H + 1 counters stay in registers. */
CS__AVX512_INLINE uint64_t cs__tile_stats_registers(const void *counts, bool u8, size_t nk, const uint32_t H,
                                                    uint8_t *tiles_zero, uint64_t *hist, size_t bins)
{
    const size_t es = u8 ? 1 : 4;
    __m512i acc[CS__REGISTER_BINS];
    for (uint32_t b = 0; b <= H; b++)
        acc[b] = _mm512_setzero_si512();
    const __m512i minus_one = _mm512_set1_epi8(-1);
    uint64_t zc = 0;
    size_t k = 0;
    for (unsigned groups = 0; k + 64 <= nk; k += 64) {
        __m512i nz = cs__nonzero_bytes((const char *)counts + k * es, u8, H, tiles_zero + k, &zc);
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
    return zc + cs__tile_stats_rest(counts, u8, k, nk, H, tiles_zero, hist, bins);
}

CS__AVX512_INLINE uint64_t cs__tile_stats_popcount(const void *counts, bool u8, size_t nk, uint32_t height,
                                                   uint8_t *tiles_zero, uint64_t *hist, size_t bins)
{
    const size_t es = u8 ? 1 : 4;
    uint64_t n[CS__VECTOR_BINS + 1] = {0};
    uint64_t zc = 0;
    size_t k = 0;
    for (; k + 64 <= nk; k += 64) {
        __m512i nz = cs__nonzero_bytes((const char *)counts + k * es, u8, height, tiles_zero + k, &zc);
        for (uint32_t b = 0; b <= height; b++)
            n[b] += (uint64_t)__builtin_popcountll(_mm512_cmpeq_epi8_mask(nz, _mm512_set1_epi8((char)b)));
    }
    for (uint32_t b = 0; b <= height; b++)
        hist[b] += n[b];
    return zc + cs__tile_stats_rest(counts, u8, k, nk, height, tiles_zero, hist, bins);
}

/* Heights up to 64 where the CPU also has AVX-512 VBMI, BITALG and GFNI (Ice
 * Lake, Zen 4 and later): the histogram by positions instead of by bins. A
 * table lookup (vpermb) turns each column's non-zero-row count v into its
 * one-hot byte of group v / 8 (bit v % 8), one vector per group of 8 bins;
 * seen as 8 x 8 bit matrices (8 columns by 8 bins), a GF(2) affine
 * transform with the identity transposes them, so that each byte holds, for
 * one bin, a bit per column; a byte popcount then counts 8 columns into
 * that bin. Four instructions per 8 bins and 64 columns, against a compare
 * and a masked subtract per bin (17 bins at height 16) or a scalar increment
 * per column (about 2 cycles at height 64). The byte counters take at most
 * 8 per step and are emptied every 31 steps. Bin 8G (the height itself when
 * it is a multiple of 8, as for 16 and 64) has no byte: it gets the columns
 * no other bin counted. */
#define CS__ONEHOT_INLINE                                                                                          \
    __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512bitalg,gfni,popcnt"), always_inline)) static inline

static const uint8_t cs__onehot_table[8][64] __attribute__((aligned(64))) = {
#define CS__ONEHOT_ROW(b)                                                                                          \
    {[8 * (b) + 0] = 1,  [8 * (b) + 1] = 2,  [8 * (b) + 2] = 4,  [8 * (b) + 3] = 8,                                \
     [8 * (b) + 4] = 16, [8 * (b) + 5] = 32, [8 * (b) + 6] = 64, [8 * (b) + 7] = 128}
    CS__ONEHOT_ROW(0), CS__ONEHOT_ROW(1), CS__ONEHOT_ROW(2), CS__ONEHOT_ROW(3),
    CS__ONEHOT_ROW(4), CS__ONEHOT_ROW(5), CS__ONEHOT_ROW(6), CS__ONEHOT_ROW(7),
#undef CS__ONEHOT_ROW
};

/* Adds the byte counters of group b (byte 8q + j: bin 8b + j, counted over
 * the columns q, 8 + q, ...) to hist[8b + j] for the bins below `bins`, and
 * returns their sum. */
CS__ONEHOT_INLINE uint64_t cs__onehot_flush(__m512i acc, uint32_t b, uint64_t *hist, size_t bins)
{
    __m512i w = _mm512_add_epi16(_mm512_cvtepu8_epi16(_mm512_castsi512_si256(acc)),
                                 _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(acc, 1)));
    __m256i h = _mm256_add_epi16(_mm512_castsi512_si256(w), _mm512_extracti64x4_epi64(w, 1));
    __m128i bin16 = _mm_add_epi16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    __m512i bin64 = _mm512_cvtepu16_epi64(bin16);
    size_t first = 8 * (size_t)b;
    __mmask8 m = bins >= first + 8 ? 0xff : (__mmask8)((1u << (bins - first)) - 1);
    _mm512_mask_storeu_epi64(hist + first, m, _mm512_add_epi64(_mm512_maskz_loadu_epi64(m, hist + first), bin64));
    return (uint64_t)_mm512_reduce_add_epi64(bin64);
}

/* G = ceil(height / 8) groups, a literal at every call site, so that the
 * tables and counters stay in registers. */
CS__ONEHOT_INLINE uint64_t cs__tile_stats_onehot(const void *counts, bool u8, size_t nk, uint32_t height, const int G,
                                                 uint8_t *tiles_zero, uint64_t *hist, size_t bins)
{
    const size_t es = u8 ? 1 : 4;
    const __m512i transpose = _mm512_set1_epi64(0x8040201008040201ll), cap = _mm512_set1_epi8(64);
    __m512i table[8], acc[8];
    for (int b = 0; b < G; b++) {
        table[b] = _mm512_load_si512(cs__onehot_table[b]);
        acc[b] = _mm512_setzero_si512();
    }
    uint64_t zc = 0, counted = 0;
    size_t k = 0;
    for (unsigned steps = 0; k + 64 <= nk; k += 64) {
        __m512i nz = cs__nonzero_bytes((const char *)counts + k * es, u8, height, tiles_zero + k, &zc);
        /* vpermb reads 6 index bits: at height 64, v = 64 would look up bin 0 */
        __mmask64 below_64 = G == 8 ? _mm512_cmplt_epu8_mask(nz, cap) : ~(__mmask64)0;
        for (int b = 0; b < G; b++) {
            __m512i onehot = b == 0 ? _mm512_maskz_permutexvar_epi8(below_64, nz, table[0])
                                    : _mm512_permutexvar_epi8(nz, table[b]);
            __m512i per_bin = _mm512_gf2p8affine_epi64_epi8(transpose, onehot, 0);
            acc[b] = _mm512_add_epi8(acc[b], _mm512_popcnt_epi8(per_bin));
        }
        if (++steps == 31 || k + 128 > nk) {
            for (int b = 0; b < G; b++) {
                counted += cs__onehot_flush(acc[b], (uint32_t)b, hist, bins);
                acc[b] = _mm512_setzero_si512();
            }
            steps = 0;
        }
    }
    if (height == 8u * (uint32_t)G) /* the bin without a byte */
        hist[height] += k - counted;
    return zc + cs__tile_stats_rest(counts, u8, k, nk, height, tiles_zero, hist, bins);
}

__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512bitalg,gfni,popcnt"))) static uint64_t
cs__tile_stats_by_position(const void *counts, bool u8, size_t nk, uint32_t height, uint8_t *tiles_zero,
                           uint64_t *hist, size_t bins)
{
#define CS__ONEHOT(W, G) cs__tile_stats_onehot(counts, W, nk, height, G, tiles_zero, hist, bins)
#define CS__GROUPS(G) (u8 ? CS__ONEHOT(true, G) : CS__ONEHOT(false, G))
    switch ((height + 7) / 8) {
    case 1: return CS__GROUPS(1);
    case 2: return CS__GROUPS(2);
    case 3: return CS__GROUPS(3);
    case 4: return CS__GROUPS(4);
    case 5: return CS__GROUPS(5);
    case 6: return CS__GROUPS(6);
    case 7: return CS__GROUPS(7);
    default: return CS__GROUPS(8);
    }
#undef CS__GROUPS
#undef CS__ONEHOT
}

/* AVX-512 VBMI, BITALG and GFNI, which the histogram by positions needs. */
static bool cs__have_onehot(void)
{
    static int have = -1;
    if (have < 0)
        have = cs__have_avx512bw() && __builtin_cpu_supports("avx512vbmi") &&
               __builtin_cpu_supports("avx512bitalg") && __builtin_cpu_supports("gfni");
    return have && !cs__profile_force_avx512bw;
}

/* Which AVX-512 histogram, if any, counts a tile of this height. */
static inline int cs__hist_path(uint32_t height, size_t nk)
{
    if (nk < 64 || !cs__have_avx512bw())
        return 0;
    if (height <= 64 && cs__have_onehot())
        return 2;
    return height <= CS__VECTOR_BINS ? 1 : 0;
}

__attribute__((target("avx512f,avx512bw,popcnt"))) static uint64_t
cs__tile_stats_avx512(const void *counts, bool u8, size_t nk, uint32_t height, uint8_t *tiles_zero, uint64_t *hist,
                      size_t bins)
{
#define CS__BY_WIDTH(CALL) (u8 ? CALL(true) : CALL(false))
#define CS__REG16(W) cs__tile_stats_registers(counts, W, nk, 16, tiles_zero, hist, bins)
#define CS__REG8(W) cs__tile_stats_registers(counts, W, nk, 8, tiles_zero, hist, bins)
#define CS__REG4(W) cs__tile_stats_registers(counts, W, nk, 4, tiles_zero, hist, bins)
#define CS__POPC(W) cs__tile_stats_popcount(counts, W, nk, height, tiles_zero, hist, bins)
    switch (height) {
    case 16: return CS__BY_WIDTH(CS__REG16);
    case 8: return CS__BY_WIDTH(CS__REG8);
    case 4: return CS__BY_WIDTH(CS__REG4);
    default: return CS__BY_WIDTH(CS__POPC);
    }
#undef CS__BY_WIDTH
#undef CS__REG16
#undef CS__REG8
#undef CS__REG4
#undef CS__POPC
}
#endif

/* The histogram path for counts in 32-bit words or in bytes (u8, a literal
 * at both call sites). */
CS__ALWAYS_INLINE uint64_t cs__tile_stats_any(const void *counts, bool u8, size_t nk, uint32_t height,
                                              uint8_t *tiles_zero, uint64_t *hist, size_t bins)
{
#if CS__HAVE_X86_DISPATCH
    switch (cs__hist_path(height, nk)) {
    case 2: return cs__tile_stats_by_position(counts, u8, nk, height, tiles_zero, hist, bins);
    case 1: return cs__tile_stats_avx512(counts, u8, nk, height, tiles_zero, hist, bins);
    default: break;
    }
#endif
    return u8 ? cs__tile_stats_scalar_u8(counts, nk, height, tiles_zero, hist, bins)
              : cs__tile_stats_scalar(counts, nk, height, tiles_zero, hist, bins);
}

CS__CLONES uint64_t cs__tile_stats(const uint32_t *zero, size_t nk, uint32_t height, uint8_t *tiles_zero,
                                   uint64_t *hist, size_t bins)
{
    return cs__tile_stats_any(zero, false, nk, height, tiles_zero, hist, bins);
}

CS__CLONES uint64_t cs__tile_stats_u8(const uint8_t *zero, size_t nk, uint32_t height, uint8_t *tiles_zero,
                                      uint64_t *hist, size_t bins)
{
    return cs__tile_stats_any(zero, true, nk, height, tiles_zero, hist, bins);
}
