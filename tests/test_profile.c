/* The profiler against hand-computed answers and against a brute-force
 * element loop written here independently of the engine. */
#include "colscope/profile.h"
#include "profile/profile_internal.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void setup(void) { dir = cs_test_mkdtemp(); }
static void teardown(void)
{
    cs_test_rmdir(dir);
    free(dir);
}
TestSuite(profile, .init = setup, .fini = teardown);

/* Stores values (given as a rows x features matrix in C order of the
 * original tensor) in a file of the dtype; returns the stored values as
 * doubles (after rounding to the dtype). */
static double *store(const char *name, cs_dtype dt, const double *v, const uint64_t *shape, int ndim, bool fortran,
                     cs_tensor *t)
{
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    size_t es = cs_dtype_size(dt);
    unsigned char *buf = malloc(n * es + 1);
    double *q = malloc(n * sizeof *q + 1);
    /* Physical index of C-order element i in Fortran order. */
    for (uint64_t i = 0; i < n; i++) {
        uint64_t phys = i;
        if (fortran) {
            uint64_t rem = i, idx[16] = {0}, s = 1;
            for (int d = ndim - 1; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            phys = 0;
            for (int d = 0; d < ndim; d++) {
                phys += idx[d] * s;
                s *= shape[d];
            }
        }
        double x = v[i];
        switch (dt) {
        case CS_DTYPE_F16: {
            uint16_t b = cs_double_to_f16(x);
            memcpy(buf + phys * 2, &b, 2);
            q[i] = cs_f16_to_double(b);
            break;
        }
        case CS_DTYPE_BF16: {
            uint16_t b = cs_double_to_bf16(x);
            memcpy(buf + phys * 2, &b, 2);
            q[i] = cs_bf16_to_double(b);
            break;
        }
        case CS_DTYPE_F32: {
            float f = (float)x;
            memcpy(buf + phys * 4, &f, 4);
            q[i] = f;
            break;
        }
        case CS_DTYPE_F64:
            memcpy(buf + phys * 8, &x, 8);
            q[i] = x;
            break;
        }
    }
    const char *descr[] = {"<f2", "<u2", "<f4", "<f8"};
    char *p = cs_test_path(dir, name);
    cs_test_write_npy(p, descr[dt], fortran, shape, ndim, buf, n * es, 1);
    cs_open_options o = {.u2_as_bf16 = true};
    cs_error err;
    cr_assert_eq(cs_npy_read_header(p, &o, t, &err), CS_OK, "%s", err.msg);
    free(p);
    free(buf);
    return q;
}

/* Reference: matrix m[r][k] from C-order values and a feature axis. */
static double *as_matrix(const double *v, const uint64_t *shape, int ndim, int fa, uint64_t *rows, uint64_t *F)
{
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    *F = shape[fa];
    *rows = n / *F;
    double *m = malloc(n * sizeof *m + 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t rem = i, idx[16] = {0};
        for (int d = ndim - 1; d >= 0; d--) {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        uint64_t r = 0;
        for (int d = 0; d < ndim; d++)
            if (d != fa)
                r = r * shape[d] + idx[d];
        m[r * *F + idx[fa]] = v[i];
    }
    return m;
}

typedef struct ref_cell {
    uint64_t zero_elements, columns, zero_columns;
    uint64_t *hist;
    uint64_t *chan_zero;
} ref_cell;

static ref_cell reference(const double *m, uint64_t rows, uint64_t F, double t, uint32_t h)
{
    ref_cell c = {0};
    c.hist = calloc(h + 1, sizeof *c.hist);
    c.chan_zero = calloc(F, sizeof *c.chan_zero);
    for (uint64_t k = 0; k < F; k++)
        for (uint64_t r0 = 0; r0 < rows; r0 += h) {
            uint64_t nz = 0;
            for (uint64_t r = r0; r < rows && r < r0 + h; r++) {
                bool z = fabs(m[r * F + k]) < t;
                c.zero_elements += z;
                c.chan_zero[k] += z;
                nz += !z;
            }
            c.columns++;
            c.zero_columns += nz == 0;
            c.hist[nz]++;
        }
    return c;
}

static void check_against_reference(const cs_tensor *t, const double *stored, const uint64_t *shape, int ndim,
                                    int fa, const double *ths, size_t nt, const uint32_t *hs, size_t nh,
                                    int threads)
{
    cs_profile_config cfg = {ths, nt, hs, nh, fa, threads, true};
    cs_profile p;
    cs_error err;
    cr_assert_eq(cs_profile_tensor(t, &cfg, &p, &err), CS_OK, "%s", err.msg);
    uint64_t rows, F;
    double *m = as_matrix(stored, shape, ndim, fa < 0 ? ndim + fa : fa, &rows, &F);
    cr_assert_eq(p.rows, rows);
    cr_assert_eq(p.features, F);
    for (size_t ti = 0; ti < nt; ti++)
        for (size_t hi = 0; hi < nh; hi++) {
            ref_cell r = reference(m, rows, F, ths[ti], hs[hi]);
            const cs_profile_cell *c = cs_profile_at(&p, ti, hi);
            cr_assert_eq(c->elements, rows * F);
            cr_assert_eq(c->zero_elements, r.zero_elements, "t=%g h=%u zero elements %llu vs %llu", ths[ti], hs[hi],
                         (unsigned long long)c->zero_elements, (unsigned long long)r.zero_elements);
            cr_assert_eq(c->columns, r.columns);
            cr_assert_eq(c->zero_columns, r.zero_columns, "t=%g h=%u zero columns %llu vs %llu", ths[ti], hs[hi],
                         (unsigned long long)c->zero_columns, (unsigned long long)r.zero_columns);
            for (uint32_t b = 0; b <= hs[hi]; b++)
                cr_assert_eq(c->nnz_rows_hist[b], r.hist[b], "hist bin %u", b);
            for (uint64_t k = 0; k < F; k++)
                cr_assert_eq(p.channel_zero_rate[ti * F + k], (double)r.chan_zero[k] / (double)rows);
            /* Mask: bit set iff the column has a non-zero element. */
            for (uint64_t tile = 0; tile < c->mask.tiles; tile++) {
                uint64_t nnz_cols = 0;
                for (uint64_t k = 0; k < F; k++) {
                    bool nz = false;
                    for (uint64_t rr = tile * hs[hi]; rr < rows && rr < (tile + 1) * hs[hi]; rr++)
                        nz |= !(fabs(m[rr * F + k]) < ths[ti]);
                    cr_assert_eq(cs_colmask_get(&c->mask, tile, k), nz);
                    nnz_cols += nz;
                }
                cr_assert_eq(c->mask.nonzero[tile], nnz_cols);
            }
            free(r.hist);
            free(r.chan_zero);
        }
    free(m);
    cs_profile_free(&p);
}

Test(profile, hand_computed_answer)
{
    /* 5 rows x 3 features: column 0 always tiny, column 1 non-zero only in
     * row 4, column 2 always large. Tiles of 2 rows: [0,1], [2,3], [4]. */
    double v[15] = {0.0001, 0.0, 1, -0.0002, 0, 2, 0, 0.0005, -3, 0, 0, 4, 0.0009, 0.5, 5};
    uint64_t shape[2] = {5, 3};
    cs_tensor t;
    double *q = store("hand.npy", CS_DTYPE_F64, v, shape, 2, false, &t);
    double th = 0.001;
    uint32_t h = 2;
    cs_profile_config cfg = {&th, 1, &h, 1, -1, 1, false};
    cs_profile p;
    cs_error err;
    cr_assert_eq(cs_profile_tensor(&t, &cfg, &p, &err), CS_OK, "%s", err.msg);
    const cs_profile_cell *c = cs_profile_at(&p, 0, 0);
    cr_assert_eq(c->elements, 15);
    cr_assert_eq(c->zero_elements, 9);
    cr_assert_eq(c->columns, 9);
    cr_assert_eq(c->zero_columns, 5);
    cr_assert_eq(c->nnz_rows_hist[0], 5);
    cr_assert_eq(c->nnz_rows_hist[1], 2);
    cr_assert_eq(c->nnz_rows_hist[2], 2);
    cr_assert_float_eq(c->element_sparsity, 9.0 / 15, 1e-15);
    cr_assert_float_eq(c->column_sparsity, 5.0 / 9, 1e-15);
    cr_assert_float_eq(c->gap_pp, 100 * (9.0 / 15 - 5.0 / 9), 1e-12);
    cr_assert_float_eq(p.channel_zero_rate[0], 1.0, 0);
    cr_assert_float_eq(p.channel_zero_rate[1], 0.8, 1e-15);
    cr_assert_float_eq(p.channel_zero_rate[2], 0.0, 0);
    /* Independence: two tiles of height 2 and one of height 1. */
    double s = 0.6;
    cr_assert_float_eq(c->pred_independent, (2 * s * s + s) / 3, 1e-15);
    /* Per channel: (1 + (2*0.64+0.8)/3 + 0) / 3 */
    cr_assert_float_eq(c->pred_channel, (1.0 + (2 * 0.64 + 0.8) / 3) / 3, 1e-15);
    /* Channel 0 is zero in all 3 tiles: one dead channel of 3. */
    cr_assert_float_eq(c->dead_channel_share, 1.0 / 3, 1e-15);
    /* Gini of non-zero rates {0, 0.2, 1}: sum_i (2i-n-1) x_i / (n sum) = (0*-2 + 0.2*0 + 1*2)/(3*1.2) */
    cr_assert_float_eq(p.gini_nonzero[0], 2.0 / 3.6, 1e-15);
    cs_profile_free(&p);
    cs_tensor_free(&t);
    free(q);
}

Test(profile, special_values)
{
    /* NaN is never zero, inf never, -0 always; threshold 0 makes nothing zero. */
    double v[6] = {NAN, -0.0, INFINITY, -INFINITY, 0.0, 1e-30};
    uint64_t shape[2] = {6, 1};
    for (int dt = 0; dt < 4; dt++) {
        cs_tensor t;
        double *q = store("sp.npy", (cs_dtype)dt, v, shape, 2, false, &t);
        double ths[2] = {0.0, 0.5};
        uint32_t h = 1;
        cs_profile_config cfg = {ths, 2, &h, 1, -1, 1, false};
        cs_profile p;
        cs_error err;
        cr_assert_eq(cs_profile_tensor(&t, &cfg, &p, &err), CS_OK);
        cr_assert_eq(cs_profile_at(&p, 0, 0)->zero_elements, 0);
        /* -0, 0 and 1e-30 (which is 0 or tiny in every dtype) */
        cr_assert_eq(cs_profile_at(&p, 1, 0)->zero_elements, 3, "dtype %d", dt);
        cs_profile_free(&p);
        cs_tensor_free(&t);
        free(q);
    }
}

/* Values that exercise thresholds: exact zeros, tiny, near thresholds, big,
 * whole dead channels and whole zero rows. */
static double *random_values(uint64_t n, uint64_t F, uint64_t seed)
{
    uint64_t st = seed;
    double *v = malloc(n * sizeof *v + 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = i % F;
        double u = cs_test_uniform(&st);
        double x;
        if (k % 7 == 3)
            x = (u - 0.5) * 0.0015; /* mostly below 0.001, sometimes not */
        else if (u < 0.2)
            x = 0;
        else if (u < 0.5)
            x = (cs_test_uniform(&st) - 0.5) * 0.02;
        else if (u < 0.52)
            x = 0.01;
        else
            x = (cs_test_uniform(&st) - 0.5) * 4;
        v[i] = x;
    }
    return v;
}

Test(profile, matches_reference_all_dtypes_and_odd_shapes)
{
    const uint64_t shapes[][3] = {{1, 1, 1}, {1, 7, 3}, {2, 33, 65}, {3, 50, 64}, {1, 333, 130}, {4, 17, 9}};
    const double ths[] = {0.001, 0.005, 0.01, 0.05};
    const uint32_t hs[] = {1, 3, 16, 17, 256};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int dt = 0; dt < 4; dt++) {
            uint64_t n = shapes[s][0] * shapes[s][1] * shapes[s][2];
            double *v = random_values(n, shapes[s][2], 11 + s * 4 + (uint64_t)dt);
            cs_tensor t;
            double *q = store("r.npy", (cs_dtype)dt, v, shapes[s], 3, false, &t);
            check_against_reference(&t, q, shapes[s], 3, -1, ths, 4, hs, 5, 1);
            check_against_reference(&t, q, shapes[s], 3, -1, ths, 2, hs + 2, 2, 2);
            cs_tensor_free(&t);
            free(q);
            free(v);
        }
}

Test(profile, feature_axis_and_fortran_order)
{
    const uint64_t shape[3] = {3, 40, 70};
    uint64_t n = 3 * 40 * 70;
    double *v = random_values(n, 70, 5);
    const double ths[] = {0.001, 0.01};
    const uint32_t hs[] = {4, 16, 30};
    for (int fortran = 0; fortran < 2; fortran++)
        for (int fa = 0; fa < 3; fa++) {
            cs_tensor t;
            double *q = store("fa.npy", CS_DTYPE_F32, v, shape, 3, fortran, &t);
            check_against_reference(&t, q, shape, 3, fa, ths, 2, hs, 3, 2);
            cs_tensor_free(&t);
            free(q);
        }
    free(v);
}

/* Stores v (rows x feat, fp16) as `name` and checks the profile against the
 * reference with each thread count in threads[]. */
static void check_f16_matrix(const char *name, const double *v, uint64_t rows, uint64_t feat, const double *ths,
                             int nth, const uint32_t *hs, int nh, const int *threads, size_t nthreads)
{
    const uint64_t shape[2] = {rows, feat};
    cs_tensor t;
    double *q = store(name, CS_DTYPE_F16, v, shape, 2, false, &t);
    for (size_t i = 0; i < nthreads; i++)
        check_against_reference(&t, q, shape, 2, -1, ths, nth, hs, nh, threads[i]);
    cs_tensor_free(&t);
    free(q);
}

Test(profile, many_thresholds_and_threads)
{
    /* 12 thresholds exercise the kernel's passes of 8; 4096 rows x 200
     * features spread over two threads. */
    double *v = random_values(4096 * 200, 200, 9);
    double ths[12];
    for (int i = 0; i < 12; i++)
        ths[i] = 0.0005 * (i + 1);
    const uint32_t hs[] = {16, 32, 128};
    check_f16_matrix("m.npy", v, 4096, 200, ths, 12, hs, 3, (const int[]){2}, 1);
    free(v);
}

Test(profile, tiles_taller_than_a_kernel_call_and_many_chunks)
{
    /* 70,000 rows exceed one 16-bit kernel call; 300 features of F16 make
     * chunks of 4 MB / 600 B rows, so rows also cross chunk boundaries. */
    double *v = random_values(70000 * 300, 300, 3);
    for (uint64_t i = 0; i < 70000 * 300; i++)
        if (i % 300 < 100)
            v[i] *= 1e-4; /* dead-ish channels so tall columns can be zero */
    const double ths[] = {0.001, 0.05};
    const uint32_t hs[] = {70000, 65536, 1000};
    check_f16_matrix("tall.npy", v, 70000, 300, ths, 2, hs, 3, (const int[]){2}, 1);
    free(v);
}

/* A fp16 tensor of 300 features (44 columns after the vector groups of 64)
 * and `rows` rows (a partial last tile) against the reference, with one of
 * the profile's test hooks set. */
static void check_f16_path(int *hook, uint64_t rows, uint64_t seed)
{
    double *v = random_values(rows * 300, 300, seed);
    const double ths[] = {0.001, 0.05};
    const uint32_t hs[] = {16, 64, 100, 256, 512}; /* bytes from bytes, words from bytes and from words */
    *hook = 1;
    check_f16_matrix("path.npy", v, rows, 300, ths, 2, hs, 5, (const int[]){1, 2}, 2);
    *hook = 0;
    free(v);
}

Test(profile, pread_path_matches_reference)
{
    /* Contiguous tensors are counted from the mapping; where it cannot be
     * populated they are read with pread into a buffer instead. The partial
     * tile and the 44-column remainder together once put histogram counts
     * of the partial tile in the wrong bins. */
    check_f16_path(&cs__profile_force_pread, 5000, 21);
}

Test(profile, word_counting_path_matches_reference)
{
    /* 16-bit data counted in 32-bit words, as without AVX-512BW. */
    check_f16_path(&cs__profile_force_words, 3000, 23);
}

Test(profile, tile_stats_match_plain_counting)
{
    /* Every histogram path (by positions up to height 64 where the CPU has
     * VBMI, BITALG and GFNI; otherwise byte counters in registers for
     * heights 4, 8 and 16, popcounts up to 24; scalar copies above), for
     * counts in 32-bit words and in bytes, against one loop, with column
     * counts that end mid-vector and that exceed 31 and 255 vector groups. */
    uint64_t st = 7;
    const uint32_t heights[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 48, 56, 57, 63, 64, 65, 256};
    const size_t nks[] = {0, 1, 63, 64, 65, 130, 2560, 64 * 300 + 17};
    uint32_t *zero = malloc(sizeof *zero * (64 * 300 + 17));
    uint8_t *zero8 = malloc(64 * 300 + 17);
    uint8_t *tz_got = malloc(64 * 300 + 17), *tz_want = malloc(64 * 300 + 17);
    cr_assert(zero && zero8 && tz_got && tz_want);
    for (int force = 0; force < 2; force++)
        for (size_t hi = 0; hi < sizeof heights / sizeof heights[0]; hi++)
            for (size_t ni = 0; ni < 2 * sizeof nks / sizeof nks[0]; ni++) {
                /* the second time as a partial last tile of h rows of a height
                 * 2h + 3, whose histogram copies lie 2h + 4 bins apart */
                uint32_t h = heights[hi];
                size_t nk = nks[ni % (sizeof nks / sizeof nks[0])];
                size_t bins = ni < sizeof nks / sizeof nks[0] ? h + 1 : 2 * h + 4;
                for (size_t k = 0; k < nk; k++) { /* GELU-like: many all-dense or all-zero columns */
                    uint64_t r = cs_test_rand(&st);
                    zero[k] = r % 3 == 0 ? 0 : r % 3 == 1 ? h : (uint32_t)((r >> 8) % (h + 1));
                }
                uint64_t *hist = calloc(bins * CS__HIST_COPIES, sizeof *hist), *want = calloc(bins, sizeof *want);
                cr_assert(hist && want);
                uint64_t zc_want = 0;
                for (size_t k = 0; k < nk; k++) {
                    tz_want[k] = (uint8_t)(k % 251 + (zero[k] == h)); /* existing counts are added to */
                    zc_want += zero[k] == h;
                    want[h - zero[k]]++;
                }
                cs__profile_force_avx512bw = force;
                for (int width = 0; width < (h <= 255 ? 2 : 1); width++) { /* 32-bit counts, then bytes */
                    for (size_t k = 0; k < nk; k++) {
                        tz_got[k] = (uint8_t)(k % 251);
                        zero8[k] = (uint8_t)zero[k];
                    }
                    memset(hist, 0, bins * CS__HIST_COPIES * sizeof *hist);
                    uint64_t zc = width ? cs__tile_stats_u8(zero8, nk, h, tz_got, hist, bins)
                                        : cs__tile_stats(zero, nk, h, tz_got, hist, bins);
                    for (size_t c = 1; c < CS__HIST_COPIES; c++)
                        for (size_t b = 0; b < bins; b++)
                            hist[b] += hist[c * bins + b];
                    cr_assert_eq(zc, zc_want, "h=%u nk=%zu width=%d force=%d", h, nk, width, force);
                    cr_assert_arr_eq(hist, want, bins * sizeof *want, "histogram h=%u nk=%zu bins=%zu width=%d force=%d",
                                     h, nk, bins, width, force);
                    cr_assert_arr_eq(tz_got, tz_want, nk, "tiles_zero h=%u nk=%zu width=%d force=%d", h, nk, width,
                                     force);
                }
                cs__profile_force_avx512bw = 0;
                free(hist);
                free(want);
            }
    free(zero);
    free(zero8);
    free(tz_got);
    free(tz_want);
}

Test(profile, avx512bw_histograms_match_reference)
{
    /* The whole profile with the histograms of CPUs without VBMI, BITALG and GFNI. */
    check_f16_path(&cs__profile_force_avx512bw, 3000, 29);
}

Test(profile, byte_kernel_matches_scalar_reference)
{
    if (!cs__have_avx512bw())
        return; /* the profile counts in 32-bit words here, tested below */
    uint64_t st = 99;
    const size_t rows_values[] = {1, 16, 37, 255}, nk_values[] = {1, 31, 32, 33, 64, 100};
    enum { MAXR = 255, MAXK = 100, LD = 105 };
    uint16_t *x = malloc(sizeof *x * MAXR * LD);
    cr_assert(x);
    for (size_t ri = 0; ri < sizeof rows_values / sizeof rows_values[0]; ri++)
        for (size_t ni = 0; ni < sizeof nk_values / sizeof nk_values[0]; ni++)
            for (int T = 1; T <= 12; T += 5) {
                size_t rows = rows_values[ri], nk = nk_values[ni];
                uint16_t k16[12];
                uint64_t r16[12];
                for (int i = 0; i < T; i++)
                    r16[i] = k16[i] = (uint16_t)(cs_test_rand(&st) & 0x7fff);
                for (size_t i = 0; i < rows * LD; i++)
                    x[i] = (uint16_t)cs_test_rand(&st);
                uint8_t got[12 * MAXK];
                uint32_t want[12 * MAXK] = {0};
                memset(got, 0xab, sizeof got); /* stored, not added */
                cs__count_zeros_u16_bytes(x + 1, LD, rows, nk, k16, T, got, nk); /* unaligned rows */
                cs__count_zeros_ref(x + 1, 2, LD, rows, nk, r16, T, want, nk);
                for (size_t i = 0; i < (size_t)T * nk; i++)
                    cr_assert_eq(got[i], want[i], "rows=%zu nk=%zu T=%d at %zu", rows, nk, T, i);
            }
    free(x);
}

Test(profile, rows_wider_than_a_chunk)
{
    /* 3 rows of 2.2 M fp16 features: each row is more than a 4 MB chunk,
     * which once made the chunk zero rows (a division by zero). */
    double *v = random_values(3 * 2200000, 2200000, 31);
    const double ths[] = {0.01};
    const uint32_t hs[] = {1, 2};
    check_f16_matrix("wide.npy", v, 3, 2200000, ths, 1, hs, 2, (const int[]){2}, 1);
    free(v);
}

Test(profile, kernels_match_scalar_reference)
{
    uint64_t st = 42;
    const size_t rows = 37, nk_values[] = {1, 31, 32, 33, 64, 100};
    for (size_t ni = 0; ni < sizeof nk_values / sizeof nk_values[0]; ni++) {
        size_t nk = nk_values[ni], ld = nk + 5;
        for (int T = 1; T <= 12; T++) {
            uint64_t kt[12];
            for (int i = 0; i < T; i++)
                kt[i] = cs_test_rand(&st);
            uint16_t x16[37 * 105];
            uint32_t x32[37 * 105];
            uint64_t x64[37 * 105];
            for (size_t i = 0; i < rows * ld; i++) {
                x64[i] = cs_test_rand(&st);
                x32[i] = (uint32_t)x64[i];
                x16[i] = (uint16_t)x64[i];
            }
            uint16_t k16[12];
            uint32_t k32[12];
            uint64_t r16[12], r32[12];
            for (int i = 0; i < T; i++) {
                k16[i] = (uint16_t)(kt[i] & 0x7fff);
                k32[i] = (uint32_t)(kt[i] & 0x7fffffff);
                r16[i] = k16[i];
                r32[i] = k32[i];
            }
            uint32_t got[12 * 100] = {0}, want[12 * 100] = {0};
            cs__count_zeros_u16(x16, ld, rows, nk, k16, T, got, nk);
            cs__count_zeros_ref(x16, 2, ld, rows, nk, r16, T, want, nk);
            cr_assert_arr_eq(got, want, sizeof got, "u16 nk=%zu T=%d", nk, T);
            memset(got, 0, sizeof got);
            memset(want, 0, sizeof want);
            cs__count_zeros_u32(x32, ld, rows, nk, k32, T, got, nk);
            cs__count_zeros_ref(x32, 4, ld, rows, nk, r32, T, want, nk);
            cr_assert_arr_eq(got, want, sizeof got, "u32 nk=%zu T=%d", nk, T);
            memset(got, 0, sizeof got);
            memset(want, 0, sizeof want);
            cs__count_zeros_u64(x64, ld, rows, nk, kt, T, got, nk);
            cs__count_zeros_ref(x64, 8, ld, rows, nk, kt, T, want, nk);
            cr_assert_arr_eq(got, want, sizeof got, "u64 nk=%zu T=%d", nk, T);
        }
    }
}

/* ---- taxonomy on tensors built with a known mechanism ------------------ */

static cs_taxonomy classify(const char *name, const double *v, uint64_t rows, uint64_t F, double th, uint32_t h)
{
    uint64_t shape[2] = {rows, F};
    cs_tensor t;
    double *q = store(name, CS_DTYPE_F32, v, shape, 2, false, &t);
    cs_profile_config cfg = {&th, 1, &h, 1, -1, 1, false};
    cs_profile p;
    cs_error err;
    cr_assert_eq(cs_profile_tensor(&t, &cfg, &p, &err), CS_OK);
    cs_taxonomy tax = p.cells[0].taxonomy;
    cs_profile_free(&p);
    cs_tensor_free(&t);
    free(q);
    return tax;
}

Test(profile, taxonomy_mechanisms)
{
    uint64_t st = 1;
    const uint64_t R = 512, F = 256;
    double *v = malloc(R * F * sizeof *v);
    /* i.i.d. zeros with s = 0.8: tall tiles have none -> dispersion */
    for (uint64_t i = 0; i < R * F; i++)
        v[i] = cs_test_uniform(&st) < 0.8 ? 0.0 : 1.0;
    cr_assert_eq(classify("iid.npy", v, R, F, 0.5, 128), CS_TAXONOMY_DISPERSION);
    /* same, 3-row tiles: s^3 = 0.51 -> dimension-driven */
    cr_assert_eq(classify("short.npy", v, R, F, 0.5, 3), CS_TAXONOMY_DIMENSION);
    /* 40% dead channels, others dense-ish i.i.d. -> concentration */
    for (uint64_t i = 0; i < R * F; i++)
        v[i] = (i % F) < F * 2 / 5 ? 0.0 : (cs_test_uniform(&st) < 0.5 ? 0.0 : 1.0);
    cr_assert_eq(classify("dead.npy", v, R, F, 0.5, 128), CS_TAXONOMY_CONCENTRATION);
    /* zeros in whole token blocks (half of the tiles all-zero), no channel
     * structure -> co-location */
    for (uint64_t i = 0; i < R * F; i++) {
        uint64_t r = i / F;
        v[i] = (r / 128) % 2 == 0 ? 0.0 : (cs_test_uniform(&st) < 0.3 ? 0.0 : 1.0);
    }
    cr_assert_eq(classify("block.npy", v, R, F, 0.5, 128), CS_TAXONOMY_COLOCATION);
    /* almost no zeros -> dense */
    for (uint64_t i = 0; i < R * F; i++)
        v[i] = cs_test_uniform(&st) < 0.05 ? 0.0 : 1.0;
    cr_assert_eq(classify("dense.npy", v, R, F, 0.5, 16), CS_TAXONOMY_DENSE);
    free(v);
}

Test(profile, colmask_compute_and_errors)
{
    double v[12] = {0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0};
    uint64_t shape[2] = {4, 3};
    cs_tensor t;
    double *q = store("cm.npy", CS_DTYPE_F32, v, shape, 2, false, &t);
    cs_colmask m;
    cs_error err;
    cr_assert_eq(cs_colmask_compute(&t, -1, 0.5, 2, 1, &m, &err), CS_OK);
    cr_assert_eq(m.tiles, 2);
    cr_assert(!cs_colmask_get(&m, 0, 0) && !cs_colmask_get(&m, 0, 1) && cs_colmask_get(&m, 0, 2));
    cr_assert(!cs_colmask_get(&m, 1, 0) && cs_colmask_get(&m, 1, 1) && !cs_colmask_get(&m, 1, 2));
    cr_assert_eq(m.nonzero[0], 1);
    cr_assert_eq(m.nonzero[1], 1);
    cs_colmask_free(&m);
    cr_assert_eq(cs_colmask_compute(&t, 5, 0.5, 2, 1, &m, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "feature axis 5"));
    cr_assert_eq(cs_colmask_compute(&t, -1, -1.0, 2, 1, &m, &err), CS_EINPUT);
    cr_assert_eq(cs_colmask_compute(&t, -1, 0.5, 0, 1, &m, &err), CS_EINPUT);
    cs_tensor_free(&t);
    free(q);
}

Test(profile, empty_tensor_is_an_error)
{
    uint64_t shape[2] = {0, 5};
    char *p = cs_test_path(dir, "e.npy");
    cs_test_write_npy(p, "<f4", false, shape, 2, NULL, 0, 1);
    cs_tensor t;
    cs_error err;
    cr_assert_eq(cs_npy_read_header(p, NULL, &t, &err), CS_OK);
    double th = 0.1;
    uint32_t h = 16;
    cs_profile_config cfg = {&th, 1, &h, 1, -1, 1, false};
    cs_profile prof;
    cr_assert_eq(cs_profile_tensor(&t, &cfg, &prof, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "e.npy") && strstr(err.msg, "no elements"));
    cs_tensor_free(&t);
    free(p);
}
