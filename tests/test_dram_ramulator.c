/* Validation against Ramulator 2.1 (GDDR6_8Gb_x16, GDDR6_14000_1350mV_double,
 * GenericDDR, FRFCFS, AllBank, Open, RoBaRaCoCh, LoadStoreTrace): the
 * recorded stats of the three reference traces must be reproduced exactly,
 * and the command-level checkpoints of its command trace hit to the cycle.
 * Data: tests/data/dram/ (copies of ../shared/reference/dram/). */
#include "dram/dram_internal.h"
#include "dram_test.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

static cJSON *load_json(const char *path)
{
    size_t len;
    char *text = cs_test_read(path, &len);
    cr_assert(text, "cannot read %s", path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cr_assert(j, "%s: bad JSON", path);
    return j;
}

static double field(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    cr_assert(cJSON_IsNumber(v), "no number '%s'", name);
    return v->valuedouble;
}

/* Ramulator 2.1's controller stats for a trace. */
static cJSON *ramulator_stats(const char *trace, cJSON **root)
{
    char path[512];
    snprintf(path, sizeof path, "%s/ramulator2.1_%s_20000_stats.json", CS_DRAM_DATA, trace);
    *root = load_json(path);
    cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*root, "memory_system"),
                                                "controller");
    cr_assert(c);
    return c;
}

static void check_trace(const char *trace)
{
    cJSON *root;
    const cJSON *r = ramulator_stats(trace, &root);
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    char path[512];
    snprintf(path, sizeof path, "%s/%s_20000.ldst", CS_DRAM_DATA, trace);
    cs_dram_trace_result res;
    cs_test_run_file(&cfg, path, &res, NULL);
    const cs_dram_stats *s = &res.at_last_accept;
#define EQ(ours, name) cr_assert_eq((double)(ours), field(r, name), "%s: %s = %llu, Ramulator %.0f", trace, name, \
                                    (unsigned long long)(ours), field(r, name))
    EQ(s->cycles, "cycles");
    EQ(s->reads, "num_read_reqs");
    EQ(s->writes, "num_write_reqs");
    EQ(s->reads_served, "num_read_reqs_served");
    EQ(s->writes_served, "num_write_reqs_served");
    EQ(s->reads_forwarded, "num_read_reqs_forwarded");
    EQ(s->writes_coalesced, "num_write_reqs_coalesced");
    EQ(s->read_latency_sum, "read_latency");
    EQ(s->row_hits, "row_hits");
    EQ(s->row_misses, "row_misses");
    EQ(s->row_conflicts, "row_conflicts");
    EQ(s->read_row_hits, "read_row_hits");
    EQ(s->read_row_misses, "read_row_misses");
    EQ(s->read_row_conflicts, "read_row_conflicts");
    EQ(s->write_row_hits, "write_row_hits");
    EQ(s->write_row_misses, "write_row_misses");
    EQ(s->write_row_conflicts, "write_row_conflicts");
    EQ(s->refreshes_requested, "num_maintenance_reqs");
    EQ(s->commands[CS_DRAM_REFAB], "num_maintenance_reqs_served");
    EQ(s->read_queue_sum, "read_queue_len");
    EQ(s->write_queue_sum, "write_queue_len");
    EQ(s->priority_queue_sum, "priority_queue_len");
    EQ(s->read_queue_sum + s->write_queue_sum + s->priority_queue_sum, "queue_len");
#undef EQ
    /* Ramulator computes these in single precision: compare to ~1e-7. */
    double avg = (double)s->read_latency_sum / (double)s->reads_served;
    cr_assert(fabs(avg / field(r, "avg_read_latency") - 1) < 2e-7, "%s: avg read latency %.6f vs %.6f", trace, avg,
              field(r, "avg_read_latency"));
    double mbps = (double)(s->reads_served + s->writes_served) * 32 * 1e6 / ((double)s->cycles * 570);
    cr_assert(fabs(mbps / field(r, "total_throughput_MBps") - 1) < 2e-7, "%s: %.3f MB/s vs %.3f", trace, mbps,
              field(r, "total_throughput_MBps"));
    cJSON_Delete(root);
}

Test(dram_ramulator, readstream_exact) { check_trace("readstream"); }
Test(dram_ramulator, stream_exact) { check_trace("stream"); }
Test(dram_ramulator, random_exact) { check_trace("random"); }

/* Command totals at the last acceptance, from Ramulator's command trace. */
Test(dram_ramulator, command_totals)
{
    static const struct {
        const char *trace;
        uint64_t act, prepb, preab, refab, rd, wr;
    } want[] = {
        {"readstream", 333, 72, 16, 16, 19968, 0},
        {"stream", 450, 150, 20, 20, 15968, 3980},
        {"random", 19958, 19503, 53, 53, 15974, 3981},
    };
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s_20000.ldst", CS_DRAM_DATA, want[i].trace);
        cs_dram_trace_result res;
        cs_test_run_file(&cfg, path, &res, NULL);
        const uint64_t *c = res.at_last_accept.commands;
        cr_assert_eq(c[CS_DRAM_ACT], want[i].act, "%s ACT %llu", want[i].trace, (unsigned long long)c[CS_DRAM_ACT]);
        cr_assert_eq(c[CS_DRAM_PREPB], want[i].prepb, "%s PREpb", want[i].trace);
        cr_assert_eq(c[CS_DRAM_PREAB], want[i].preab, "%s PREab", want[i].trace);
        cr_assert_eq(c[CS_DRAM_REFAB], want[i].refab, "%s REFab", want[i].trace);
        cr_assert_eq(c[CS_DRAM_RD], want[i].rd, "%s RD", want[i].trace);
        cr_assert_eq(c[CS_DRAM_WR], want[i].wr, "%s WR", want[i].trace);
    }
}

static const cs_test_cmd *find_cmd(const cs_test_log *l, uint64_t cycle)
{
    for (size_t i = 0; i < l->ncmds; i++)
        if (l->cmds[i].cycle == cycle)
            return &l->cmds[i];
    return NULL;
}

static void expect_cmd(const cs_test_log *l, uint64_t cycle, cs_dram_cmd cmd, int bg, int bank, int64_t row)
{
    const cs_test_cmd *c = find_cmd(l, cycle);
    cr_assert(c, "no command at cycle %llu", (unsigned long long)cycle);
    cr_assert_eq(c->cmd, cmd, "cycle %llu: %s, expected %s", (unsigned long long)cycle, cs_dram_cmd_name(c->cmd),
                 cs_dram_cmd_name(cmd));
    if (bg >= 0) {
        cr_assert_eq(c->bank_group, bg, "cycle %llu: bank group", (unsigned long long)cycle);
        cr_assert_eq(c->bank, bank, "cycle %llu: bank", (unsigned long long)cycle);
        cr_assert_eq(c->row, row, "cycle %llu: row", (unsigned long long)cycle);
    }
}

/* Checkpoints from Ramulator 2.1's command trace (CmdTraceRecorder). */
Test(dram_ramulator, readstream_checkpoints)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_test_log log = {0};
    cs_dram_trace_result res;
    cs_test_run_file(&cfg, CS_DRAM_DATA "/readstream_20000.ldst", &res, &log);
    expect_cmd(&log, 1, CS_DRAM_ACT, 0, 0, 0);
    for (uint64_t k = 0; k <= 32; k++) /* BG0 row 0, nCCDL apart up to column 32 */
        expect_cmd(&log, 28 + 4 * k, CS_DRAM_RD, 0, 0, 0);
    expect_cmd(&log, 157, CS_DRAM_ACT, 1, 0, 0);
    expect_cmd(&log, 184, CS_DRAM_RD, 1, 0, 0);
    for (uint64_t c = 186; c <= 282; c += 4) /* then the two groups alternate nCCDS apart */
        expect_cmd(&log, c, CS_DRAM_RD, 0, 0, 0);
    expect_cmd(&log, 313, CS_DRAM_ACT, 2, 0, 0);
    expect_cmd(&log, 3332, CS_DRAM_RD, -1, 0, 0);
    expect_cmd(&log, 3336, CS_DRAM_PREAB, -1, 0, 0);
    expect_cmd(&log, 3363, CS_DRAM_REFAB, -1, 0, 0);
    expect_cmd(&log, 3574, CS_DRAM_ACT, -1, 0, 0);
    expect_cmd(&log, 3582, CS_DRAM_ACT, -1, 0, 0);
    cs_test_log_free(&log);
}

Test(dram_ramulator, stream_checkpoints)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_test_log log = {0};
    cs_dram_trace_result res;
    cs_test_run_file(&cfg, CS_DRAM_DATA "/stream_20000.ldst", &res, &log);
    expect_cmd(&log, 250, CS_DRAM_PREPB, 0, 0, 8192); /* a write closes the reads' row */
    expect_cmd(&log, 277, CS_DRAM_ACT, 0, 0, 8192);
    for (uint64_t c = 293; c <= 369; c += 4) /* a drain of 20 writes, nCCDL apart */
        expect_cmd(&log, c, CS_DRAM_WR, 0, 0, 8192);
    expect_cmd(&log, 386, CS_DRAM_RD, -1, 0, 0); /* WR -> RD: nCWL + nBL + nWTRS */
    expect_cmd(&log, 404, CS_DRAM_PREPB, 0, 0, 0);
    expect_cmd(&log, 431, CS_DRAM_ACT, 0, 0, 0);
    expect_cmd(&log, 3382, CS_DRAM_PREAB, -1, 0, 0);
    expect_cmd(&log, 3409, CS_DRAM_REFAB, -1, 0, 0);
    expect_cmd(&log, 3620, CS_DRAM_ACT, -1, 0, 0);
    cs_test_log_free(&log);
}

/* Ramulator 2.1 with its NoRefresh manager (spec section 12). */
Test(dram_ramulator, no_refresh_points)
{
    static const struct {
        const char *trace;
        uint64_t cycles;
        double latency;
    } want[] = {{"readstream", 57050, 117.7}, {"stream", 67767, 162.3}, {"random", 164538, 381.8}};
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.refresh = CS_DRAM_REFRESH_NONE;
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s_20000.ldst", CS_DRAM_DATA, want[i].trace);
        cs_dram_trace_result res;
        cs_test_run_file(&cfg, path, &res, NULL);
        const cs_dram_stats *s = &res.at_last_accept;
        cr_assert_eq(s->cycles, want[i].cycles, "%s: %llu cycles", want[i].trace, (unsigned long long)s->cycles);
        double avg = (double)s->read_latency_sum / (double)s->reads_served;
        cr_assert(fabs(avg - want[i].latency) <= 0.05, "%s: latency %.3f", want[i].trace, avg);
    }
}

/* Ramulator 2.1, two channels (CacheLineInterleave) on the stream trace. */
Test(dram_ramulator, two_channels_stream)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.channels = 2;
    cs_dram_trace_result res;
    cs_test_run_file(&cfg, CS_DRAM_DATA "/stream_20000.ldst", &res, NULL);
    cr_assert_eq(res.at_last_accept.cycles, 37418);
}

/* The 1M-request stream trace of the reference generator (NOTES.md 6.1) is
 * deterministic: Ramulator 2.1 recorded 3 450 067 cycles, 97.71% row hits
 * and 164.6 cycles average read latency (results.csv). */
Test(dram_ramulator, stream_1m)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_dram_trace tr = {0};
    tr.count = 1000000;
    tr.format = CS_DRAM_TRACE_LOADSTORE;
    tr.addr = malloc(tr.count * sizeof *tr.addr);
    tr.is_write = malloc(tr.count);
    cr_assert(tr.addr && tr.is_write);
    for (uint64_t i = 0, r = 0, w = 0; i < tr.count; i++) {
        tr.is_write[i] = i % 5 == 4;
        tr.addr[i] = tr.is_write[i] ? 0x10000000 + 32 * w++ : 32 * r++;
    }
    cs_error err;
    cs_dram *d = cs_dram_create(&cfg, NULL, NULL, &err);
    cs_dram_trace_result res;
    cr_assert_eq(cs_dram_run_trace(d, &tr, &res, &err), CS_OK, "%s", err.msg);
    const cs_dram_stats *s = &res.at_last_accept;
    cr_assert_eq(s->cycles, 3450067);
    double avg = (double)s->read_latency_sum / (double)s->reads_served;
    double hits = (double)s->row_hits / (double)(s->row_hits + s->row_misses + s->row_conflicts);
    cr_assert(fabs(avg - 164.6) <= 0.05, "latency %.3f", avg);
    cr_assert(fabs(100 * hits - 97.71) <= 0.005, "hit rate %.4f%%", 100 * hits);
    cs_dram_free(d);
    cs_dram_trace_free(&tr);
}

/* The resolved configuration Ramulator 2.1 ran with: its timing values, its
 * organisation and controller settings, and its whole timing-rule table
 * (as expanded pairs), against what colscope builds from named timings. */
Test(dram_ramulator, preset_and_rule_table)
{
    cJSON *root = load_json(CS_DRAM_DATA "/ramulator2.1_gddr6_resolved.json");
    const cJSON *ctl = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "memory_system"), "controllers"), 0);
    const cJSON *dram = cJSON_GetObjectItemCaseSensitive(ctl, "dram");
    cs_dram_config cfg = cs_test_preset("gddr6-14");

    /* Ramulator's timing order (GDDR6.cpp): rate, nBL, ..., tCK_ps, nRFCab, nPPD. */
    static const int order[] = {-1,           CS_DRAM_nBL,   CS_DRAM_nCL,   CS_DRAM_nRCDRD, CS_DRAM_nRCDWR,
                                CS_DRAM_nRP,  CS_DRAM_nRAS,  CS_DRAM_nRC,   CS_DRAM_nWR,    CS_DRAM_nRTP,
                                CS_DRAM_nCWL, CS_DRAM_nCCDS, CS_DRAM_nCCDL, CS_DRAM_nRRDS,  CS_DRAM_nRRDL,
                                CS_DRAM_nWTRS, CS_DRAM_nWTRL, CS_DRAM_nFAW, CS_DRAM_nRFCpb, CS_DRAM_nRREFD,
                                CS_DRAM_nREFI, -2,           CS_DRAM_nRFCab, CS_DRAM_nPPD};
    const cJSON *timing = cJSON_GetObjectItemCaseSensitive(dram, "timing");
    cr_assert_eq(cJSON_GetArraySize(timing), 24);
    for (int i = 0; i < 24; i++) {
        double v = cJSON_GetArrayItem(timing, i)->valuedouble;
        if (order[i] == -1)
            cr_assert_eq(v, 14000);
        else if (order[i] == -2)
            cr_assert_eq(v, cfg.tck_ps);
        else
            cr_assert_eq(v, cfg.timing[order[i]], "%s", cs_dram_param_name((cs_dram_param)order[i]));
    }
    cr_assert_eq(field(dram, "read_latency"), cs_dram_read_latency(&cfg));
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dram, "org"), "count");
    cr_assert_eq(cJSON_GetArrayItem(count, 0)->valuedouble, cfg.channels);
    cr_assert_eq(cJSON_GetArrayItem(count, 1)->valuedouble, cfg.bank_groups);
    cr_assert_eq(cJSON_GetArrayItem(count, 2)->valuedouble, cfg.banks_per_group);
    cr_assert_eq(cJSON_GetArrayItem(count, 3)->valuedouble, cfg.rows);
    cr_assert_eq(cJSON_GetArrayItem(count, 4)->valuedouble, cfg.columns);
    cr_assert_eq(field(ctl, "read_buffer_size"), cfg.read_queue);
    cr_assert_eq(field(ctl, "write_buffer_size"), cfg.write_queue);
    cr_assert_eq(field(ctl, "wr_high_watermark"), cfg.write_high_watermark);
    cr_assert_eq(field(ctl, "wr_low_watermark"), cfg.write_low_watermark);

    /* Expand Ramulator's table into (level, preceding, following, latency,
     * window) and match it one to one against ours. */
    cs__rule ours[CS__MAX_RULES];
    size_t n = cs__dram_rules(&cfg, ours);
    bool used[CS__MAX_RULES] = {0};
    size_t theirs = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(dram, "timing_constraints"))
    {
        int level = (int)cJSON_GetArrayItem(e, 0)->valuedouble;
        uint32_t latency = (uint32_t)cJSON_GetArrayItem(e, 3)->valuedouble;
        int window = cJSON_GetArraySize(e) > 4 ? (int)cJSON_GetArrayItem(e, 4)->valuedouble : 1;
        const cJSON *p, *f;
        cJSON_ArrayForEach(p, cJSON_GetArrayItem(e, 1)) cJSON_ArrayForEach(f, cJSON_GetArrayItem(e, 2))
        {
            theirs++;
            size_t k = 0;
            while (k < n && (used[k] || ours[k].level != level || ours[k].preceding != (int)p->valuedouble ||
                             ours[k].following != (int)f->valuedouble || ours[k].latency != latency ||
                             ours[k].window != window))
                k++;
            cr_assert(k < n, "Ramulator rule level %d %s -> %s %u (window %d) missing", level,
                      cs_dram_cmd_name((cs_dram_cmd)p->valuedouble), cs_dram_cmd_name((cs_dram_cmd)f->valuedouble),
                      latency, window);
            used[k] = true;
        }
    }
    cr_assert_eq(theirs, n, "Ramulator has %zu rule pairs, colscope %zu", theirs, n);
    cJSON_Delete(root);
}

/* The same requests in DRAMsim3's format (cycle 0 = as soon as accepted)
 * give the same run. */
Test(dram_ramulator, dramsim3_format_same_run)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    char *dir = cs_test_mkdtemp();
    char *path = cs_test_path(dir, "random.dramsim3");
    cs_error err;
    cs_dram_trace tr;
    cr_assert_eq(cs_dram_trace_load(CS_DRAM_DATA "/random_20000.ldst", CS_DRAM_TRACE_AUTO, 0, false, &tr, &err), CS_OK);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    for (size_t i = 0; i < tr.count; i++)
        fprintf(f, "0x%llx %s 0\n", (unsigned long long)tr.addr[i], tr.is_write[i] ? "WRITE" : "READ");
    fclose(f);
    cs_dram_trace_free(&tr);
    cs_dram_trace_result a, b;
    cs_test_run_file(&cfg, CS_DRAM_DATA "/random_20000.ldst", &a, NULL);
    cs_test_run_file(&cfg, path, &b, NULL);
    cr_assert_eq(a.at_last_accept.cycles, b.at_last_accept.cycles);
    cr_assert_eq(a.at_last_accept.read_latency_sum, b.at_last_accept.read_latency_sum);
    cr_assert_eq(a.cycles_all_done, b.cycles_all_done);
    cs_test_rmdir(dir);
    free(dir);
    free(path);
}

/* When ../shared is there, its reference files are the ones copied here, and
 * its DRAMsim3-format traces give the LoadStore traces' results. */
Test(dram_ramulator, shared_reference_copies)
{
    static const char *const files[] = {
        "traces/readstream_20000.ldst", "traces/stream_20000.ldst", "traces/random_20000.ldst",
        "results/ramulator2.1_readstream_20000_stats.json", "results/ramulator2.1_stream_20000_stats.json",
        "results/ramulator2.1_random_20000_stats.json", "configs/ramulator2.1_gddr6_resolved.json"};
    char path[1024];
    snprintf(path, sizeof path, "%s/reference/dram/NOTES.md", CS_SHARED_DIR);
    if (!cs_test_exists(path))
        cr_skip_test("%s not present", CS_SHARED_DIR);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/reference/dram/%s", CS_SHARED_DIR, files[i]);
        char local[1024];
        snprintf(local, sizeof local, "%s/%s", CS_DRAM_DATA, strrchr(files[i], '/') + 1);
        size_t la, lb;
        char *a = cs_test_read(path, &la), *b = cs_test_read(local, &lb);
        cr_assert(a && b && la == lb && memcmp(a, b, la) == 0, "%s differs from %s", local, path);
        free(a);
        free(b);
    }
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    static const char *const traces[] = {"readstream", "stream", "random"};
    for (size_t i = 0; i < 3; i++) {
        char ldst[512];
        snprintf(path, sizeof path, "%s/reference/dram/traces/%s_20000.dramsim3", CS_SHARED_DIR, traces[i]);
        snprintf(ldst, sizeof ldst, "%s/%s_20000.ldst", CS_DRAM_DATA, traces[i]);
        cs_dram_trace_result a, b;
        cs_test_run_file(&cfg, ldst, &a, NULL);
        cs_test_run_file(&cfg, path, &b, NULL);
        cr_assert_eq(a.at_last_accept.cycles, b.at_last_accept.cycles, "%s", traces[i]);
        cr_assert_eq(a.at_last_accept.read_latency_sum, b.at_last_accept.read_latency_sum, "%s", traces[i]);
    }
}
