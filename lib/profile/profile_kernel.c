/* Counting kernels of the profiler: how many rows of each feature column lie
 * below each threshold. This is the only per-element work of a profile, so it
 * is written for SIMD: a strip of features is held in vector registers while
 * the rows of a tile stream past, one compare-and-subtract per threshold per
 * vector. GCC vector extensions keep it one readable loop; target_clones
 * compiles it for AVX-512, AVX2 and baseline x86-64 and picks at load time. */
#include "profile_internal.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CS__CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CS__CLONES
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
    CS__ALWAYS_INLINE void NAME##_strip(const ELEM *x, size_t ld, size_t nrows, const ELEM *kt, const int T,    \
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
            memcpy(&v, x + r * ld, sizeof v);                                                                    \
            v &= mag;                                                                                            \
            for (int t = 0; t < T; t++)                                                                          \
                acc[t] -= (NAME##_vec)(v < thr[t]); /* true lanes are all ones, i.e. -1 */                       \
        }                                                                                                        \
        for (int t = 0; t < T; t++)                                                                              \
            for (int l = 0; l < NAME##_LANES; l++)                                                               \
                zero[(size_t)t * zstride + (size_t)l] += (uint32_t)acc[t][l];                                    \
    }                                                                                                            \
                                                                                                                 \
    CS__ALWAYS_INLINE void NAME##_scalar(const ELEM *x, size_t ld, size_t nrows, size_t nk, const ELEM *kt,     \
                                         int T, uint32_t *zero, size_t zstride)                                  \
    {                                                                                                            \
        for (size_t k = 0; k < nk; k++)                                                                          \
            for (size_t r = 0; r < nrows; r++) {                                                                 \
                ELEM v = x[r * ld + k] & (ELEM)(MAGMASK);                                                        \
                for (int t = 0; t < T; t++)                                                                      \
                    zero[(size_t)t * zstride + k] += v < kt[t];                                                  \
            }                                                                                                    \
    }                                                                                                            \
                                                                                                                 \
    CS__CLONES void cs__count_zeros_##NAME(const ELEM *x, size_t ld, size_t nrows, size_t nk, const ELEM *kt,   \
                                           int T, uint32_t *zero, size_t zstride)                                \
    {                                                                                                            \
        while (T > 0) {                                                                                          \
            int pass = T < CS__MAX_T_PER_PASS ? T : CS__MAX_T_PER_PASS;                                          \
            size_t k = 0;                                                                                        \
            for (; k + NAME##_LANES <= nk; k += NAME##_LANES) {                                                  \
                /* A literal T per case lets the compiler unroll the threshold loop                              \
                 * and keep every accumulator in a register. */                                                  \
                switch (pass) {                                                                                  \
                case 1: NAME##_strip(x + k, ld, nrows, kt, 1, zero + k, zstride); break;                         \
                case 2: NAME##_strip(x + k, ld, nrows, kt, 2, zero + k, zstride); break;                         \
                case 3: NAME##_strip(x + k, ld, nrows, kt, 3, zero + k, zstride); break;                         \
                case 4: NAME##_strip(x + k, ld, nrows, kt, 4, zero + k, zstride); break;                         \
                case 5: NAME##_strip(x + k, ld, nrows, kt, 5, zero + k, zstride); break;                         \
                case 6: NAME##_strip(x + k, ld, nrows, kt, 6, zero + k, zstride); break;                         \
                case 7: NAME##_strip(x + k, ld, nrows, kt, 7, zero + k, zstride); break;                         \
                default: NAME##_strip(x + k, ld, nrows, kt, 8, zero + k, zstride); break;                        \
                }                                                                                                \
            }                                                                                                    \
            NAME##_scalar(x + k, ld, nrows, nk - k, kt, pass, zero + k, zstride);                                \
            T -= pass;                                                                                           \
            kt += pass;                                                                                          \
            zero += (size_t)pass * zstride;                                                                      \
        }                                                                                                        \
    }

CS__DEFINE_KERNEL(u16, uint16_t, 0x7fffu)
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
