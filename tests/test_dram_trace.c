/* Trace readers (Ramulator LoadStore, DRAMsim3) and the trace frontend. */
#include "dram_test.h"
#include "testutil.h"

static char *dir;
static void setup(void) { dir = cs_test_mkdtemp(); }
static void teardown(void)
{
    cs_test_rmdir(dir);
    free(dir);
}
TestSuite(dram_trace, .init = setup, .fini = teardown);

static char *write_trace(const char *name, const char *text)
{
    char *p = cs_test_path(dir, name);
    cs_test_write(p, text, strlen(text));
    return p;
}

static const uint64_t cap = 512ull << 20;

Test(dram_trace, loadstore)
{
    char *p = write_trace("t.ldst", "# a comment\nLD 0x40\n\nST 4096\r\n  LD\t0X1F00  \nST 0x0");
    cs_dram_trace t;
    cs_error err;
    cr_assert_eq(cs_dram_trace_load(p, CS_DRAM_TRACE_AUTO, cap, false, &t, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(t.format, CS_DRAM_TRACE_LOADSTORE);
    cr_assert_eq(t.count, 4);
    cr_assert_null(t.cycle);
    uint64_t a[] = {0x40, 4096, 0x1f00, 0};
    uint8_t w[] = {0, 1, 0, 1};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(t.addr[i], a[i]);
        cr_assert_eq(t.is_write[i], w[i]);
    }
    cs_dram_trace_free(&t);
    free(p);
}

Test(dram_trace, dramsim3)
{
    char *p = write_trace("t.trace", "0x40 READ 0\n80 WRITE 5\n0xabc0 read 5\n0x100 P_MEM_WR 9\n0x140 P_FETCH 12\n");
    cs_dram_trace t;
    cs_error err;
    cr_assert_eq(cs_dram_trace_load(p, CS_DRAM_TRACE_AUTO, cap, false, &t, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(t.format, CS_DRAM_TRACE_DRAMSIM3);
    cr_assert_eq(t.count, 5);
    cr_assert_eq(t.addr[1], 0x80); /* DRAMsim3 addresses are hexadecimal with or without 0x */
    cr_assert_eq(t.cycle[1], 5);
    cr_assert_eq(t.is_write[1], 1);
    cr_assert_eq(t.is_write[2], 0);
    cr_assert_eq(t.is_write[3], 1);
    cr_assert_eq(t.is_write[4], 0);
    cs_dram_trace_free(&t);
    free(p);
}

static void expect_error(const char *text, cs_dram_trace_format fmt, bool wrap, const char *phrase)
{
    char *p = write_trace("bad.trace", text);
    cs_dram_trace t;
    cs_error err;
    cr_assert_eq(cs_dram_trace_load(p, fmt, cap, wrap, &t, &err), CS_EINPUT, "accepted: %s", text);
    cr_assert(strstr(err.msg, phrase), "message '%s' lacks '%s'", err.msg, phrase);
    cr_assert(strstr(err.msg, "bad.trace"));
    cr_assert(!strchr(err.msg, '\n'));
    cr_assert_null(t.addr);
    free(p);
}

Test(dram_trace, errors_name_file_and_line)
{
    expect_error("LD 0x40\nLOAD 0x80\n", CS_DRAM_TRACE_AUTO, false,
                 "bad.trace:2: expected 'LD ADDRESS' or 'ST ADDRESS', got 'LOAD 0x80'");
    expect_error("LD 0x40\nLD 0x80 7\n", CS_DRAM_TRACE_AUTO, false, "bad.trace:2: expected 'LD ADDRESS'");
    expect_error("LD 0x40\n\nLD 0xg0\n", CS_DRAM_TRACE_AUTO, false, "bad.trace:3: '0xg0' is not an address");
    expect_error("LD 99999999999999999999999\n", CS_DRAM_TRACE_AUTO, false,
                 "bad.trace:1: '99999999999999999999999' is not an address");
    expect_error("LD 0x40\n0x80 READ 0\n", CS_DRAM_TRACE_AUTO, false, "bad.trace:2: expected 'LD ADDRESS'");
    expect_error("0x40 READ 0\nLD 0x80\n", CS_DRAM_TRACE_AUTO, false,
                 "bad.trace:2: expected 'ADDRESS READ|WRITE CYCLE'");
    expect_error("0x40 LOAD 0\n", CS_DRAM_TRACE_AUTO, false, "bad.trace:1: 'LOAD' is not READ or WRITE");
    expect_error("0x40 READ soon\n", CS_DRAM_TRACE_AUTO, false, "bad.trace:1: 'soon' is not a cycle number");
    expect_error("0x40 READ 10\n0x80 READ 9\n", CS_DRAM_TRACE_AUTO, false,
                 "bad.trace:2: cycle 9 is earlier than the previous request's 10");
    expect_error("LD 0x40\nST 0x20000000\n", CS_DRAM_TRACE_AUTO, false,
                 "bad.trace:2: address 0x20000000 is beyond the DRAM's capacity of 536870912 bytes");
    expect_error("LD 0x40\n", CS_DRAM_TRACE_DRAMSIM3, false, "bad.trace:1: expected 'ADDRESS READ|WRITE CYCLE'");
    expect_error("", CS_DRAM_TRACE_AUTO, false, "bad.trace: no requests in the trace");
    expect_error("# only a comment\n\n", CS_DRAM_TRACE_AUTO, false, "bad.trace: no requests in the trace");
}

Test(dram_trace, binary_and_missing)
{
    char *p = cs_test_path(dir, "bin.trace");
    cs_test_write(p, "LD 0x40\n\0\x01", 10);
    cs_dram_trace t;
    cs_error err;
    cr_assert_eq(cs_dram_trace_load(p, CS_DRAM_TRACE_AUTO, cap, false, &t, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "bin.trace: binary data"), "%s", err.msg);
    cr_assert_eq(cs_dram_trace_load("/nonexistent/x.trace", CS_DRAM_TRACE_AUTO, cap, false, &t, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "/nonexistent/x.trace: cannot open"), "%s", err.msg);
    free(p);
}

/* With wrap, addresses lose their bits above the capacity, as in Ramulator. */
Test(dram_trace, wrap)
{
    char *p = write_trace("w.ldst", "LD 0x20000040\n");
    cs_dram_trace t;
    cs_error err;
    cr_assert_eq(cs_dram_trace_load(p, CS_DRAM_TRACE_AUTO, cap, true, &t, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(t.addr[0], 0x40);
    cs_dram_trace_free(&t);
    free(p);
}

/* DRAMsim3 traces are timed: each request is offered at its cycle (one per
 * cycle, in order) and its latency counts from acceptance. */
Test(dram_trace, timed_requests)
{
    char *p = write_trace("t.trace", "0x0 READ 100\n0x20 READ 100\n0x4000000 READ 1000\n");
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_test_log log = {0};
    cs_dram_trace_result res;
    cs_test_run_file(&cfg, p, &res, &log);
    cr_assert_eq(log.cmds[0].cmd, CS_DRAM_ACT);
    cr_assert_eq(log.cmds[0].cycle, 101);
    cr_assert_eq(log.ndone, 3);
    cr_assert_eq(log.done[0].cycle, 100 + 54);
    cr_assert_eq(log.done[1].cycle, 100 + 54 + 4); /* offered at 101, RD nCCDL after the first */
    cr_assert_eq(log.done[2].cycle, 1000 + 81);    /* row conflict in bank 0: PRE, ACT, RD */
    cr_assert_eq(res.at_last_accept.cycles, 1000);
    cr_assert_eq(res.cycles_all_done, 1081);
    cr_assert_eq(res.all_done.read_latency_sum, 54 + 57 + 81);
    cr_assert_eq(res.read_latency_p50, 57);
    cr_assert_eq(res.read_latency_p99, 81);
    cs_test_log_free(&log);
    free(p);
}

Test(dram_trace, run_needs_fresh_model)
{
    char *p = write_trace("t.ldst", "LD 0x0\n");
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_error err;
    cs_dram_trace t;
    cr_assert_eq(cs_dram_trace_load(p, CS_DRAM_TRACE_AUTO, cap, false, &t, &err), CS_OK);
    cs_dram *d = cs_dram_create(&cfg, NULL, NULL, &err);
    cs_dram_advance_to(d, 5);
    cs_dram_trace_result res;
    cr_assert_eq(cs_dram_run_trace(d, &t, &res, &err), CS_ERUNTIME);
    cs_dram_free(d);
    cs_dram_trace_free(&t);
    free(p);
}
