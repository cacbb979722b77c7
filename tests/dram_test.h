/* Helpers for the DRAM model's tests: presets, a recorder of issued commands
 * and completions, and trace runs. Header-only: each test executable uses a
 * different subset. */
#ifndef CS_DRAM_TEST_H
#define CS_DRAM_TEST_H

#include "colscope/dram.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define CS_DRAM_DATA CS_TEST_DATA_DIR "/dram"

typedef struct cs_test_cmd {
    uint64_t cycle;
    uint32_t channel;
    cs_dram_cmd cmd;
    int bank_group, bank;
    int64_t row;
    int column;
} cs_test_cmd;

typedef struct cs_test_done {
    uint64_t tag, cycle;
    bool is_write;
} cs_test_done;

/* What a model did: every command and every completion, in order. */
typedef struct cs_test_log {
    cs_test_cmd *cmds;
    size_t ncmds, cap_cmds;
    cs_test_done *done;
    size_t ndone, cap_done;
} cs_test_log;

static inline void cs_test_log_command(void *user, uint64_t cycle, uint32_t channel, cs_dram_cmd cmd,
                                       int bank_group, int bank, int64_t row, int column)
{
    cs_test_log *l = user;
    if (l->ncmds == l->cap_cmds) {
        l->cap_cmds = l->cap_cmds ? 2 * l->cap_cmds : 1024;
        l->cmds = realloc(l->cmds, l->cap_cmds * sizeof *l->cmds);
        cr_assert(l->cmds);
    }
    l->cmds[l->ncmds++] = (cs_test_cmd){cycle, channel, cmd, bank_group, bank, row, column};
}

static inline void cs_test_log_done(void *user, uint64_t tag, uint64_t cycle, bool is_write)
{
    cs_test_log *l = user;
    if (l->ndone == l->cap_done) {
        l->cap_done = l->cap_done ? 2 * l->cap_done : 1024;
        l->done = realloc(l->done, l->cap_done * sizeof *l->done);
        cr_assert(l->done);
    }
    l->done[l->ndone++] = (cs_test_done){tag, cycle, is_write};
}

static inline void cs_test_log_free(cs_test_log *l)
{
    free(l->cmds);
    free(l->done);
    memset(l, 0, sizeof *l);
}

/* The first command of a kind at or after index *from (which it advances);
 * NULL if none. */
static inline const cs_test_cmd *cs_test_next_cmd(const cs_test_log *l, size_t *from, cs_dram_cmd cmd)
{
    for (size_t i = *from; i < l->ncmds; i++)
        if (l->cmds[i].cmd == cmd) {
            *from = i + 1;
            return &l->cmds[i];
        }
    return NULL;
}

static inline size_t cs_test_count_cmd(const cs_test_log *l, cs_dram_cmd cmd)
{
    size_t n = 0;
    for (size_t i = 0; i < l->ncmds; i++)
        n += l->cmds[i].cmd == cmd;
    return n;
}

static inline cs_dram_config cs_test_preset(const char *name)
{
    cs_dram_config cfg;
    cs_error err;
    cr_assert_eq(cs_dram_config_preset(&cfg, name, &err), CS_OK, "%s", err.msg);
    return cfg;
}

/* A model that logs into l. */
static inline cs_dram *cs_test_model(const cs_dram_config *cfg, cs_test_log *l)
{
    cs_error err;
    cs_dram *d = cs_dram_create(cfg, cs_test_log_done, l, &err);
    cr_assert(d, "%s", err.msg);
    cs_dram_set_command_hook(d, cs_test_log_command, l);
    return d;
}

/* Sends one request now, which must be accepted. */
static inline void cs_test_send(cs_dram *d, uint64_t addr, bool is_write, uint64_t tag)
{
    cr_assert(cs_dram_try_send(d, addr, is_write, tag), "request 0x%llx refused", (unsigned long long)addr);
}

/* Advances until every accepted request has completed. */
static inline void cs_test_drain(cs_dram *d)
{
    while (cs_dram_in_flight(d)) {
        uint64_t next = cs_dram_next_event(d);
        cr_assert_neq(next, UINT64_MAX, "model stalled with requests in flight");
        cs_dram_advance_to(d, next);
    }
}

/* Byte address of (bank group, bank, row, column) in one channel under the
 * default RoBaRaCoCh mapping of the gddr6 presets. */
static inline uint64_t cs_test_addr(uint32_t bg, uint32_t bank, uint32_t row, uint32_t col)
{
    return ((((uint64_t)row << 2 | bank) << 2 | bg) << 6 | col) << 5;
}

static inline void cs_test_run_file(const cs_dram_config *cfg, const char *path, cs_dram_trace_result *res,
                                    cs_test_log *log)
{
    cs_error err;
    cs_dram_trace tr;
    cr_assert_eq(cs_dram_trace_load(path, CS_DRAM_TRACE_AUTO, cs_dram_capacity_bytes(cfg), false, &tr, &err), CS_OK,
                 "%s", err.msg);
    cs_dram *d = log ? cs_test_model(cfg, log) : cs_dram_create(cfg, NULL, NULL, &err);
    cr_assert(d, "%s", err.msg);
    cr_assert_eq(cs_dram_run_trace(d, &tr, res, &err), CS_OK, "%s", err.msg);
    cs_dram_free(d);
    cs_dram_trace_free(&tr);
}

#endif
