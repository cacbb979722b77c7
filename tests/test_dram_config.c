/* DRAM presets, their 16 Gb/s derivation, INI overrides and the rejection
 * of impossible timing sets. */
#include "dram/dram_internal.h"
#include "dram_test.h"
#include "testutil.h"

static char *dir;
static void setup(void) { dir = cs_test_mkdtemp(); }
static void teardown(void)
{
    cs_test_rmdir(dir);
    free(dir);
}
TestSuite(dram_config, .init = setup, .fini = teardown);

static char *write_ini(const char *text)
{
    char *p = cs_test_path(dir, "dram.ini");
    cs_test_write(p, text, strlen(text));
    return p;
}

Test(dram_config, gddr6_14_is_ramulator_preset)
{
    cs_dram_config c = cs_test_preset("gddr6-14");
    static const uint32_t want[CS_DRAM_NPARAMS] = {2,  24, 27, 16, 27, 53, 79, 27,   4,    6,   2,  4,
                                                   8,  8,  9,  11, 29, 106, 15, 3333, 211, 1, 1};
    for (int i = 0; i < CS_DRAM_NPARAMS; i++)
        cr_assert_eq(c.timing[i], want[i], "%s", cs_dram_param_name((cs_dram_param)i));
    cr_assert_eq(c.tck_ps, 570);
    cr_assert_float_eq(cs_dram_tck_ns(&c), 0.570, 1e-12);
    cr_assert_eq(cs_dram_capacity_bytes(&c), 512ull << 20);
    cr_assert_eq(cs_dram_read_latency(&c), 26);
    cr_assert_float_eq(cs_dram_peak_gbps_per_channel(&c), 28.0701754, 1e-6);
    cr_assert_str_eq(c.mapping, "RoBaRaCoCh");
    cr_assert_eq(c.read_queue, 32);
    cr_assert_eq(c.write_queue, 32);
    cr_assert_eq(cs_dram_config_check(&c, NULL), CS_OK);
}

Test(dram_config, gddr6_1250mv)
{
    cs_dram_config c = cs_test_preset("gddr6-14-1250mv");
    cr_assert_eq(c.timing[CS_DRAM_nRCDRD], 30);
    cr_assert_eq(c.timing[CS_DRAM_nRP], 30);
    cr_assert_eq(c.timing[CS_DRAM_nWR], 30);
    cr_assert_eq(c.timing[CS_DRAM_nRCDWR], 20);
    cr_assert_eq(c.timing[CS_DRAM_nRAS], 60);
    cr_assert_eq(c.timing[CS_DRAM_nRC], 90);
    cr_assert_eq(c.timing[CS_DRAM_nRRDS], 11);
    cr_assert_eq(c.timing[CS_DRAM_nFAW], 43);
    cr_assert_eq(c.timing[CS_DRAM_nRREFD], 22);
    cr_assert_eq(c.timing[CS_DRAM_nPPD], 2);
    cr_assert_eq(c.timing[CS_DRAM_nCL], 24);
}

/* 16 Gb/s: tCK 500 ps; every nanosecond-defined value keeps its nanoseconds
 * (cycles x 0.570 ns), rounded up, nREFI rounded down; nBL, nCCDS, nCCDL,
 * nPPD stay in clocks. Worked by hand. */
Test(dram_config, gddr6_16_derivation)
{
    cs_dram_config c = cs_test_preset("gddr6-16");
    static const uint32_t want[CS_DRAM_NPARAMS] = {2,  28, 31, 19, 31, 61,  91, 31,   5,    7,   2,  4,
                                                   10, 10, 11, 13, 34, 121, 18, 3799, 241, 1, 1};
    for (int i = 0; i < CS_DRAM_NPARAMS; i++)
        cr_assert_eq(c.timing[i], want[i], "%s = %u", cs_dram_param_name((cs_dram_param)i), c.timing[i]);
    cr_assert_eq(c.tck_ps, 500);
    cr_assert_float_eq(cs_dram_peak_gbps_per_channel(&c), 32.0, 1e-12);
    cr_assert_eq(cs_dram_config_check(&c, NULL), CS_OK);
    cs_dram_config l = cs_test_preset("gddr6-16-1250mv");
    cr_assert_eq(l.timing[CS_DRAM_nRC], 103);  /* 90 x 570 / 500 = 102.6 */
    cr_assert_eq(l.timing[CS_DRAM_nFAW], 50);  /* 43 x 570 / 500 = 49.02 */
    cr_assert_eq(l.timing[CS_DRAM_nPPD], 2);
    cr_assert_eq(cs_dram_config_check(&l, NULL), CS_OK);
}

Test(dram_config, unknown_preset)
{
    cs_dram_config c;
    cs_error err;
    cr_assert_eq(cs_dram_config_preset(&c, "ddr4", &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "unknown DRAM preset 'ddr4'") && strstr(err.msg, "gddr6-16"), "%s", err.msg);
    cr_assert_eq(cs_dram_preset_count(), 4);
    cr_assert_str_eq(cs_dram_preset_name(0), "gddr6-14");
    cr_assert_null(cs_dram_preset_name(4));
}

Test(dram_config, ini_overrides)
{
    char *p = write_ini("; overrides\n[organization]\nchannels = 4\n\n[timing]\nnCL = 30\nnrcdrd = 28\ntCK_ps = 600\n"
                        "\n[controller]\nmapping = RoCoBaRaCh\nread_queue = 64\nwrite_high_watermark = 0.9\n"
                        "row_policy = closed\nrefresh = per-bank\n");
    cs_dram_config c = cs_test_preset("gddr6-14");
    cs_error err;
    cr_assert_eq(cs_dram_config_load_ini(&c, p, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(c.channels, 4);
    cr_assert_eq(c.timing[CS_DRAM_nCL], 30);
    cr_assert_eq(c.timing[CS_DRAM_nRCDRD], 28);
    cr_assert_eq(c.tck_ps, 600);
    cr_assert_str_eq(c.mapping, "RoCoBaRaCh");
    cr_assert_eq(c.read_queue, 64);
    cr_assert_eq(c.write_high_watermark, 0.9);
    cr_assert_eq(c.row_policy, CS_DRAM_ROW_CLOSED);
    cr_assert_eq(c.refresh, CS_DRAM_REFRESH_PER_BANK);
    cr_assert_eq(c.timing[CS_DRAM_nRP], 27); /* untouched */
    free(p);
}

static void expect_ini_error(const char *text, const char *phrase)
{
    char *p = write_ini(text);
    cs_dram_config c = cs_test_preset("gddr6-14"), before = c;
    cs_error err;
    cr_assert_eq(cs_dram_config_load_ini(&c, p, &err), CS_EINPUT, "accepted: %s", text);
    cr_assert(strstr(err.msg, phrase), "message '%s' lacks '%s'", err.msg, phrase);
    cr_assert(strstr(err.msg, "dram.ini"), "%s", err.msg);
    cr_assert(!strchr(err.msg, '\n'));
    cr_assert_eq(memcmp(&c, &before, sizeof c), 0, "config changed on error");
    free(p);
}

Test(dram_config, ini_errors_name_file_and_line)
{
    expect_ini_error("[timing]\nnCL = 30\nnCLL = 3\n", "dram.ini:3: unknown key 'nCLL' in [timing]");
    expect_ini_error("[timing]\nnCL = -3\n", "dram.ini:2: [timing] nCL: '-3' is not a non-negative integer");
    expect_ini_error("[timming]\nnCL = 3\n", "dram.ini:2: unknown key 'nCL' in [timming]");
    expect_ini_error("[timing]\n\nnRAS = 90\n", "dram.ini:3: impossible timing: nRAS = 90 exceeds nRC = 79");
    expect_ini_error("[timing]\nnRC = 40\n", "dram.ini:2: impossible timing: nRAS = 53 exceeds nRC = 40");
    expect_ini_error("[timing]\nnCCDL = 1\n", "dram.ini:2: impossible timing: nCCDS = 2 exceeds nCCDL = 1");
    expect_ini_error("[timing]\nnREFI = 200\n", "dram.ini:2: impossible timing: nREFI = 200 is not longer than nRFCab");
    expect_ini_error("[timing]\nnBL = 0\n", "dram.ini:2: nBL must be at least 1 cycle");
    expect_ini_error("[organization]\nchannels = 3\n", "dram.ini:2: channels = 3 is not a power of two");
    expect_ini_error("[controller]\nmapping = RoRoCo\n", "dram.ini:2: mapping 'RoRoCo' is not a bit order");
    expect_ini_error("[controller]\nrow_policy = sometimes\n",
                     "dram.ini:2: [controller] row_policy: 'sometimes' is not one of open, closed");
    expect_ini_error("[controller]\nwrite_low_watermark = 0.9\n", "dram.ini:2: write watermarks must satisfy");
    expect_ini_error("[controller]\nwrite_high_watermark = 1.5\n",
                     "dram.ini:2: [controller] write_high_watermark: 1.5 is outside 0..1");
    expect_ini_error("nCL = 3\n", "dram.ini:1: unknown key 'nCL' in []");
    expect_ini_error("[timing\nnCL = 3\n", "dram.ini:1: malformed line");
    expect_ini_error("[timing]\nthis is not ini\n", "dram.ini:2: malformed line");
}

Test(dram_config, missing_ini)
{
    cs_dram_config c = cs_test_preset("gddr6-14");
    cs_error err;
    cr_assert_eq(cs_dram_config_load_ini(&c, "/nonexistent/dram.ini", &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "/nonexistent/dram.ini: cannot open"), "%s", err.msg);
}

Test(dram_config, check_rejects_impossible_sets)
{
    static const struct {
        cs_dram_param p;
        uint32_t v;
        const char *phrase;
    } bad[] = {
        {CS_DRAM_nRAS, 80, "nRAS = 80 exceeds nRC = 79"},
        {CS_DRAM_nRRDS, 9, "nRRDS = 9 exceeds nRRDL = 8"},
        {CS_DRAM_nWTRS, 12, "nWTRS = 12 exceeds nWTRL = 11"},
        {CS_DRAM_nRCDRD, 54, "nRCDRD = 54 exceeds nRAS = 53"},
        {CS_DRAM_nRFCab, 3333, "nREFI = 3333 is not longer than nRFCab = 3333"},
        {CS_DRAM_nRP, 0, "nRP must be at least 1 cycle"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cs_dram_config c = cs_test_preset("gddr6-14");
        c.timing[bad[i].p] = bad[i].v;
        cs_error err;
        cr_assert_eq(cs_dram_config_check(&c, &err), CS_EINPUT, "%s accepted", bad[i].phrase);
        cr_assert(strstr(err.msg, bad[i].phrase), "'%s' lacks '%s'", err.msg, bad[i].phrase);
        cr_assert_null(cs_dram_create(&c, NULL, NULL, &err));
        cr_assert_eq(err.status, CS_EINPUT);
    }
    /* Refresh disabled: nREFI no longer matters. */
    cs_dram_config c = cs_test_preset("gddr6-14");
    c.timing[CS_DRAM_nREFI] = 10;
    c.refresh = CS_DRAM_REFRESH_NONE;
    cr_assert_eq(cs_dram_config_check(&c, NULL), CS_OK);
}

Test(dram_config, write_ini_round_trip)
{
    cs_dram_config a = cs_test_preset("gddr6-16-1250mv");
    a.channels = 8;
    a.read_queue = 48;
    a.write_low_watermark = 0.25;
    a.refresh = CS_DRAM_REFRESH_NONE;
    snprintf(a.mapping, sizeof a.mapping, "RoBaCoBg");
    char *p = cs_test_path(dir, "out.ini");
    FILE *f = fopen(p, "w");
    cs_dram_config_write_ini(&a, f);
    fclose(f);
    cs_dram_config b = cs_test_preset("gddr6-14");
    cs_error err;
    cr_assert_eq(cs_dram_config_load_ini(&b, p, &err), CS_OK, "%s", err.msg);
    snprintf(b.preset, sizeof b.preset, "%s", a.preset); /* the preset name is a comment in the file */
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
    free(p);
}

Test(dram_config, mapping_names)
{
    char order[6];
    cr_assert_eq(cs__dram_parse_mapping("RoBaRaCoCh", order), 5);
    cr_assert_eq(memcmp(order, "hcrao", 5), 0); /* from the LSB */
    cr_assert_eq(cs__dram_parse_mapping("RoCoBaRaCh", order), 5);
    cr_assert_eq(cs__dram_parse_mapping("RoBaCoBg", order), 4);
    cr_assert_eq(cs__dram_parse_mapping("robacobg", order), 4);
    cr_assert_eq(cs__dram_parse_mapping("RoCo", order), 0);        /* no Ba */
    cr_assert_eq(cs__dram_parse_mapping("RoBaCoCo", order), 0);    /* Co twice */
    cr_assert_eq(cs__dram_parse_mapping("RoBaCoX", order), 0);     /* odd length */
    cr_assert_eq(cs__dram_parse_mapping("RoBaCoXy", order), 0);    /* unknown field */
    cr_assert_eq(cs__dram_parse_mapping("", order), 0);
}
