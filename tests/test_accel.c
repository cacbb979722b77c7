/* The accelerator model: with ideal memory it equals the compute model
 * exactly; its invariants hold on many shapes; layouts fetch what they must. */
#include "colscope/accel.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Random mask: each (tile, column) non-zero with probability p, plus whole
 * dead columns. */
static cs_colmask random_mask(uint64_t rows, uint64_t K, uint32_t h, double p, uint64_t *st)
{
    cs_colmask m;
    memset(&m, 0, sizeof m);
    m.rows = rows, m.features = K, m.tile_rows = h, m.tiles = cdiv(rows, h), m.words_per_tile = cdiv(K, 64);
    m.bits = calloc(m.tiles * m.words_per_tile + 1, 8);
    m.nonzero = calloc(m.tiles + 1, 8);
    for (uint64_t t = 0; t < m.tiles; t++)
        for (uint64_t k = 0; k < K; k++)
            if (k % 5 != 2 && cs_test_uniform(st) < p) {
                m.bits[t * m.words_per_tile + k / 64] |= 1ull << (k % 64);
                m.nonzero[t]++;
            }
    return m;
}

static void machine(cs_machine *m, uint64_t R, uint64_t C, cs_dataflow df, cs_mem_kind mem)
{
    cs_machine_init_default(m);
    m->array.rows = R, m->array.cols = C, m->array.dataflow = df;
    m->memory = mem;
    m->bandwidth_gbps = 16;
    m->ifmap_sram_bytes = 64 * 1024;
    m->filter_sram_bytes = 64 * 1024;
    m->ofmap_sram_bytes = 64 * 1024;
}

Test(accel, ideal_memory_equals_compute_model)
{
    uint64_t st = 17;
    cs_error err;
    for (int n = 0; n < 60; n++) {
        uint64_t R = 4 + cs_test_rand(&st) % 29, C = 4 + cs_test_rand(&st) % 29;
        uint64_t M = 1 + cs_test_rand(&st) % 300, N = 1 + cs_test_rand(&st) % 200, K = 1 + cs_test_rand(&st) % 300;
        cs_machine m;
        machine(&m, R, C, (cs_dataflow)(n % 3), CS_MEM_IDEAL);
        cs_layer l = cs_test_gemm(M, N, K);
        uint64_t h = cs_skip_tile_rows(&m.array, &l, &m.skip);
        cs_colmask sk = random_mask(M, K, (uint32_t)h, 0.3, &st);
        cs_colmask lm = random_mask(M, K, (uint32_t)cs_accel_layout_tile_rows(&m, &l), 0.3, &st);
        cs_compute_stats dense;
        cr_assert_eq(cs_systolic_dense(&m.array, &l, &dense, &err), CS_OK);
        cs_skip_stats skip;
        cr_assert_eq(cs_systolic_skip(&m.array, &l, &sk, &m.skip, &skip, &err), CS_OK);
        cs_accel_layer al = {&l, &sk, &lm};
        for (int lay = 0; lay < CS_LAYOUT_COUNT; lay++)
            for (int s = 0; s < 2; s++) {
                cs_accel_result r;
                cr_assert_eq(cs_accel_simulate(&m, &al, (cs_layout)lay, s, &r, &err), CS_OK, "%s", err.msg);
                uint64_t want = s ? skip.cycles : dense.cycles;
                cr_assert_eq(r.compute_cycles, want, "df %d layout %d skip %d", n % 3, lay, s);
                cr_assert_eq(r.total_cycles, want, "df %d layout %d skip %d: total %llu compute %llu", n % 3, lay, s,
                             (unsigned long long)r.total_cycles, (unsigned long long)want);
                cr_assert_eq(r.stall_cycles, 0);
            }
        free(sk.bits), free(sk.nonzero), free(lm.bits), free(lm.nonzero);
        cs_machine_free(&m);
    }
}

Test(accel, invariants_with_finite_bandwidth)
{
    uint64_t st = 23;
    cs_error err;
    for (int n = 0; n < 40; n++) {
        uint64_t R = 8 + cs_test_rand(&st) % 25, C = 8 + cs_test_rand(&st) % 25;
        uint64_t M = 16 + cs_test_rand(&st) % 400, N = 8 + cs_test_rand(&st) % 200, K = 8 + cs_test_rand(&st) % 300;
        cs_machine m;
        machine(&m, R, C, (cs_dataflow)(n % 3), CS_MEM_BANDWIDTH);
        m.bandwidth_gbps = 2 + (double)(cs_test_rand(&st) % 60);
        cs_layer l = cs_test_gemm(M, N, K);
        uint64_t h = cs_skip_tile_rows(&m.array, &l, &m.skip), hl = cs_accel_layout_tile_rows(&m, &l);
        cs_colmask sk = random_mask(M, K, (uint32_t)h, 0.25, &st);
        cs_colmask lm = random_mask(M, K, (uint32_t)hl, 0.25, &st);
        cs_accel_layer al = {&l, &sk, &lm};
        cs_accel_result res[CS_LAYOUT_COUNT][2];
        for (int lay = 0; lay < CS_LAYOUT_COUNT; lay++)
            for (int s = 0; s < 2; s++) {
                cs_accel_result *r = &res[lay][s];
                cr_assert_eq(cs_accel_simulate(&m, &al, (cs_layout)lay, s, r, &err), CS_OK, "%s", err.msg);
                uint64_t bytes = r->read_bytes[0] + r->read_bytes[1] + r->read_bytes[2] + r->write_bytes;
                double mem_cycles = (double)bytes / m.bandwidth_gbps * m.core_clock_ghz;
                cr_assert_geq(r->total_cycles, r->compute_cycles);
                cr_assert_geq((double)r->total_cycles + 1, mem_cycles, "layout %d skip %d: %llu cycles for %llu bytes",
                              lay, s, (unsigned long long)r->total_cycles, (unsigned long long)bytes);
                cr_assert_eq(r->stall_cycles, r->total_cycles - r->compute_cycles);
            }
        /* compacted A traffic never exceeds the dense tiled layout's plus the bitmaps */
        for (int s = 0; s < 2; s++)
            cr_assert_leq(res[CS_LAYOUT_COMPACT][s].read_bytes[0],
                          res[CS_LAYOUT_TILED][s].read_bytes[0] + res[CS_LAYOUT_COMPACT][s].read_bytes[2],
                          "skip %d: compact %llu tiled %llu", s,
                          (unsigned long long)res[CS_LAYOUT_COMPACT][s].read_bytes[0],
                          (unsigned long long)res[CS_LAYOUT_TILED][s].read_bytes[0]);
        /* skipping never reads more A than dense execution when each column
         * is stored contiguously (row-major A can: scattered non-zero columns
         * touch more 32-byte atoms per token than a contiguous K slice) */
        for (int lay = CS_LAYOUT_COL; lay < CS_LAYOUT_COUNT; lay++)
            cr_assert_leq(res[lay][1].read_bytes[0], res[lay][0].read_bytes[0], "df %d R%llu C%llu M%llu N%llu K%llu layout %d: skip %llu dense %llu", n % 3,
                          (unsigned long long)R, (unsigned long long)C, (unsigned long long)M, (unsigned long long)N, (unsigned long long)K, lay,
                          (unsigned long long)res[lay][1].read_bytes[0], (unsigned long long)res[lay][0].read_bytes[0]);
        free(sk.bits), free(sk.nonzero), free(lm.bits), free(lm.nonzero);
        cs_machine_free(&m);
    }
}

Test(accel, no_zeros_means_skipping_changes_nothing)
{
    uint64_t st = 31;
    cs_error err;
    for (int n = 0; n < 24; n++) {
        cs_machine m;
        machine(&m, 16, 16, (cs_dataflow)(n % 3), n % 2 ? CS_MEM_BANDWIDTH : CS_MEM_IDEAL);
        cs_layer l = cs_test_gemm(40 + cs_test_rand(&st) % 200, 8 + cs_test_rand(&st) % 100, 8 + cs_test_rand(&st) % 100);
        uint64_t h = cs_skip_tile_rows(&m.array, &l, &m.skip);
        cs_colmask full;
        memset(&full, 0, sizeof full);
        full.rows = l.M, full.features = l.K, full.tile_rows = (uint32_t)h, full.tiles = cdiv(l.M, h);
        full.words_per_tile = cdiv(l.K, 64);
        full.bits = calloc(full.tiles * full.words_per_tile, 8);
        full.nonzero = calloc(full.tiles, 8);
        for (uint64_t t = 0; t < full.tiles; t++) {
            for (uint64_t k = 0; k < l.K; k++)
                full.bits[t * full.words_per_tile + k / 64] |= 1ull << (k % 64);
            full.nonzero[t] = l.K;
        }
        cs_accel_layer al = {&l, &full, NULL};
        for (int lay = 0; lay < 3; lay++) {
            cs_accel_result d, s;
            cr_assert_eq(cs_accel_simulate(&m, &al, (cs_layout)lay, false, &d, &err), CS_OK);
            cr_assert_eq(cs_accel_simulate(&m, &al, (cs_layout)lay, true, &s, &err), CS_OK);
            cr_assert_eq(d.total_cycles, s.total_cycles, "df %d layout %d", n % 3, lay);
            cr_assert_eq(d.read_bytes[0], s.read_bytes[0]);
            cr_assert_eq(d.read_bytes[1], s.read_bytes[1]);
            cr_assert_eq(d.write_bytes, s.write_bytes);
        }
        free(full.bits), free(full.nonzero);
        cs_machine_free(&m);
    }
}

Test(accel, layouts_fetch_exact_atoms)
{
    /* WS, one fold: K = R = 16 columns, M = 64 tokens, fp16. A row-major
     * holds each token's 16 features in 32 B, one atom: 64 atoms. With only
     * column 3 non-zero everywhere and skipping, row-major still needs one
     * atom per token (64), column-major 64 tokens x 2 B = 4 atoms. */
    cs_error err;
    cs_machine m;
    machine(&m, 16, 16, CS_DATAFLOW_WS, CS_MEM_IDEAL);
    cs_layer l = cs_test_gemm(64, 16, 16);
    cs_colmask one;
    memset(&one, 0, sizeof one);
    one.rows = 64, one.features = 16, one.tile_rows = 64, one.tiles = 1, one.words_per_tile = 1;
    uint64_t bits = 1ull << 3, nz = 1;
    one.bits = &bits;
    one.nonzero = &nz;
    cs_accel_layer al = {&l, &one, &one};
    cs_accel_result r;
    cr_assert_eq(cs_accel_simulate(&m, &al, CS_LAYOUT_ROW, false, &r, &err), CS_OK);
    cr_assert_eq(r.read_bytes[0], 64 * 32);
    cr_assert_eq(r.read_bytes[1], 16 * 16 * 2); /* B: 16 rows of 16 fp16 */
    cr_assert_eq(r.write_bytes, 64 * 16 * 2);
    cr_assert_eq(cs_accel_simulate(&m, &al, CS_LAYOUT_ROW, true, &r, &err), CS_OK);
    cr_assert_eq(r.read_bytes[0], 64 * 32);
    cr_assert_eq(r.read_bytes[1], 32); /* one row of B: 16 x 2 B */
    cr_assert_eq(cs_accel_simulate(&m, &al, CS_LAYOUT_COL, true, &r, &err), CS_OK);
    cr_assert_eq(r.read_bytes[0], 4 * 32);
    /* compact: tile of 64 rows stores 1 column (128 B = 4 atoms) + a 2-byte bitmap (1 atom) */
    cr_assert_eq(cs_accel_simulate(&m, &al, CS_LAYOUT_COMPACT, false, &r, &err), CS_OK);
    cr_assert_eq(r.a_stored_bytes, 64 * 2);
    cr_assert_eq(r.metadata_bytes, 2);
    cr_assert_eq(r.read_bytes[0], 4 * 32);
    cr_assert_eq(r.read_bytes[2], 32);
    cs_machine_free(&m);
}

static bool same_result(const cs_accel_result *a, const cs_accel_result *b)
{
    return a->total_cycles == b->total_cycles && a->compute_cycles == b->compute_cycles &&
           a->stall_cycles == b->stall_cycles && a->folds == b->folds && a->metadata_bytes == b->metadata_bytes &&
           a->read_bytes[0] == b->read_bytes[0] && a->read_bytes[1] == b->read_bytes[1] &&
           a->read_bytes[2] == b->read_bytes[2] && a->write_bytes == b->write_bytes &&
           a->a_stored_bytes == b->a_stored_bytes && a->dram_requests == b->dram_requests &&
           (a->row_hit_rate == b->row_hit_rate || (isnan(a->row_hit_rate) && isnan(b->row_hit_rate)));
}

/* cs_accel_same_run (what simulate uses to run repeated layers once) holds
 * exactly for the inputs a run reads: another name, or a mask the run does
 * not read, changes nothing; another shape, layout or read mask does. */
Test(accel, same_run_means_same_result)
{
    uint64_t st = 43;
    cs_error err;
    for (int n = 0; n < 6; n++) {
        cs_machine m;
        machine(&m, 16, 16, (cs_dataflow)(n % 3), n < 3 ? CS_MEM_BANDWIDTH : CS_MEM_GDDR6);
        m.channels = 2;
        cs_layer a = cs_test_gemm(96, 40, 80), b = a, c = cs_test_gemm(96, 40, 81);
        b.name = "other";
        uint64_t hs = cs_skip_tile_rows(&m.array, &a, &m.skip), hl = cs_accel_layout_tile_rows(&m, &a);
        cs_colmask ks = random_mask(a.M, a.K, (uint32_t)hs, 0.5, &st);
        cs_colmask kl = random_mask(a.M, a.K, (uint32_t)hl, 0.5, &st);
        cs_colmask ks2 = random_mask(a.M, a.K, (uint32_t)hs, 0.5, &st);
        cs_colmask kl2 = random_mask(a.M, a.K, (uint32_t)hl, 0.5, &st);
        cs_accel_layer A = {&a, &ks, &kl}, B = {&b, &ks, &kl}, Bk = {&b, &ks2, &kl}, Bl = {&b, &ks, &kl2},
                       D = {&b, NULL, NULL}, C = {&c, &ks, &kl};
        for (int lay = 0; lay < CS_LAYOUT_COUNT; lay++) {
            cs_layout L = (cs_layout)lay;
            bool compact = L == CS_LAYOUT_COMPACT;
            cr_assert(cs_accel_same_run(&m, &A, L, true, &B, L, true));
            cr_assert(!cs_accel_same_run(&m, &A, L, true, &Bk, L, true));
            cr_assert(cs_accel_same_run(&m, &A, L, false, &Bk, L, false) == true);
            cr_assert(cs_accel_same_run(&m, &A, L, false, &Bl, L, false) == !compact);
            cr_assert(cs_accel_same_run(&m, &D, L, true, &D, L, false));
            cr_assert(!cs_accel_same_run(&m, &A, L, true, &A, L, false));
            cr_assert(!cs_accel_same_run(&m, &A, L, false, &C, L, false));
            cr_assert(!cs_accel_same_run(&m, &A, L, false, &A, (cs_layout)((lay + 1) % CS_LAYOUT_COUNT), false));
            const cs_accel_layer *runs[] = {&A, &B, &Bk, &Bl, &D};
            cs_accel_result r[5][2];
            for (int i = 0; i < 5; i++)
                for (int s = 0; s < 2; s++)
                    cr_assert_eq(cs_accel_simulate(&m, runs[i], L, s, &r[i][s], &err), CS_OK);
            for (int i = 0; i < 10; i++)
                for (int j = 0; j < 10; j++)
                    if (cs_accel_same_run(&m, runs[i / 2], L, i % 2, runs[j / 2], L, j % 2))
                        cr_assert(same_result(&r[i / 2][i % 2], &r[j / 2][j % 2]), "df %d layout %d: %d vs %d",
                                  n % 3, lay, i, j);
        }
        free(ks.bits), free(ks.nonzero), free(kl.bits), free(kl.nonzero);
        free(ks2.bits), free(ks2.nonzero), free(kl2.bits), free(kl2.nonzero);
        cs_machine_free(&m);
    }
}

static cs_colmask full_mask(uint64_t rows, uint64_t K, uint32_t h)
{
    cs_colmask m;
    memset(&m, 0, sizeof m);
    m.rows = rows, m.features = K, m.tile_rows = h, m.tiles = cdiv(rows, h), m.words_per_tile = cdiv(K, 64);
    m.bits = calloc(m.tiles * m.words_per_tile, 8);
    m.nonzero = calloc(m.tiles, 8);
    for (uint64_t t = 0; t < m.tiles; t++) {
        for (uint64_t k = 0; k < K; k++)
            m.bits[t * m.words_per_tile + k / 64] |= 1ull << (k % 64);
        m.nonzero[t] = K;
    }
    return m;
}

/* A mask without zeros counts as no mask where the run's folds and
 * addresses are then the dense ones: always for the compact layout's mask,
 * for the skip mask unless WS splits M into token blocks. The results agree
 * field for field wherever cs_accel_same_run says so. */
Test(accel, full_mask_is_no_mask)
{
    uint64_t st = 47;
    cs_error err;
    for (int n = 0; n < 24; n++) {
        cs_machine m;
        machine(&m, 16, 16, (cs_dataflow)(n % 3), n % 4 < 2 ? CS_MEM_BANDWIDTH : CS_MEM_GDDR6);
        m.channels = 2;
        m.skip.policy = n % 8 < 4 ? CS_SKIP_COMPACT : CS_SKIP_FOLD;
        m.skip.ws_token_block = n >= 12 ? 32 : 0;
        cs_layer l = cs_test_gemm(40 + cs_test_rand(&st) % 100, 8 + cs_test_rand(&st) % 60, 8 + cs_test_rand(&st) % 140);
        uint64_t hs = cs_skip_tile_rows(&m.array, &l, &m.skip), hl = cs_accel_layout_tile_rows(&m, &l);
        cs_colmask ks = full_mask(l.M, l.K, (uint32_t)hs), kl = full_mask(l.M, l.K, (uint32_t)hl);
        cs_colmask kz = random_mask(l.M, l.K, (uint32_t)hs, 0.5, &st);
        cs_accel_layer F = {&l, &ks, &kl}, D = {&l, NULL, NULL}, Z = {&l, &kz, &kl};
        bool blocks = m.array.dataflow == CS_DATAFLOW_WS && hs < l.M;
        for (int lay = 0; lay < CS_LAYOUT_COUNT; lay++) {
            cs_layout L = (cs_layout)lay;
            cr_assert(cs_accel_same_run(&m, &F, L, false, &D, L, false));
            cr_assert(cs_accel_same_run(&m, &F, L, true, &D, L, false) == !blocks, "df %d", n % 3);
            cr_assert(!cs_accel_same_run(&m, &Z, L, true, &D, L, false));
            const cs_accel_layer *runs[] = {&F, &D, &Z};
            cs_accel_result r[3][2];
            for (int i = 0; i < 3; i++)
                for (int s = 0; s < 2; s++)
                    cr_assert_eq(cs_accel_simulate(&m, runs[i], L, s, &r[i][s], &err), CS_OK);
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                    if (cs_accel_same_run(&m, runs[i / 2], L, i % 2, runs[j / 2], L, j % 2))
                        cr_assert(same_result(&r[i / 2][i % 2], &r[j / 2][j % 2]), "n %d layout %d: %d vs %d", n,
                                  lay, i, j);
        }
        free(ks.bits), free(ks.nonzero), free(kl.bits), free(kl.nonzero), free(kz.bits), free(kz.nonzero);
        cs_machine_free(&m);
    }
}
