/* The GDDR6 device of one channel: bank states and timing. A command's
 * timing is "earliest issue cycle per (node, command)": issuing command C at
 * a node raises, for every rule C -> F of that node's level, the node's
 * earliest cycle for F to (the window-th most recent C) + latency. Checking a
 * command is the max over the nodes on its path (channel, bank group, bank).
 * This is Ramulator 2.1's DRAMNode model, which the validation depends on. */
#include "dram_internal.h"

#include <string.h>

void cs__device_init(cs__device *dev, const cs__timing *timing, const cs_dram_config *cfg)
{
    memset(dev, 0, sizeof *dev);
    dev->timing = timing;
    dev->bank_groups = cfg->bank_groups;
    dev->banks_per_group = cfg->banks_per_group;
    dev->banks = cfg->bank_groups * cfg->banks_per_group;
    while ((1u << dev->bank_bits) < cfg->banks_per_group)
        dev->bank_bits++;
    for (uint32_t b = 0; b < CS_DRAM_MAX_BANKS; b++)
        dev->open_row[b] = CS__ROW_CLOSED;
    /* ready = 0 means "no constraint": the first tick is cycle 1. */
    memset(dev->ch_hist, 0xff, sizeof dev->ch_hist); /* all -1 */
    memset(dev->bg_hist, 0xff, sizeof dev->bg_hist);
    memset(dev->bank_hist, 0xff, sizeof dev->bank_hist);
}

static inline void cs__node_issue(const cs__timing *tm, int level, cs_dram_cmd cmd, int64_t *restrict ready,
                                  int64_t (*hist)[CS__MAX_WINDOW], int64_t t)
{
    const int64_t *restrict lat = tm->after[level][cmd];
    for (int f = 0; f < 8; f++) { /* one line (CS__ROW) */
        int64_t at = t + lat[f];
        ready[f] = at > ready[f] ? at : ready[f];
    }
    if (!tm->beyond_line[level][cmd])
        return;
    const int64_t *tail = tm->after_tail[level][cmd];
    for (int f = 8; f < CS_DRAM_NCMDS; f++) /* the next line, written only where it rises */
        if (t + tail[f - 8] > ready[f])
            ready[f] = t + tail[f - 8];
    uint32_t depth = tm->history[level][cmd];
    if (!depth)
        return;
    int64_t *h = hist[cmd];
    for (uint32_t i = depth - 1; i > 0; i--)
        h[i] = h[i - 1];
    h[0] = t;
    const cs__follow *w = tm->windowed[level][cmd];
    for (uint32_t i = 0; i < tm->nwindowed[level][cmd]; i++) {
        int64_t from = h[w[i].window - 1];
        if (from < 0)
            continue; /* fewer than `window` such commands so far */
        int64_t at = from + w[i].latency;
        if (at > ready[w[i].following])
            ready[w[i].following] = at;
    }
}

/* Compiled for AVX-512, AVX2 and baseline x86-64, chosen at load time (GCC
 * target_clones): the rule updates are element-wise maxima over 64-bit
 * lanes. Off under sanitizers, whose instrumentation does not support
 * ifunc. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CS__DEVICE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CS__DEVICE_CLONES
#endif

CS__DEVICE_CLONES void cs__device_issue(cs__device *dev, cs_dram_cmd cmd, int bank, uint32_t row, int64_t t)
{
    const cs__timing *tm = dev->timing;
    cs__node_issue(tm, CS__LEVEL_CHANNEL, cmd, dev->ch_ready, dev->ch_hist, t);
    if (bank < 0) {
        for (uint32_t g = 0; g < dev->bank_groups; g++)
            cs__node_issue(tm, CS__LEVEL_BANKGROUP, cmd, dev->bg_ready[g], dev->bg_hist[g], t);
        for (uint32_t b = 0; b < dev->banks; b++)
            cs__node_issue(tm, CS__LEVEL_BANK, cmd, dev->bank_ready[b], dev->bank_hist[b], t);
    } else {
        uint32_t g = (uint32_t)bank >> dev->bank_bits;
        cs__node_issue(tm, CS__LEVEL_BANKGROUP, cmd, dev->bg_ready[g], dev->bg_hist[g], t);
        cs__node_issue(tm, CS__LEVEL_BANK, cmd, dev->bank_ready[bank], dev->bank_hist[bank], t);
    }
    switch (cmd) {
    case CS_DRAM_ACT:
        if (dev->open_row[bank] == CS__ROW_CLOSED)
            dev->open_banks++;
        dev->open_row[bank] = row;
        dev->open_mask |= 1u << bank;
        break;
    case CS_DRAM_PREPB:
    case CS_DRAM_RDA:
    case CS_DRAM_WRA:
        if (dev->open_row[bank] != CS__ROW_CLOSED)
            dev->open_banks--;
        dev->open_row[bank] = CS__ROW_CLOSED;
        dev->open_mask &= ~(1u << bank);
        break;
    case CS_DRAM_PREAB:
        for (uint32_t b = 0; b < dev->banks; b++)
            dev->open_row[b] = CS__ROW_CLOSED;
        dev->open_banks = 0;
        dev->open_mask = 0;
        break;
    default: /* RD, WR, REFab, REFpb leave the banks as they are */
        break;
    }
}

int64_t cs__device_ready_all(const cs__device *dev, cs_dram_cmd cmd)
{
    int64_t r = dev->ch_ready[cmd];
    for (uint32_t g = 0; g < dev->bank_groups; g++)
        r = cs__max64(r, dev->bg_ready[g][cmd]);
    for (uint32_t b = 0; b < dev->banks; b++)
        r = cs__max64(r, dev->bank_ready[b][cmd]);
    return r;
}
