/* The memory system: channels (one controller each), cache-line interleaving
 * over them, the address mapping inside a channel, and the public API. */
#include "dram_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t cs__log2(uint64_t v)
{
    uint32_t b = 0;
    while (v > 1) {
        v >>= 1;
        b++;
    }
    return b;
}

/* Lays out the address fields of cfg->mapping from the LSB of addr >> 5, as
 * Ramulator's RoBaRaCoCh-family mappers do: "Ba" is bank group and bank
 * together (bank group in the low bits) unless "Bg" is given separately;
 * "Ra" and "Ch" take no bits (no ranks; channels are chosen before). */
static void cs__layout(cs_dram *d)
{
    const cs_dram_config *cfg = &d->cfg;
    char order[6];
    size_t n = cs__dram_parse_mapping(cfg->mapping, order);
    d->bank_includes_group = memchr(order, 'g', n) == NULL;
    d->bank_group_bits = cs__log2(cfg->bank_groups);
    uint32_t shift = 0;
    for (size_t i = 0; i < n; i++) {
        cs__field *f = NULL;
        uint32_t bits = 0;
        switch (order[i]) {
        case 'c':
            f = &d->f_column;
            bits = cs__log2(cfg->columns / 16);
            break;
        case 'a':
            f = &d->f_bank;
            bits = cs__log2(cfg->banks_per_group) + (d->bank_includes_group ? cs__log2(cfg->bank_groups) : 0);
            break;
        case 'g':
            f = &d->f_bankgroup;
            bits = cs__log2(cfg->bank_groups);
            break;
        case 'o':
            f = &d->f_row;
            bits = cs__log2(cfg->rows);
            break;
        default: /* Ra, Ch */
            break;
        }
        if (f)
            *f = (cs__field){shift, bits, (1u << bits) - 1};
        shift += bits;
    }
    /* The flat bank of each value of the bank-group and bank fields, so
     * that an arrival decodes its bank with one look-up (cs_dram_try_send). */
    uint32_t bpg = cfg->banks_per_group;
    for (uint32_t g = 0; g < 1u << d->f_bankgroup.bits; g++)
        for (uint32_t b = 0; b < 1u << d->f_bank.bits; b++) {
            uint32_t bank = d->bank_includes_group
                                ? (b & (cfg->bank_groups - 1)) * bpg + (b >> d->bank_group_bits)
                                : g * bpg + b;
            d->bank_of[g << d->f_bank.bits | b] = (uint8_t)bank;
        }
}

static void cs__update_next_tick(cs_dram *d)
{
    int64_t n = CS__INF;
    for (uint32_t i = 0; i < d->nchan; i++)
        if (d->chan[i].next_tick < n)
            n = d->chan[i].next_tick;
    d->next_tick = n;
}

cs_dram *cs_dram_create(const cs_dram_config *cfg, cs_dram_complete_fn on_complete, void *user, cs_error *err)
{
    if (cs_dram_config_check(cfg, err) != CS_OK)
        return NULL;
    /* Line-aligned, as the timing rows in it are (CS__ROW). */
    cs_dram *d = aligned_alloc(64, sizeof *d);
    if (d)
        memset(d, 0, sizeof *d);
    if (!d) {
        cs_error_set(err, CS_ERUNTIME, "DRAM model: out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    cs__timing_compile(&d->timing, cfg);
    cs__layout(d);
    d->nchan = cfg->channels;
    d->chan_bits = cs__log2(cfg->channels);
    d->local_shift = 5 + d->chan_bits;
    d->addr_mask = cs_dram_capacity_bytes(cfg) - 1;
    d->read_latency = cs_dram_read_latency(cfg);
    d->write_high = (uint32_t)floor(cfg->write_high_watermark * cfg->write_queue);
    d->write_low = (uint32_t)ceil(cfg->write_low_watermark * cfg->write_queue);
    for (uint32_t cmd = 0; cmd < CS_DRAM_NCMDS; cmd++)
        for (uint32_t b = 0; b < cfg->bank_groups * cfg->banks_per_group; b++) {
            uint32_t bpg = cfg->banks_per_group, group = (uint32_t)(((1ull << bpg) - 1) << (b / bpg * bpg));
            d->stale_col[cmd][b] = d->timing.group_delays_column[cmd] ? group : 1u << b;
            d->stale_row[cmd][b] = d->timing.group_delays_row[cmd] ? group : 1u << b;
        }
    d->refresh_interval = cfg->refresh == CS_DRAM_REFRESH_ALL_BANK   ? cfg->timing[CS_DRAM_nREFI]
                          : cfg->refresh == CS_DRAM_REFRESH_PER_BANK ? cfg->timing[CS_DRAM_nREFI] /
                                                                           (cfg->bank_groups * cfg->banks_per_group)
                                                                     : CS__INF;
    d->on_complete = on_complete;
    d->user = user;
    d->rejected_write = -1;
    d->chan = aligned_alloc(64, d->nchan * sizeof *d->chan); /* line-aligned, as its device rows are */
    bool ok = d->chan != NULL;
    if (ok)
        memset(d->chan, 0, d->nchan * sizeof *d->chan);
    for (uint32_t i = 0; ok && i < d->nchan; i++)
        ok = cs__chan_init(&d->chan[i], d, i) == CS_OK;
    if (ok)
        cs__update_next_tick(d);
    if (!ok) {
        cs_dram_free(d);
        cs_error_set(err, CS_ERUNTIME, "DRAM model: out of memory");
        return NULL;
    }
    return d;
}

void cs_dram_free(cs_dram *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; d->chan && i < d->nchan; i++)
        cs__chan_free(&d->chan[i]);
    free(d->chan);
    free(d->latency_hist);
    free(d);
}

void cs_dram_set_command_hook(cs_dram *d, cs_dram_command_fn fn, void *user)
{
    d->on_command = fn;
    d->command_user = user;
}

const cs_dram_config *cs_dram_get_config(const cs_dram *d) { return &d->cfg; }

const uint64_t *cs_dram_refusal_watch(const cs_dram *d, uint64_t *value)
{
    *value = d->rejected_epoch;
    return d->rejected_watch;
}

void cs_dram_advance_to(cs_dram *d, uint64_t cycle)
{
    int64_t target = cycle >= (uint64_t)CS__INF ? CS__INF - 1 : (int64_t)cycle;
    if (target <= d->clk)
        return;
    if (d->nchan == 1) {
        cs__chan *c = d->chan;
        while (c->next_tick <= target)
            cs__chan_tick(c, c->next_tick);
        d->next_tick = c->next_tick;
    } else {
        /* Channels are independent; stepping them in global time order keeps
         * completion callbacks in cycle order. A tick moves only its own
         * channel's next_tick, and past the cycle, so one pass in channel
         * order ticks every channel due at the earliest cycle and finds the
         * next one. */
        int64_t now = d->next_tick;
        while (now <= target) {
            int64_t n = CS__INF;
            for (cs__chan *c = d->chan, *end = d->chan + d->nchan; c < end; c++) {
                if (c->next_tick == now)
                    cs__chan_tick(c, now);
                n = c->next_tick < n ? c->next_tick : n;
            }
            now = n;
        }
        d->next_tick = now;
    }
    /* Channels with nothing to do stay behind; their idle ticks are counted
     * when they next change or stats are read. */
    d->clk = target;
}

uint64_t cs_dram_next_event(const cs_dram *d)
{
    return d->next_tick == CS__INF ? UINT64_MAX : (uint64_t)d->next_tick;
}

uint64_t cs_dram_cycle(const cs_dram *d) { return (uint64_t)d->clk; }

uint64_t cs_dram_in_flight(const cs_dram *d) { return d->in_flight; }

void cs_dram_get_stats(const cs_dram *d, cs_dram_stats *out)
{
    /* Every field is a uint64_t counter, so channels add up field by field;
     * only cycles and the maximum latency are not sums. */
    enum { N = sizeof(cs_dram_stats) / sizeof(uint64_t) };
    _Static_assert(sizeof(cs_dram_stats) % sizeof(uint64_t) == 0, "cs_dram_stats holds only uint64_t fields");
    uint64_t sum[N] = {0};
    uint64_t max_latency = 0;
    for (uint32_t i = 0; i < d->nchan; i++) {
        const cs__chan *c = &d->chan[i];
        cs_dram_stats st = c->st;
        /* Idle ticks not yet counted (see cs_dram_advance_to). */
        uint64_t idle = (uint64_t)(d->clk - c->clk);
        st.read_queue_sum += idle * c->readq.n;
        st.write_queue_sum += idle * c->writeq.n;
        st.priority_queue_sum += idle * c->prio_n;
        uint64_t f[N];
        memcpy(f, &st, sizeof f);
        for (size_t k = 0; k < N; k++)
            sum[k] += f[k];
        if (d->chan[i].st.read_latency_max > max_latency)
            max_latency = d->chan[i].st.read_latency_max;
    }
    memcpy(out, sum, sizeof *out);
    out->cycles = (uint64_t)d->clk;
    out->read_latency_max = max_latency;
}

uint64_t cs_dram_bank_activations(const cs_dram *d, uint32_t channel, uint32_t bank)
{
    if (channel >= d->nchan || bank >= CS_DRAM_MAX_BANKS)
        return 0;
    return d->chan[channel].activations[bank];
}

/* Latencies are counted exactly up to this many cycles (0.6 ms at 14 Gb/s)
 * and in its bin beyond: the histogram costs 8 bytes per cycle it covers. */
#define CS__LATENCY_BINS ((size_t)1 << 20)

void cs__dram_record_latency(cs_dram *d, uint64_t latency)
{
    if (latency >= CS__LATENCY_BINS)
        latency = CS__LATENCY_BINS - 1;
    if (latency >= d->latency_hist_len) {
        size_t len = d->latency_hist_len ? d->latency_hist_len : 1024;
        while (len <= latency)
            len *= 2;
        uint64_t *h = realloc(d->latency_hist, len * sizeof *h);
        if (!h) { /* keep counting in the last bin rather than lose the read */
            if (d->latency_hist_len)
                d->latency_hist[d->latency_hist_len - 1]++;
            return;
        }
        memset(h + d->latency_hist_len, 0, (len - d->latency_hist_len) * sizeof *h);
        d->latency_hist = h;
        d->latency_hist_len = len;
    }
    d->latency_hist[latency]++;
}

uint64_t cs_dram_read_latency_quantile(const cs_dram *d, double q)
{
    uint64_t total = 0;
    for (size_t i = 0; i < d->latency_hist_len; i++)
        total += d->latency_hist[i];
    if (!total)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* Nearest rank: the smallest latency with at least ceil(q * total) reads at or below it. */
    uint64_t rank = (uint64_t)(q * (double)total);
    if ((double)rank < q * (double)total)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < d->latency_hist_len; i++) {
        seen += d->latency_hist[i];
        if (seen >= rank)
            return i;
    }
    return d->latency_hist_len - 1;
}
