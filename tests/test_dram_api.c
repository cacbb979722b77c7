/* The request-level API: event skipping is exact, completions are reported
 * once and in order, back-pressure, forwarding and coalescing, channels and
 * address mapping. */
#include "dram_test.h"

/* The trace runner jumps from event to event. Stepping every single cycle
 * and offering the next request on each must give the very same commands
 * and completions: skipping idle cycles changes nothing. */
static void step_every_cycle(const cs_dram_config *cfg, const char *path, cs_test_log *log)
{
    cs_error err;
    cs_dram_trace tr;
    cr_assert_eq(cs_dram_trace_load(path, CS_DRAM_TRACE_AUTO, 0, false, &tr, &err), CS_OK);
    cs_dram *d = cs_test_model(cfg, log);
    size_t next = 0;
    while (next < tr.count || cs_dram_in_flight(d)) {
        if (next < tr.count && cs_dram_try_send(d, tr.addr[next], tr.is_write[next], next))
            next++;
        cs_dram_advance_to(d, cs_dram_cycle(d) + 1);
    }
    cs_dram_free(d);
    cs_dram_trace_free(&tr);
}

static void check_skipping_exact(const cs_dram_config *cfg, const char *trace)
{
    cs_test_log jump = {0}, step = {0};
    cs_dram_trace_result res;
    cs_test_run_file(cfg, trace, &res, &jump);
    step_every_cycle(cfg, trace, &step);
    cr_assert_eq(jump.ncmds, step.ncmds, "%s: %zu vs %zu commands", trace, jump.ncmds, step.ncmds);
    for (size_t i = 0; i < jump.ncmds; i++) {
        const cs_test_cmd *a = &jump.cmds[i], *b = &step.cmds[i];
        cr_assert(a->cycle == b->cycle && a->channel == b->channel && a->cmd == b->cmd &&
                      a->bank_group == b->bank_group && a->bank == b->bank && a->row == b->row &&
                      a->column == b->column,
                  "%s: command %zu differs: %s at %llu vs %s at %llu", trace, i, cs_dram_cmd_name(a->cmd),
                  (unsigned long long)a->cycle, cs_dram_cmd_name(b->cmd), (unsigned long long)b->cycle);
    }
    cr_assert_eq(jump.ndone, step.ndone);
    for (size_t i = 0; i < jump.ndone; i++)
        cr_assert(jump.done[i].tag == step.done[i].tag && jump.done[i].cycle == step.done[i].cycle);
    cs_test_log_free(&jump);
    cs_test_log_free(&step);
}

Test(dram_api, event_skipping_is_exact)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    check_skipping_exact(&cfg, CS_DRAM_DATA "/stream_20000.ldst");
    check_skipping_exact(&cfg, CS_DRAM_DATA "/random_20000.ldst");
}

Test(dram_api, event_skipping_is_exact_other_configs)
{
    cs_dram_config cfg = cs_test_preset("gddr6-16");
    cfg.channels = 4;
    cfg.row_policy = CS_DRAM_ROW_CLOSED;
    cfg.refresh = CS_DRAM_REFRESH_PER_BANK;
    cfg.read_queue = 8;
    cfg.write_queue = 12;
    check_skipping_exact(&cfg, CS_DRAM_DATA "/stream_20000.ldst");
    check_skipping_exact(&cfg, CS_DRAM_DATA "/random_20000.ldst");
}

/* Every request completes exactly once, in cycle order; a read completes
 * nCL + nBL after its RD, a write when its WR issues. */
Test(dram_api, completions)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_test_log log = {0};
    cs_dram_trace_result res;
    cs_test_run_file(&cfg, CS_DRAM_DATA "/random_20000.ldst", &res, &log);
    cr_assert_eq(log.ndone, 20000);
    bool *seen = calloc(20000, 1);
    for (size_t i = 0; i < log.ndone; i++) {
        cr_assert(log.done[i].tag < 20000 && !seen[log.done[i].tag]);
        seen[log.done[i].tag] = true;
        if (i)
            cr_assert(log.done[i].cycle >= log.done[i - 1].cycle);
    }
    free(seen);
    /* Each RD's data returns 26 cycles later; each WR completes at once. */
    size_t reads = 0, writes = 0;
    for (size_t i = 0; i < log.ncmds; i++)
        if (log.cmds[i].cmd == CS_DRAM_RD)
            reads++;
        else if (log.cmds[i].cmd == CS_DRAM_WR)
            writes++;
    cr_assert_eq(reads + writes, 20000);
    cr_assert_eq(res.all_done.reads_done + res.all_done.writes_done, 20000);
    cr_assert_eq(res.cycles_all_done, log.done[log.ndone - 1].cycle);
    cs_test_log_free(&log);
}

/* A full read queue refuses; an ACT moves a request to the active buffer
 * and frees its entry. */
Test(dram_api, back_pressure)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.read_queue = 4;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    for (uint32_t k = 0; k < 4; k++)
        cs_test_send(d, cs_test_addr(k, 0, 1, 0), false, k);
    cr_assert_not(cs_dram_try_send(d, cs_test_addr(0, 1, 1, 0), false, 4));
    cr_assert_not(cs_dram_try_send(d, cs_test_addr(0, 1, 1, 0), false, 4)); /* still */
    cr_assert(cs_dram_try_send(d, cs_test_addr(0, 1, 1, 0), true, 5));      /* writes have their own queue */
    uint64_t next = cs_dram_next_event(d);
    cr_assert_eq(next, 1);
    cs_dram_advance_to(d, next); /* ACT of request 0 */
    cs_test_send(d, cs_test_addr(0, 1, 1, 0), false, 4);
    cr_assert_eq(cs_dram_in_flight(d), 6);
    cs_test_drain(d);
    cr_assert_eq(log.ndone, 6);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* cs_dram_refusal_watch: while the counter it returns keeps its value, the
 * refused request is refused again, on every cycle of a real trace with
 * small queues (so that most requests are refused at first); once it moves
 * the request is offered again and the trace completes. */
Test(dram_api, refusal_watch)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.channels = 2;
    cfg.read_queue = 4;
    cfg.write_queue = 4;
    cs_error err;
    cs_dram_trace tr;
    cr_assert_eq(cs_dram_trace_load(CS_DRAM_DATA "/random_20000.ldst", CS_DRAM_TRACE_AUTO, 0, false, &tr, &err), CS_OK);
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    size_t next = 0, refused_again = 0, watches = 0;
    const uint64_t *watch = NULL;
    uint64_t value = 0;
    while (next < tr.count || cs_dram_in_flight(d)) {
        if (next < tr.count) {
            if (watch && *watch == value) {
                cr_assert_not(cs_dram_try_send(d, tr.addr[next], tr.is_write[next], next), "request %zu", next);
                refused_again++;
            } else if (cs_dram_try_send(d, tr.addr[next], tr.is_write[next], next)) {
                next++;
                watch = NULL;
            } else {
                watch = cs_dram_refusal_watch(d, &value);
                cr_assert(watch && *watch == value);
                watches++;
            }
        }
        cs_dram_advance_to(d, cs_dram_cycle(d) + 1);
        /* ~0.2 M cycles suffice: a watch that never moves fails here rather than hangs */
        cr_assert_lt(cs_dram_cycle(d), 10000000, "stuck at request %zu", next);
    }
    cr_assert_eq(log.ndone, tr.count);
    cr_assert_gt(watches, 1000, "the queues were never full (%zu refusals)", watches);
    cr_assert_gt(refused_again, 1000);
    cs_dram_free(d);
    cs_test_log_free(&log);
    cs_dram_trace_free(&tr);
}

/* A read of an address whose write is still buffered is answered from the
 * write buffer one cycle later, even with the read queue full; a second
 * write to it merges. Both count as accepted, neither as served. */
Test(dram_api, forwarding_and_coalescing)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.read_queue = 1;
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    cs_test_send(d, cs_test_addr(3, 3, 3, 3), false, 0); /* fills the read queue */
    cs_test_send(d, 0x1000, true, 1);
    cs_test_send(d, 0x1000, false, 2); /* forwarded */
    cs_test_send(d, 0x1000, true, 3);  /* coalesced */
    cr_assert_not(cs_dram_try_send(d, 0x2000, false, 4));
    cs_dram_advance_to(d, 1);
    cr_assert_eq(log.ndone, 2);
    cr_assert(log.done[0].tag == 2 && log.done[0].cycle == 1 && !log.done[0].is_write);
    cr_assert(log.done[1].tag == 3 && log.done[1].cycle == 1 && log.done[1].is_write);
    cs_test_drain(d);
    cs_dram_stats s;
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.reads, 2);
    cr_assert_eq(s.writes, 2);
    cr_assert_eq(s.reads_forwarded, 1);
    cr_assert_eq(s.writes_coalesced, 1);
    cr_assert_eq(s.reads_served, 1);
    cr_assert_eq(s.writes_served, 1);
    cr_assert_eq(s.reads_done, 2);
    cr_assert_eq(s.writes_done, 2);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* Idle, the next event is the next refresh; nothing at all without refresh.
 * Advancing short of the next event changes nothing but the clock. */
Test(dram_api, next_event)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_dram *d = cs_dram_create(&cfg, NULL, NULL, NULL);
    cr_assert_eq(cs_dram_next_event(d), 3333);
    cs_dram_advance_to(d, 3332);
    cs_dram_stats s;
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.cycles, 3332);
    cr_assert_eq(s.commands[CS_DRAM_REFAB], 0);
    cs_dram_advance_to(d, 3333);
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.commands[CS_DRAM_REFAB], 1);
    cs_dram_advance_to(d, 100); /* the past: nothing */
    cr_assert_eq(cs_dram_cycle(d), 3333);
    cs_dram_free(d);
    cfg.refresh = CS_DRAM_REFRESH_NONE;
    d = cs_dram_create(&cfg, NULL, NULL, NULL);
    cr_assert_eq(cs_dram_next_event(d), UINT64_MAX);
    cs_test_send(d, 0, false, 0);
    cr_assert_eq(cs_dram_next_event(d), 1);
    cs_dram_advance_to(d, 1);
    cr_assert_eq(cs_dram_next_event(d), 28); /* the RD, nRCDRD after the ACT */
    cs_dram_advance_to(d, 28);
    cr_assert_eq(cs_dram_next_event(d), 54); /* the data */
    cs_dram_advance_to(d, 54);
    cr_assert_eq(cs_dram_in_flight(d), 0);
    cr_assert_eq(cs_dram_next_event(d), UINT64_MAX);
    cs_dram_free(d);
}

/* CacheLineInterleave: 32-B blocks go round the channels; each channel is
 * its own controller with its own banks. Address bits above the capacity
 * are ignored. */
Test(dram_api, channels_and_wrap)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cfg.channels = 4;
    cr_assert_eq(cs_dram_capacity_bytes(&cfg), 2048ull << 20);
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    for (uint64_t k = 0; k < 4; k++)
        cs_test_send(d, 32 * k, false, k);
    cs_test_drain(d);
    cr_assert_eq(log.ncmds, 8);
    for (uint32_t ch = 0; ch < 4; ch++) {
        cr_assert_eq(cs_dram_bank_activations(d, ch, 0), 1);
        cr_assert_eq(log.cmds[ch].channel, ch); /* all four ACT at cycle 1, in channel order */
        cr_assert_eq(log.cmds[ch].cycle, 1);
    }
    /* Block 4 is channel 0's second block: its column 1 of the open row. */
    cs_test_send(d, 32 * 4 + cs_dram_capacity_bytes(&cfg), false, 9);
    cs_test_drain(d);
    cr_assert_eq(log.cmds[8].cmd, CS_DRAM_RD);
    cr_assert_eq(log.cmds[8].channel, 0);
    cr_assert_eq(log.cmds[8].column, 1);
    cs_dram_stats s;
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.row_hits, 1);
    cr_assert_eq(s.row_misses, 4);
    cs_dram_free(d);
    cs_test_log_free(&log);
}

/* Mappings name the bit order: RoBaRaCoCh keeps 2 KB in one bank;
 * RoCoBaRaCh moves to the next bank every 32 B (bank group first). */
Test(dram_api, mappings)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    snprintf(cfg.mapping, sizeof cfg.mapping, "RoCoBaRaCh");
    cs_test_log log = {0};
    cs_dram *d = cs_test_model(&cfg, &log);
    for (uint64_t k = 0; k < 16; k++)
        cs_test_send(d, 32 * k, false, k);
    cs_test_drain(d);
    for (uint32_t b = 0; b < 16; b++)
        cr_assert_eq(cs_dram_bank_activations(d, 0, b), 1);
    size_t i = 0;
    const cs_test_cmd *a0 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT), *a1 = cs_test_next_cmd(&log, &i, CS_DRAM_ACT);
    cr_assert(a0->bank_group == 0 && a0->bank == 0);
    cr_assert(a1->bank_group == 1 && a1->bank == 0);
    cs_dram_free(d);
    cs_test_log_free(&log);

    snprintf(cfg.mapping, sizeof cfg.mapping, "RoBaRaCoCh");
    log = (cs_test_log){0};
    d = cs_test_model(&cfg, &log);
    for (uint64_t k = 0; k <= 64; k++) /* more than the read queue holds: wait for room */
        while (!cs_dram_try_send(d, 32 * k, false, k))
            cs_dram_advance_to(d, cs_dram_next_event(d));
    cs_test_drain(d);
    cr_assert_eq(cs_dram_bank_activations(d, 0, 0), 1);
    cr_assert_eq(cs_dram_bank_activations(d, 0, 4), 1); /* block 64: bank group 1, bank 0 = flat 4 */
    cs_dram_free(d);
    cs_test_log_free(&log);
}

Test(dram_api, latency_quantiles)
{
    cs_dram_config cfg = cs_test_preset("gddr6-14");
    cs_dram *d = cs_dram_create(&cfg, NULL, NULL, NULL);
    cr_assert_eq(cs_dram_read_latency_quantile(d, 0.5), 0);
    cs_test_send(d, 0, false, 0);
    cs_test_drain(d);
    cs_dram_advance_to(d, 200);
    for (uint32_t k = 1; k <= 3; k++) /* row hits, nCCDL apart: 27, 31, 35 */
        cs_test_send(d, 32 * k, false, k);
    cs_test_drain(d);
    cr_assert_eq(cs_dram_read_latency_quantile(d, 0), 27);
    cr_assert_eq(cs_dram_read_latency_quantile(d, 0.5), 31);
    cr_assert_eq(cs_dram_read_latency_quantile(d, 0.75), 35);
    cr_assert_eq(cs_dram_read_latency_quantile(d, 1), 54);
    cs_dram_stats s;
    cs_dram_get_stats(d, &s);
    cr_assert_eq(s.read_latency_max, 54);
    cs_dram_free(d);
}
