/* The compute model: closed forms on random shapes, column skipping on
 * hand-built masks with known answers, and the input readers' errors. */
#include "colscope/systolic.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

Test(systolic, scalesim_worked_examples)
{
    /* docs: M=128, K=256, N=64 on 32x32: OS 2543, WS 3551, IS 5055; WS 128x128: 1019 */
    cs_layer l = cs_test_gemm(128, 64, 256);
    const cs_dataflow dfs[] = {CS_DATAFLOW_OS, CS_DATAFLOW_WS, CS_DATAFLOW_IS};
    const uint64_t want[] = {2543, 3551, 5055};
    cs_error err;
    for (int i = 0; i < 3; i++) {
        cs_array_config cfg;
        cs_array_config_init(&cfg, 32, 32, dfs[i]);
        cs_compute_stats s;
        cr_assert_eq(cs_systolic_dense(&cfg, &l, &s, &err), CS_OK);
        cr_assert_eq(s.cycles, want[i], "%s: %llu", cs_dataflow_name(dfs[i]), (unsigned long long)s.cycles);
        cr_assert_eq(s.stall_cycles, 0);
    }
    cs_array_config cfg;
    cs_array_config_init(&cfg, 128, 128, CS_DATAFLOW_WS);
    cs_compute_stats s;
    cr_assert_eq(cs_systolic_dense(&cfg, &l, &s, &err), CS_OK);
    cr_assert_eq(s.cycles, 1019);
}

Test(systolic, closed_forms_on_random_shapes)
{
    uint64_t st = 99;
    cs_error err;
    for (int n = 0; n < 3000; n++) {
        uint64_t R = 1 + cs_test_rand(&st) % 130, C = 1 + cs_test_rand(&st) % 130;
        uint64_t M = 1 + cs_test_rand(&st) % 700, N = 1 + cs_test_rand(&st) % 700, K = 1 + cs_test_rand(&st) % 700;
        cs_dataflow df = (cs_dataflow)(cs_test_rand(&st) % 3);
        cs_array_config cfg;
        cs_array_config_init(&cfg, R, C, df);
        cs_layer l = cs_test_gemm(M, N, K);
        cs_compute_stats s;
        cr_assert_eq(cs_systolic_dense(&cfg, &l, &s, &err), CS_OK);
        /* Written independently: spatial dims and the per-fold length. */
        uint64_t rowsdim = df == CS_DATAFLOW_OS ? M : K, colsdim = df == CS_DATAFLOW_IS ? M : N;
        uint64_t streamed = df == CS_DATAFLOW_OS ? K : df == CS_DATAFLOW_WS ? M : N;
        uint64_t fill = df == CS_DATAFLOW_OS ? 0 : R; /* stationary operand load */
        uint64_t per_fold = fill + streamed + (R - 1) + (C - 1);
        uint64_t folds = cdiv(rowsdim, R) * cdiv(colsdim, C);
        cr_assert_eq(s.folds, folds);
        cr_assert_eq(s.cycles, folds * per_fold - 1, "R=%llu C=%llu M=%llu N=%llu K=%llu df=%d", (unsigned long long)R,
                     (unsigned long long)C, (unsigned long long)M, (unsigned long long)N, (unsigned long long)K, df);
        /* Means over folds of used/RC: sum of used PEs is rowsdim*colsdim. */
        double map = 100.0 * (double)(rowsdim * colsdim) / ((double)folds * (double)(R * C));
        cr_assert(fabs(s.mapping_efficiency - map) <= 1e-9 * map, "mapping %g vs %g", s.mapping_efficiency, map);
        double lc = df == CS_DATAFLOW_OS ? (double)per_fold : (double)(per_fold + C - 1);
        double cu = 100.0 * (double)(rowsdim * colsdim) * (double)streamed / ((double)folds * (double)(R * C) * lc);
        cr_assert(fabs(s.compute_util - cu) <= 1e-9 * cu, "compute util %g vs %g", s.compute_util, cu);
        double overall = 100.0 * (double)M * (double)N * (double)K / ((double)s.cycles * (double)(R * C));
        cr_assert(fabs(s.overall_util - overall) <= 1e-12 * overall);
    }
}

/* A mask with the given non-zero columns per tile (bit k set iff column k of
 * the tile is listed). */
static cs_colmask make_mask(uint64_t rows, uint64_t K, uint32_t h, const char *const *tiles)
{
    cs_colmask m;
    memset(&m, 0, sizeof m);
    m.rows = rows;
    m.features = K;
    m.tile_rows = h;
    m.tiles = cdiv(rows, h);
    m.words_per_tile = cdiv(K, 64);
    m.bits = calloc(m.tiles * m.words_per_tile, 8);
    m.nonzero = calloc(m.tiles, 8);
    for (uint64_t t = 0; t < m.tiles; t++)
        for (uint64_t k = 0; k < K; k++)
            if (tiles[t][k] == '1') {
                m.bits[t * m.words_per_tile + k / 64] |= 1ull << (k % 64);
                m.nonzero[t]++;
            }
    return m;
}

Test(systolic, skip_os_hand_answer)
{
    /* 4x4 OS, M=8 (two token tiles of 4), N=4, K=10. Tile 0 has 3 non-zero
     * columns, tile 1 none: only fold (0, 0) runs, for R + C + 3 - 2 = 9 rows. */
    cs_array_config cfg;
    cs_array_config_init(&cfg, 4, 4, CS_DATAFLOW_OS);
    cs_layer l = cs_test_gemm(8, 4, 10);
    const char *tiles[] = {"1001000100", "0000000000"};
    cs_colmask m = make_mask(8, 10, 4, tiles);
    cs_skip_stats s;
    cs_error err;
    cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, NULL, &s, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(s.dense_cycles, 2 * (4 + 4 + 10 - 2) - 1);
    cr_assert_eq(s.cycles, 9 - 1);
    cr_assert_eq(s.folds, 1);
    cr_assert_float_eq(s.cycle_reduction, 1.0 - 8.0 / 31.0, 1e-15);
    /* fold policy: the non-empty tile streams all of K */
    cs_skip_options fold = {CS_SKIP_FOLD, 0};
    cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, &fold, &s, &err), CS_OK);
    cr_assert_eq(s.cycles, (4 + 4 + 10 - 2) - 1);
    free(m.bits);
    free(m.nonzero);
}

Test(systolic, skip_ws_hand_answer)
{
    /* 4x4 WS, M=6, N=5 (2 column folds), K=10 (3 K-folds dense). Whole-M
     * block with 5 non-zero columns -> ceil(5/4) = 2 K-folds of
     * 2R + C + M - 2 = 16 rows, for each of 2 column folds. */
    cs_array_config cfg;
    cs_array_config_init(&cfg, 4, 4, CS_DATAFLOW_WS);
    cs_layer l = cs_test_gemm(6, 5, 10);
    const char *tiles[] = {"1100010011"};
    cs_colmask m = make_mask(6, 10, 6, tiles);
    cs_skip_stats s;
    cs_error err;
    cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, NULL, &s, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(s.dense_cycles, 3 * 2 * 16 - 1);
    cr_assert_eq(s.cycles, 2 * 2 * 16 - 1);
    /* fold policy: K-folds [0,4) has 0,1; [4,8) has 5; [8,10) has 8,9: all busy */
    cs_skip_options fold = {CS_SKIP_FOLD, 0};
    cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, &fold, &s, &err), CS_OK);
    cr_assert_eq(s.cycles, s.dense_cycles);
    free(m.bits);
    free(m.nonzero);
    /* token blocks of 3: block 0 has 1 column, block 1 has 6 -> 1 + 2 K-folds
     * of 2R + C + 3 - 2 = 13 rows, for 2 column folds */
    const char *blocks[] = {"0000010000", "1100110011"};
    m = make_mask(6, 10, 3, blocks);
    cs_skip_options blk = {CS_SKIP_COMPACT, 3};
    cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, &blk, &s, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(s.cycles, (1 + 2) * 2 * 13 - 1);
    free(m.bits);
    free(m.nonzero);
}

Test(systolic, skip_is_hand_answer)
{
    /* 4x2 IS (C = 2 tokens per fold), M=3 -> tiles of 2 and 1 tokens, N=7,
     * K=9. Tile 0: 5 columns -> 2 K-folds; tile 1: 0 columns -> none. Each
     * fold: 2R + C + N - 2 = 15 rows. */
    cs_array_config cfg;
    cs_array_config_init(&cfg, 4, 2, CS_DATAFLOW_IS);
    cs_layer l = cs_test_gemm(3, 7, 9);
    const char *tiles[] = {"111110000", "000000000"};
    cs_colmask m = make_mask(3, 9, 2, tiles);
    cs_skip_stats s;
    cs_error err;
    cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, NULL, &s, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(s.dense_cycles, 3 * 2 * 15 - 1);
    cr_assert_eq(s.cycles, 2 * 15 - 1);
    free(m.bits);
    free(m.nonzero);
}

Test(systolic, skip_without_zeros_equals_dense)
{
    uint64_t st = 5;
    cs_error err;
    for (int n = 0; n < 300; n++) {
        uint64_t R = 1 + cs_test_rand(&st) % 40, C = 1 + cs_test_rand(&st) % 40;
        uint64_t M = 1 + cs_test_rand(&st) % 200, N = 1 + cs_test_rand(&st) % 200, K = 1 + cs_test_rand(&st) % 200;
        cs_array_config cfg;
        cs_array_config_init(&cfg, R, C, (cs_dataflow)(n % 3));
        cs_layer l = cs_test_gemm(M, N, K);
        uint64_t h = cs_skip_tile_rows(&cfg, &l, NULL);
        cs_colmask m;
        memset(&m, 0, sizeof m);
        m.rows = M;
        m.features = K;
        m.tile_rows = (uint32_t)h;
        m.tiles = cdiv(M, h);
        m.words_per_tile = cdiv(K, 64);
        m.bits = calloc(m.tiles * m.words_per_tile, 8);
        m.nonzero = calloc(m.tiles, 8);
        for (uint64_t t = 0; t < m.tiles; t++) {
            for (uint64_t k = 0; k < K; k++)
                m.bits[t * m.words_per_tile + k / 64] |= 1ull << (k % 64);
            m.nonzero[t] = K;
        }
        for (int pol = 0; pol < 2; pol++) {
            cs_skip_options o = {(cs_skip_policy)pol, 0};
            cs_skip_stats s;
            cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, &o, &s, &err), CS_OK, "%s", err.msg);
            cr_assert_eq(s.cycles, s.dense_cycles, "df %d policy %d", n % 3, pol);
            cr_assert_eq(s.folds, s.folds_dense);
            cr_assert_float_eq(s.cycle_reduction, 0.0, 0);
        }
        free(m.bits);
        free(m.nonzero);
    }
}

Test(systolic, skip_rejects_wrong_mask_and_nm)
{
    cs_array_config cfg;
    cs_array_config_init(&cfg, 4, 4, CS_DATAFLOW_OS);
    cs_layer l = cs_test_gemm(8, 4, 10);
    const char *tiles[] = {"11", "11"};
    cs_colmask m = make_mask(8, 2, 4, tiles);
    cs_skip_stats s;
    cs_error err;
    cr_assert_eq(cs_systolic_skip(&cfg, &l, &m, NULL, &s, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "layer 'g'"), "%s", err.msg);
    free(m.bits);
    free(m.nonzero);
}

Test(systolic, pyfloat_matches_python_repr)
{
    const struct {
        double v;
        const char *s;
    } cases[] = {
        {100.0, "100.0"},         {83.33333333333334, "83.33333333333334"},  {0.0, "0.0"},
        {-0.0, "-0.0"},           {1e-05, "1e-05"},                          {0.0001, "0.0001"},
        {1e16, "1e+16"},          {123456789012345.0, "123456789012345.0"},  {2.5e+16, "2.5e+16"},
        {0.1, "0.1"},             {74.12233079985525, "74.12233079985525"}, {1.5, "1.5"},
        {12.561334641805692, "12.561334641805692"}, {1e300, "1e+300"},       {-3.25e-7, "-3.25e-07"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        cs_format_pyfloat(cases[i].v, buf, sizeof buf);
        cr_assert_str_eq(buf, cases[i].s);
    }
}

/* ---- readers ---------------------------------------------------------- */

static char *dir;
static void setup(void) { dir = cs_test_mkdtemp(); }
static void teardown(void)
{
    cs_test_rmdir(dir);
    free(dir);
}
TestSuite(systolic_io, .init = setup, .fini = teardown);

static char *file(const char *name, const char *text)
{
    char *p = cs_test_path(dir, name);
    cs_test_write(p, text, strlen(text));
    return p;
}

static const char *good_cfg = "[general]\nrun_name = r\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 4\n"
                              "IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nIfmapOffset: 0\n"
                              "FilterOffset: 10000000\nOfmapOffset: 20000000\nDataflow : is\nBandwidth : 10\n"
                              "MemoryBanks: 1\n[run_presets]\nInterfaceBandwidth: CALC\n";

Test(systolic_io, config_reads_and_reports)
{
    char *p = file("a.cfg", good_cfg);
    cs_array_config cfg;
    cs_error err;
    cr_assert_eq(cs_array_config_load(p, &cfg, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(cfg.rows, 8);
    cr_assert_eq(cfg.cols, 4);
    cr_assert_eq(cfg.dataflow, CS_DATAFLOW_IS);
    cr_assert_eq(cfg.version, 2);
    cr_assert_str_eq(cfg.run_name, "r");
    cs_array_config_free(&cfg);
    free(p);

    struct {
        const char *from, *to, *phrase;
    } bad[] = {
        {"Dataflow : is", "Dataflow : WS", "a.cfg:12: [architecture_presets] Dataflow: 'WS' is not one of os, ws, is"},
        {"ArrayHeight: 8", "ArrayHeight: 0", "a.cfg:4: [architecture_presets] ArrayHeight: 0 is outside"},
        {"ArrayWidth: 4", "ArrayWidth: four", "a.cfg:5: [architecture_presets] ArrayWidth: 'four'"},
        {"MemoryBanks: 1", "MemoryBank: 1", "a.cfg:14: unknown key 'MemoryBank' in [architecture_presets]"},
        {"InterfaceBandwidth: CALC", "InterfaceBandwidth: calc", "InterfaceBandwidth: 'calc' is not one of"},
        {"run_name = r", "nothing = r", "[general] run_name is missing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[2048];
        const char *at = strstr(good_cfg, bad[i].from);
        snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good_cfg), good_cfg, bad[i].to, at + strlen(bad[i].from));
        p = file("a.cfg", text);
        cr_assert_eq(cs_array_config_load(p, &cfg, &err), CS_EINPUT, "case %zu", i);
        cr_assert(strstr(err.msg, bad[i].phrase), "case %zu: '%s' lacks '%s'", i, err.msg, bad[i].phrase);
        free(p);
    }
}

Test(systolic_io, topology_forms_and_errors)
{
    char *p = file("g.csv", "Layer, M, N, K,\nffn1, 4096, 1280, 320,\n\nffn2, 4096, 320, 1280, 2:4,\n");
    cs_topology t;
    cs_error err;
    cr_assert_eq(cs_topology_load(p, CS_TOPOLOGY_GEMM, 3, &t, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(t.count, 2);
    cr_assert_eq(t.layers[0].M, 4096);
    cr_assert_eq(t.layers[0].N, 1280);
    cr_assert_eq(t.layers[0].K, 320);
    cr_assert_eq(t.layers[1].nm_n, 2);
    cr_assert_eq(t.layers[1].nm_m, 4);
    cs_topology_free(&t);
    free(p);
    /* conv: 10x10 input, 3x3 filter, stride 4 -> ceil((10-3+4)/4) = 3 outputs
     * per side (SCALE-Sim counts the window that runs off the edge) */
    p = file("c.csv", "Layer name, IFMAP H, IFMAP W, Fh, Fw, C, Nf, S,\nconv1, 10, 10, 3, 3, 8, 16, 4,\n"
                      "DPconv, 6, 6, 3, 3, 3, 1, 1, 1,\n");
    cr_assert_eq(cs_topology_load(p, CS_TOPOLOGY_CONV, 2, &t, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(t.count, 1 + 3);
    cr_assert_eq(t.layers[0].M, 9);
    cr_assert_eq(t.layers[0].K, 72);
    cr_assert_eq(t.layers[0].N, 16);
    cr_assert_eq(t.layers[1].K, 9);
    cr_assert_str_eq(t.layers[3].name, "DPconvChannel_2");
    cs_topology_free(&t);
    free(p);

    struct {
        const char *text, *phrase;
    } bad[] = {
        {"L,M,N,K,\nx, 1, 2, 3\n", "t.csv:2: row must end with a comma"},
        {"L,M,N,K,\nx, 1, 2,\n", "t.csv:2: 3 fields"},
        {"L,M,N,K,\nx, 1, zero, 3,\n", "t.csv:2: field 'N': 'zero' is not a positive integer"},
        {"L,M,N,K,\nx, 1, 2, 0,\n", "t.csv:2: field 'K'"},
        {"L,M,N,K,\nx, 1, 2, 3, 5:4,\n", "t.csv:2: field 'Sparsity': '5:4'"},
        {"L,M,N,K,\n", "t.csv: no layers"},
        {"L,M,N,K,\nx, 99999999999, 2, 3,\n", "t.csv:2: field 'M'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = file("t.csv", bad[i].text);
        cr_assert_eq(cs_topology_load(p, CS_TOPOLOGY_GEMM, 2, &t, &err), CS_EINPUT, "case %zu", i);
        cr_assert(strstr(err.msg, bad[i].phrase), "case %zu: '%s' lacks '%s'", i, err.msg, bad[i].phrase);
        free(p);
    }
    p = file("t.csv", "L,...,\nc, 3, 3, 5, 3, 1, 1, 1,\n");
    cr_assert_eq(cs_topology_load(p, CS_TOPOLOGY_CONV, 2, &t, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "t.csv:2: filter 5x3 larger than the 3x3 input"), "%s", err.msg);
    free(p);
}
