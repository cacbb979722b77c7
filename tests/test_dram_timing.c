/* The GDDR6 model, one timing rule at a time: small request sequences whose
 * command cycles follow from the datasheet parameters by hand. Defaults are
 * the gddr6-14 preset: nRCDRD 27, nCL 24, nBL 2, nRP 27, nRAS 53, nRC 79,
 * nRTP 4, nCWL 6, nWR 27, nCCDS 2, nCCDL 4, nRRDS = nRRDL = 8, nFAW 29,
 * nWTRS 9, nWTRL 11, nREFI 3333, nRFCab 211. */
#include "dram_test.h"

/* A request sent at cycle c is first schedulable at c + 1 (the controller
 * sees it on its next tick), so an unloaded read to a closed bank completes
 * 1 + nRCDRD + nCL + nBL cycles after it was sent. */
Test(dram_timing, unloaded_read_latency_miss_hit_conflict)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    const uint32_t *t = cfg.timing;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_test_send(d, cs_test_addr(0, 0, 5, 0), false, 1);
    cs_test_drain(d);
    cr_assert_eq(log.ndone, 1);
    cr_assert_eq(log.done[0].cycle, 1 + t[CS_DRAM_nRCDRD] + t[CS_DRAM_nCL] + t[CS_DRAM_nBL]); /* 54 */
    cr_assert_eq(log.cmds[0].cmd, CS_DRAM_ACT);
    cr_assert_eq(log.cmds[0].cycle, 1);
    cr_assert_eq(log.cmds[1].cmd, CS_DRAM_RD);
    cr_assert_eq(log.cmds[1].cycle, 1 + t[CS_DRAM_nRCDRD]);

    /* Row hit, long after: 1 + nCL + nBL. */
    cs_dram_advance_to(d, 1000);
    cs_test_send(d, cs_test_addr(0, 0, 5, 1), false, 2);
    cs_test_drain(d);
    cr_assert_eq(log.done[1].cycle - 1000, 1 + t[CS_DRAM_nCL] + t[CS_DRAM_nBL]);

    /* Conflict, long after: 1 + nRP + nRCDRD + nCL + nBL. */
    cs_dram_advance_to(d, 2000);
    cs_test_send(d, cs_test_addr(0, 0, 6, 0), false, 3);
    cs_test_drain(d);
    cr_assert_eq(log.done[2].cycle - 2000, 1 + t[CS_DRAM_nRP] + t[CS_DRAM_nRCDRD] + t[CS_DRAM_nCL] + t[CS_DRAM_nBL]);

    cs_dram_stats s;
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.row_misses, 1);
    cr_assert_eq(s.row_hits, 1);
    cr_assert_eq(s.row_conflicts, 1);
    cr_assert_eq(s.read_latency_sum, 54 + 27 + 81);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* Back-to-back conflict: PREpb waits for nRAS after the ACT and nRTP after
 * the RD; the next ACT waits nRP after the PREpb and nRC after the last ACT. */
Test(dram_timing, ras_rtp_rp_rc)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    const uint32_t *t = cfg.timing;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_test_send(d, cs_test_addr(1, 2, 10, 0), false, 1);
    cs_dram_advance_to(d, 1);
    cs_test_send(d, cs_test_addr(1, 2, 11, 0), false, 2);
    cs_test_drain(d);
    size_t i = 0;
    const cs_test_cmd *act1 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
    const cs_test_cmd *rd1 = cs_test_next_cmd(&log, &i, CS_DRAM_RD);
    const cs_test_cmd *pre = cs_test_next_cmd(&log, &i, CS_DRAM_PREPB);
    const cs_test_cmd *act2 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
    cr_assert(act1 && rd1 && pre && act2);
    uint64_t pre_at = act1->cycle + t[CS_DRAM_nRAS];
    if (rd1->cycle + t[CS_DRAM_nRTP] > pre_at)
        pre_at = rd1->cycle + t[CS_DRAM_nRTP];
    cr_assert_eq(pre->cycle, pre_at); /* 1 + 53 */
    uint64_t act_at = pre->cycle + t[CS_DRAM_nRP];
    if (act1->cycle + t[CS_DRAM_nRC] > act_at)
        act_at = act1->cycle + t[CS_DRAM_nRC];
    cr_assert_eq(act2->cycle, act_at); /* 54 + 27 */
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* Five ACTs to five banks: with nRRD 2 the four-activate window binds and
 * the fifth waits for the first + nFAW. With the preset (nRRD 8 > nFAW/4)
 * it does not. */
static void five_acts(cs_dram_config *cfg, uint64_t *acts)
{
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(cfg, &log);
    for (uint32_t k = 0; k < 5; k++)
        cs_test_send(d, cs_test_addr(k % 4, k / 4, 3, 0), false, k);
    cs_test_drain(d);
    size_t i = 0;
    for (int k = 0; k < 5; k++) {
        const cs_test_cmd *c = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
        cr_assert(c);
        acts[k] = c->cycle;
    }
    cs_dram_free(d);
    cs_test_log_free(&log);
}

Test(dram_timing, faw_blocks_the_fifth_act)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.timing[CS_DRAM_nRRDS] = cfg.timing[CS_DRAM_nRRDL] = 2;
    cfg.timing[CS_DRAM_nRCDRD] = 40; /* keeps the RDs (which go first) out of the way */
    uint64_t a[5];
    five_acts(&cfg, a);
    cr_assert_eq(a[0], 1);
    cr_assert_eq(a[1], 3);
    cr_assert_eq(a[2], 5);
    cr_assert_eq(a[3], 7);
    cr_assert_eq(a[4], 1 + cfg.timing[CS_DRAM_nFAW], "fifth ACT at %llu", (unsigned long long)a[4]); /* 30 */

    cfg = cs_test_preset("gddr6-14");
    five_acts(&cfg, a);
    for (int k = 1; k < 5; k++)
        cr_assert_eq(a[k] - a[k - 1], cfg.timing[CS_DRAM_nRRDS]);
}

Test(dram_timing, rrds_vs_rrdl)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.timing[CS_DRAM_nRRDS] = 5;
    cfg.timing[CS_DRAM_nRRDL] = 12;
    cfg.timing[CS_DRAM_nFAW] = 5;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_test_send(d, cs_test_addr(0, 0, 1, 0), false, 0);
    cs_test_send(d, cs_test_addr(0, 1, 1, 0), false, 1); /* same bank group */
    cs_test_send(d, cs_test_addr(1, 0, 1, 0), false, 2); /* another group */
    cs_test_drain(d);
    size_t i = 0;
    const cs_test_cmd *a0 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT), *a1 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT),
                      *a2 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
    /* FRFCFS is oldest-ready-first: request 1 waits nRRDL, so request 2 (nRRDS) goes first. */
    cr_assert_eq(a0->cycle, 1);
    cr_assert_eq(a1->bank_group, 1);
    cr_assert_eq(a1->cycle, 1 + 5);
    cr_assert_eq(a2->bank_group, 0);
    cr_assert_eq(a2->cycle, 1 + 12);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* Opens `row` in bank 0 of bank groups 0 and 1 and lets every timing
 * constraint settle: afterwards the clock is at 500. */
static void open_rows_in_groups_0_1(cs_dram *d, uint32_t row)
{
    cs_test_send(d, cs_test_addr(0, 0, row, 0), false, 100);
    cs_dram_advance_to(d, 1);
    cs_test_send(d, cs_test_addr(1, 0, row, 0), false, 101);
    cs_test_drain(d);
    cs_dram_advance_to(d, 500);
}

/* Reads to open rows: nCCDL apart within a bank group, nCCDS across. */
Test(dram_timing, ccds_vs_ccdl)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    open_rows_in_groups_0_1(d, 7);
    size_t first = log.ncmds;
    for (uint32_t k = 1; k <= 4; k++) /* alternate bank groups */
        cs_test_send(d, cs_test_addr(k % 2, 0, 7, k), false, 10 + k);
    cs_test_drain(d);
    for (size_t i = first + 1; i < log.ncmds; i++)
        cr_assert_eq(log.cmds[i].cycle - log.cmds[i - 1].cycle, cfg.timing[CS_DRAM_nCCDS]);
    cs_dram_advance_to(d, 1000);
    first = log.ncmds;
    for (uint32_t k = 10; k < 14; k++) /* one bank group */
        cs_test_send(d, cs_test_addr(0, 0, 7, k), false, 10 + k);
    cs_test_drain(d);
    for (size_t i = first + 1; i < log.ncmds; i++)
        cr_assert_eq(log.cmds[i].cycle - log.cmds[i - 1].cycle, cfg.timing[CS_DRAM_nCCDL]);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* RD -> WR: nCL + 1 (Ramulator 2.1's turnaround). WR -> RD: nCWL + nBL +
 * nWTRS across bank groups, nCWL + nBL + nWTRL within one. Writes are posted:
 * they complete when their WR issues. */
Test(dram_timing, read_write_turnarounds)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    const uint32_t *t = cfg.timing;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    open_rows_in_groups_0_1(d, 2);

    /* A read, then a write: the write waits for the read queue to empty
     * (write mode) and for nCL + 1 after the RD. */
    cs_test_send(d, cs_test_addr(0, 0, 2, 1), false, 2);
    cs_test_send(d, cs_test_addr(1, 0, 2, 1), true, 3);
    cs_test_drain(d);
    const cs_test_cmd *rd = &log.cmds[log.ncmds - 2], *wr = &log.cmds[log.ncmds - 1];
    cr_assert_eq(rd->cmd, CS_DRAM_RD);
    cr_assert_eq(wr->cmd, CS_DRAM_WR);
    cr_assert_eq(wr->cycle - rd->cycle, t[CS_DRAM_nCL] + t[CS_DRAM_nRTW_EXTRA]);
    for (size_t i = 0; i < log.ndone; i++)
        if (log.done[i].tag == 3) {
            cr_assert_eq(log.done[i].cycle, wr->cycle);
            cr_assert(log.done[i].is_write);
        } else if (log.done[i].tag == 2) {
            cr_assert_eq(log.done[i].cycle, rd->cycle + t[CS_DRAM_nCL] + t[CS_DRAM_nBL]);
        }

    /* A write, then reads in the other bank group and in the same one. */
    cs_dram_advance_to(d, 1000);
    cs_test_send(d, cs_test_addr(0, 0, 2, 2), true, 4);
    cs_dram_advance_to(d, 1001); /* WR issues at 1001 (the read queue is empty: write mode) */
    cs_test_send(d, cs_test_addr(1, 0, 2, 2), false, 5);
    cs_test_drain(d);
    wr = &log.cmds[log.ncmds - 2];
    rd = &log.cmds[log.ncmds - 1];
    cr_assert_eq(wr->cmd, CS_DRAM_WR);
    cr_assert_eq(rd->cmd, CS_DRAM_RD);
    cr_assert_eq(rd->cycle - wr->cycle, t[CS_DRAM_nCWL] + t[CS_DRAM_nBL] + t[CS_DRAM_nWTRS]); /* 17 */

    cs_dram_advance_to(d, 1500);
    cs_test_send(d, cs_test_addr(0, 0, 2, 3), true, 6);
    cs_dram_advance_to(d, 1501);
    cs_test_send(d, cs_test_addr(0, 0, 2, 4), false, 7);
    cs_test_drain(d);
    wr = &log.cmds[log.ncmds - 2];
    rd = &log.cmds[log.ncmds - 1];
    cr_assert_eq(rd->cycle - wr->cycle, t[CS_DRAM_nCWL] + t[CS_DRAM_nBL] + t[CS_DRAM_nWTRL]); /* 19 */
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* Write recovery: a conflicting access after a write precharges no earlier
 * than nCWL + nBL + nWR after the WR. */
Test(dram_timing, write_recovery)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    const uint32_t *t = cfg.timing;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_test_send(d, cs_test_addr(2, 3, 4, 0), true, 0);
    cs_test_drain(d);
    cs_dram_advance_to(d, 200);
    cs_test_send(d, cs_test_addr(2, 3, 4, 1), true, 1);
    cs_dram_advance_to(d, 201);
    cs_test_send(d, cs_test_addr(2, 3, 5, 0), false, 2);
    cs_test_drain(d);
    size_t i = 2;
    const cs_test_cmd *wr = cs_test_next_cmd(&log, &i, CS_DRAM_WR), *pre = cs_test_next_cmd(&log, &i, CS_DRAM_PREPB);
    cr_assert(wr && pre);
    cr_assert_eq(wr->cycle, 201);
    cr_assert_eq(pre->cycle - wr->cycle, t[CS_DRAM_nCWL] + t[CS_DRAM_nBL] + t[CS_DRAM_nWR]); /* 35 */
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* All-bank refresh: a REFab falls due every nREFI; with all banks closed it
 * issues on that very cycle, with a row open a PREab goes first (nRP before
 * the REFab), and nothing issues for nRFCab after it. */
Test(dram_timing, refresh_every_nrefi)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    const uint32_t *t = cfg.timing;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_dram_advance_to(d, 10ull * t[CS_DRAM_nREFI] + 5);
    cr_assert_eq(log.ncmds, 10);
    for (size_t k = 0; k < 10; k++) {
        cr_assert_eq(log.cmds[k].cmd, CS_DRAM_REFAB);
        cr_assert_eq(log.cmds[k].cycle, (k + 1) * t[CS_DRAM_nREFI]);
    }
    /* Open a row just before the next refresh; ask for a read right after it. */
    uint64_t due = 11ull * t[CS_DRAM_nREFI];
    cs_dram_advance_to(d, due - 200);
    cs_test_send(d, cs_test_addr(0, 0, 1, 0), false, 0);
    cs_test_drain(d);
    cs_dram_advance_to(d, due);
    cs_test_send(d, cs_test_addr(0, 0, 1, 1), false, 1);
    cs_test_drain(d);
    size_t i = 10;
    const cs_test_cmd *pre = cs_test_next_cmd(&log, &i, CS_DRAM_PREAB),
                      *ref = cs_test_next_cmd(&log, &i, CS_DRAM_REFAB),
                      *act = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
    cr_assert(pre && ref && act);
    cr_assert_eq(pre->cycle, due);
    cr_assert_eq(ref->cycle, pre->cycle + t[CS_DRAM_nRP]);
    cr_assert_eq(act->cycle, ref->cycle + t[CS_DRAM_nRFCab]);
    cs_dram_stats s;
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.commands[CS_DRAM_REFAB], 11);
    cr_assert_eq(s.refreshes_requested, 11);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

Test(dram_timing, per_bank_refresh_round_robin)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.refresh = CS_DRAM_REFRESH_PER_BANK;
    uint32_t every = cfg.timing[CS_DRAM_nREFI] / 16;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_dram_advance_to(d, 32ull * every);
    cr_assert_eq(log.ncmds, 32);
    for (uint32_t k = 0; k < 32; k++) {
        cr_assert_eq(log.cmds[k].cmd, CS_DRAM_REFPB);
        cr_assert_eq(log.cmds[k].cycle, (k + 1ull) * every);
        cr_assert_eq(log.cmds[k].bank_group * 4 + log.cmds[k].bank, (int)(k % 16));
    }
    /* Other banks keep working (only nRREFD after any REFpb binds them); a
     * bank just refreshed waits nRFCpb. */
    cs_dram_advance_to(d, 32ull * every + 50);
    cs_test_send(d, cs_test_addr(0, 1, 1, 0), false, 0); /* flat bank 1 */
    cs_dram_advance_to(d, 33ull * every);                 /* REFpb of flat bank 0 */
    cs_test_send(d, cs_test_addr(0, 0, 1, 0), false, 1);
    cs_test_drain(d);
    size_t i = 32;
    const cs_test_cmd *a = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
    cr_assert_eq(a->cycle, 32ull * every + 51);
    i = 32;
    const cs_test_cmd *ref = cs_test_next_cmd(&log, &i, CS_DRAM_REFPB);
    cr_assert_eq(ref->cycle, 33ull * every);
    const cs_test_cmd *a2 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
    cr_assert_eq(a2->cycle, ref->cycle + cfg.timing[CS_DRAM_nRFCpb]);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* A read stream that rotates over the bank groups (RoBaCoBg: bank-group bits
 * lowest, then a whole row per bank) reaches the data-bus peak
 * 32 B / (nCCDS tCK) = 28.07 GB/s at 14 Gb/s: each ACT is issued a read
 * buffer's length ahead of its data. All-bank refresh takes its share (about
 * nRP + nRFCab + a reopening of nREFI = 3333 cycles). */
static double stream_gbps(cs_dram_refresh refresh, double *peak)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    snprintf(cfg.mapping, sizeof cfg.mapping, "RoBaCoBg");
    cfg.refresh = refresh;
    *peak = cs_dram_peak_gbps_per_channel(&cfg);
    cs_error err;
    cs_dram *d = cs_dram_create(&cfg, NULL, NULL, &err);
    cr_assert(d, "%s", err.msg);
    const uint64_t n = 200000;
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            cs_dram_advance_to(d, cs_dram_cycle(d) + 1);
        while (!cs_dram_try_send(d, 32 * i, false, i))
            cs_dram_advance_to(d, cs_dram_next_event(d));
    }
    cs_test_drain(d); /* until the last data has returned */
    double gbps = (double)n * 32 / ((double)cs_dram_cycle(d) * cs_dram_tck_ns(&cfg));
    cs_dram_free(d);
    return gbps;
}

Test(dram_timing, peak_streaming_bandwidth)
{
    double peak;
    double none = stream_gbps(CS_DRAM_REFRESH_NONE, &peak);
    cr_assert_float_eq(peak, 32 / (2 * 0.570), 1e-9);
    cr_assert(none <= peak && none > 0.995 * peak, "no refresh: %.3f GB/s of %.3f", none, peak);
    double with = stream_gbps(CS_DRAM_REFRESH_ALL_BANK, &peak);
    cr_assert(with < none && with > 0.90 * peak, "all-bank refresh: %.3f GB/s of %.3f", with, peak);
}

/* Closed-row policy: a read nobody else wants to the same row auto-
 * precharges (RDA), so the next read of that row is a miss, not a hit. */
Test(dram_timing, closed_row_policy)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.row_policy = CS_DRAM_ROW_CLOSED;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_test_send(d, cs_test_addr(0, 0, 9, 0), false, 0);
    cs_test_send(d, cs_test_addr(0, 0, 9, 1), false, 1);
    cs_test_drain(d);
    cr_assert_eq(log.ncmds, 3);
    cr_assert_eq(log.cmds[1].cmd, CS_DRAM_RD);  /* the second read still wants the row */
    cr_assert_eq(log.cmds[2].cmd, CS_DRAM_RDA); /* nobody else does */
    cs_dram_advance_to(d, 1000);
    cs_test_send(d, cs_test_addr(0, 0, 9, 2), false, 2);
    cs_test_drain(d);
    cr_assert_eq(log.cmds[3].cmd, CS_DRAM_ACT);
    cr_assert_eq(log.cmds[3].cycle, 1001);
    cs_dram_stats s;
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.row_misses, 2);
    cr_assert_eq(s.row_hits, 1);
    cs_dram_free(d);
    cs_test_log_free(&log);
}
