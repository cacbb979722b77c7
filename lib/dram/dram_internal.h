/* Internals of the GDDR6 model shared by the lib/dram sources and the tests. The
 * structure follows Ramulator 2.1's: a device (bank state and per-node
 * earliest-issue times), a controller per channel (buffers, scheduler,
 * refresh) and a memory system that maps addresses to channels. */
#ifndef CS_DRAM_INTERNAL_H
#define CS_DRAM_INTERNAL_H

#include "colscope/dram.h"

#include <stdlib.h>

#define CS__INF INT64_MAX
/* The per-command path (tick, plan, issue) inlined into one function: its
 * pieces run once per command each, and their calls cost more than their
 * bodies share. */
#if defined(__GNUC__)
#define CS__ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CS__ALWAYS_INLINE inline
#endif
#define CS__ROW_CLOSED UINT32_MAX
#define CS__BANK_BITS 5 /* CS_DRAM_MAX_BANKS = 32 */
#define CS__MAX_BG 8
#define CS__MAX_WINDOW 4 /* longest rolling window of any constraint (nFAW: 4 ACTs) */

enum { CS__LEVEL_CHANNEL, CS__LEVEL_BANKGROUP, CS__LEVEL_BANK, CS__NLEVELS };

/* One timing rule: at `level`, command `following` may issue no earlier than
 * `latency` cycles after the `window`-th most recent `preceding` command at
 * the same node (window 1: the last one). */
typedef struct cs__rule {
    uint8_t level, preceding, following, window;
    uint32_t latency;
} cs__rule;

/* Builds the rule table of Ramulator 2.1's GDDR6 standard from named timings
 * (docs/MODEL.md 3.3), one entry per (preceding, following) pair, in
 * Ramulator's order. Returns the count (at most CS__MAX_RULES). */
#define CS__MAX_RULES 160
size_t cs__dram_rules(const cs_dram_config *cfg, cs__rule *out);

/* The rules compiled for issue: for each level and preceding command, the
 * window-1 rules as one latency per following command, longest kept where
 * the table has duplicates (nBL and nCCDS), CS__NO_RULE where it has none,
 * so issuing applies them as one element-wise max (which vectorizes); the
 * windowed rules (the four-activate window) as (following, latency) pairs
 * with the issue history they need. */
typedef struct cs__follow {
    uint8_t following, window;
    uint32_t latency;
} cs__follow;

/* t + this is below every ready time (they start at 0): changes none. */
#define CS__NO_RULE (INT64_MIN / 2)

/* Rows of earliest-issue cycles are padded to this many commands and start
 * on a cache line: ACT to REFab (0-7) share one line, REFpb the next, which
 * a command without a rule for REFpb leaves alone; the rule rows are split
 * the same way (cs__timing). With eight channels' states competing for L1,
 * issuing a command then touches one line per node instead of two. */
#define CS__ROW 16
_Static_assert(CS_DRAM_NCMDS > 8 && CS_DRAM_NCMDS <= CS__ROW, "cs__node_issue: commands 0-7, then the rest");

typedef struct cs__timing {
    _Alignas(64) int64_t after[CS__NLEVELS][CS_DRAM_NCMDS][8]; /* following commands 0-7: one line */
    int64_t after_tail[CS__NLEVELS][CS_DRAM_NCMDS][CS_DRAM_NCMDS - 8]; /* the others (REFpb), together */
    cs__follow windowed[CS__NLEVELS][CS_DRAM_NCMDS][4];
    uint8_t nwindowed[CS__NLEVELS][CS_DRAM_NCMDS];
    uint8_t history[CS__NLEVELS][CS_DRAM_NCMDS]; /* issue times kept: the largest window, if > 1 */
    /* Has the command, at this level, rules beyond the first line (on REFpb)
     * or windowed ones? Most do not, and their issue is then one line. */
    bool beyond_line[CS__NLEVELS][CS_DRAM_NCMDS];
    /* Does issuing this command change, at its bank group, when a column
     * command (RD, WR, RDA, WRA) / an ACT or PREpb may issue? Decides which
     * cached readiness of the group's other banks goes stale. */
    bool group_delays_column[CS_DRAM_NCMDS], group_delays_row[CS_DRAM_NCMDS];
} cs__timing;

void cs__timing_compile(cs__timing *t, const cs_dram_config *cfg);

/* One channel's DRAM device: bank states and, per node (channel, bank group,
 * bank) and command, the earliest cycle the command may issue there. */
typedef struct cs__device {
    const cs__timing *timing;
    uint32_t bank_groups, banks_per_group, banks;
    uint32_t bank_bits; /* log2(banks_per_group): bank group = flat bank >> bank_bits */
    uint32_t open_banks;
    uint32_t open_mask; /* bit b: bank b has a row open (the scheduler's ACT / PREpb split) */
    uint32_t open_row[CS_DRAM_MAX_BANKS]; /* CS__ROW_CLOSED when closed */
    _Alignas(64) int64_t ch_ready[CS__ROW];
    _Alignas(64) int64_t bg_ready[CS__MAX_BG][CS__ROW];
    _Alignas(64) int64_t bank_ready[CS_DRAM_MAX_BANKS][CS__ROW];
    /* Issue times, newest first, for windowed rules (-1: none yet). */
    int64_t ch_hist[CS_DRAM_NCMDS][CS__MAX_WINDOW];
    int64_t bg_hist[CS__MAX_BG][CS_DRAM_NCMDS][CS__MAX_WINDOW];
    int64_t bank_hist[CS_DRAM_MAX_BANKS][CS_DRAM_NCMDS][CS__MAX_WINDOW];
} cs__device;

void cs__device_init(cs__device *dev, const cs__timing *timing, const cs_dram_config *cfg);
/* Applies cmd's timing rules and state change. bank < 0: all banks (PREab, REFab). */
void cs__device_issue(cs__device *dev, cs_dram_cmd cmd, int bank, uint32_t row, int64_t t);
/* Earliest issue cycle of a command aimed at all banks. */
int64_t cs__device_ready_all(const cs__device *dev, cs_dram_cmd cmd);

static inline int64_t cs__max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Earliest issue cycle of cmd at bank (flat index). */
static inline int64_t cs__device_ready(const cs__device *dev, cs_dram_cmd cmd, uint32_t bank)
{
    uint32_t bg = bank >> dev->bank_bits;
    return cs__max64(dev->ch_ready[cmd], cs__max64(dev->bg_ready[bg][cmd], dev->bank_ready[bank][cmd]));
}

/* The next command a request needs (Ramulator's prerequisite rule): its own
 * column command on a row hit, ACT on a closed bank, PREpb on a conflict. */
static inline cs_dram_cmd cs__device_next_cmd(const cs__device *dev, uint32_t bank, uint32_t row, bool is_write)
{
    uint32_t open = dev->open_row[bank];
    if (open == row)
        return is_write ? CS_DRAM_WR : CS_DRAM_RD;
    return open == CS__ROW_CLOSED ? CS_DRAM_ACT : CS_DRAM_PREPB;
}

/* A request while it waits in a controller buffer: 32 bytes, so that an
 * entry of the (aligned) pool is one cache line's half and never straddles
 * two. Its arrival number lives in its buffer entry (cs__qentry). */
enum { CS__REQ_WRITE = 1, CS__REQ_CLASSIFIED = 2 /* row hit/miss/conflict counted */ };
typedef struct cs__req {
    uint64_t addr, tag;
    int64_t arrive;
    uint32_t row;
    uint8_t bank; /* flat: bank_group * banks_per_group + bank */
    uint8_t flags; /* CS__REQ_* */
} cs__req;

/* A read/write buffer entry: what the scheduler reads of a queued request.
 * Entries are indexed by the request's pool slot, in one array per channel
 * that both buffers share (a request is in at most one), and each bank's
 * requests are linked in arrival order. The live entries of a channel then
 * sit on a few cache lines (80 entries, 1.3 KB by default); per-bank arrays
 * of the buffer's capacity, which the lists slid through, spread them over
 * 2 x 32 x 32 entries (32 KB per channel, all of it cycled through). */
#define CS__NIL UINT16_MAX
typedef struct cs__qentry {
    uint64_t seq; /* arrival order within the channel */
    uint32_t row;
    uint16_t next, prev; /* the bank's next younger / older request; CS__NIL: none */
} cs__qentry;

/* The requests of one bank in a read or write buffer, in arrival order.
 * Requests of a bank that agree on hitting its open row need the same
 * command at the same cycle, so the scheduler only ever looks at the oldest
 * hit and the oldest other request; both are kept up to date. */
typedef struct cs__bank_queue {
    uint16_t head, tail; /* oldest, youngest; CS__NIL when empty */
    uint32_t n;
    int32_t first_hit, first_other; /* pool slots; -1: none */
} cs__bank_queue;

/* A read or write buffer: capacity over all banks, lists per bank. */
typedef struct cs__queue {
    uint32_t n, cap;
    uint32_t nonempty; /* bit b: bank b has requests */
    cs__bank_queue bank[CS_DRAM_MAX_BANKS];
    /* Per bank, the earliest cycle its oldest hit and its oldest other
     * request could issue as far as the bank and its bank group are
     * concerned, and their arrival numbers. The channel-level part is applied
     * at the choice (cs__scan). Stale entries are recomputed first: a
     * command changes the timing of its own bank, and of its bank group only
     * for some commands. The arrival numbers are set whenever the oldest hit
     * or other request changes (cs__set_first), valid where first_hit /
     * first_other are. */
    int64_t hit_ready[CS_DRAM_MAX_BANKS], other_ready[CS_DRAM_MAX_BANKS];
    uint64_t hit_seq[CS_DRAM_MAX_BANKS], other_seq[CS_DRAM_MAX_BANKS];
    uint32_t has_hit, has_other; /* banks where first_hit / first_other >= 0 */
    uint32_t stale_hit, stale_other;
    cs__qentry *e; /* the channel's entries, by pool slot (cs__chan.qentries) */
} cs__queue;

/* The active buffer: requests whose ACT has issued, waiting for their column
 * command. At most one per bank: an ACT goes only to a closed bank, and
 * nothing may close a bank while its active request waits. Kept per bank,
 * with the bank and bank-group part of each one's readiness cached as for
 * the other buffers. */
typedef struct cs__active_queue {
    uint32_t banks; /* bit b: bank b holds one */
    uint32_t n;
    uint32_t stale;
    uint16_t slot[CS_DRAM_MAX_BANKS];
    uint64_t order[CS_DRAM_MAX_BANKS]; /* promotion order: Ramulator's list order, for equal arrivals */
    int64_t local_ready[CS_DRAM_MAX_BANKS];
    int64_t arrive[CS_DRAM_MAX_BANKS]; /* the request's, kept here for the scheduler */
    uint8_t col[CS_DRAM_MAX_BANKS];    /* its column command, RD or WR */
} cs__active_queue;

/* Completions waiting for their cycle, in cycle order. */
typedef struct cs__pending {
    int64_t depart, arrive;
    uint64_t tag;
    bool is_write;
} cs__pending;

typedef struct cs__ring {
    cs__pending *v;
    uint32_t head, n, cap;
} cs__ring;

/* Addresses of the writes in the write buffer (read forwarding, write
 * coalescing): a chained hash over the pool slots the writes occupy, so
 * adding and removing one are a few stores (a write leaves the set each time
 * one is served; open addressing paid a backward-shift deletion there). The
 * address itself is read from the request (cs__req.addr). [lo, hi] bounds
 * every address added since the set was last empty, so a read outside it (an
 * accelerator reads operands that lie apart from the output it writes) needs
 * no look-up; it is not narrowed by removals, only reset when the set
 * empties, which keeps it a bound. */
typedef struct cs__addr_set {
    uint16_t *head; /* per bucket: the first slot in it, CS__NIL: none */
    uint16_t *next; /* per pool slot: the next slot in its bucket */
    uint32_t mask, n;
    uint64_t lo, hi;
} cs__addr_set;

static inline uint32_t cs__addr_hash(const cs__addr_set *s, uint64_t a)
{
    return (uint32_t)((a * 0x9E3779B97F4A7C15ull) >> 32) & s->mask;
}

/* Room for max_entries writes among pool_slots slots; false: out of memory
 * (what was allocated is freed by cs__addr_set_free). */
static inline bool cs__addr_set_init(cs__addr_set *s, uint32_t max_entries, uint32_t pool_slots)
{
    uint32_t buckets = 8;
    while (buckets < 4 * max_entries)
        buckets *= 2;
    s->head = malloc(buckets * sizeof *s->head);
    s->next = malloc(pool_slots * sizeof *s->next);
    if (!s->head || !s->next)
        return false;
    for (uint32_t i = 0; i < buckets; i++)
        s->head[i] = CS__NIL;
    s->mask = buckets - 1;
    s->n = 0;
    s->lo = UINT64_MAX;
    s->hi = 0;
    return true;
}

/* Adds the write in pool slot `slot`, to address a (not in the set). */
static inline void cs__addr_set_insert(cs__addr_set *s, uint16_t slot, uint64_t a)
{
    uint16_t *h = &s->head[cs__addr_hash(s, a)];
    s->next[slot] = *h;
    *h = slot;
    s->n++;
    s->lo = a < s->lo ? a : s->lo;
    s->hi = a > s->hi ? a : s->hi;
}

/* Removes the write in pool slot `slot`, to address a (in the set). */
static inline void cs__addr_set_remove(cs__addr_set *s, uint16_t slot, uint64_t a)
{
    uint16_t *link = &s->head[cs__addr_hash(s, a)];
    while (*link != slot)
        link = &s->next[*link];
    *link = s->next[slot];
    if (--s->n == 0) {
        s->lo = UINT64_MAX;
        s->hi = 0;
    }
}

static inline void cs__addr_set_free(cs__addr_set *s)
{
    free(s->head);
    free(s->next);
}

/* The pool slot of the write to address a in the set, or CS__NIL. */
static inline uint16_t cs__addr_set_find(const cs__addr_set *s, const struct cs__req *pool, uint64_t a)
{
    uint16_t i = s->head[cs__addr_hash(s, a)];
    while (i != CS__NIL && pool[i].addr != a)
        i = s->next[i];
    return i;
}

static inline bool cs__addr_set_has(const cs__addr_set *s, const struct cs__req *pool, uint64_t a)
{
    if (a < s->lo || a > s->hi) /* also when empty: lo > hi */
        return false;
    return cs__addr_set_find(s, pool, a) != CS__NIL;
}

/* The scheduler's decision while nothing changes, made right after each
 * issue for the ticks that follow: the earliest cycle each source (active
 * buffer, refresh, read/write buffer) has a command ready, and which request.
 * Exact until a command issues, a refresh is queued or an arrival flips the
 * write mode. Ramulator evaluates the write mode on the first tick that
 * reaches its read/write step; the plan's mode takes effect at that tick
 * (see cs__settle_write_mode). */
typedef struct cs__plan {
    bool valid;
    bool rw_evaluated;  /* the read/write step was planned (no all-bank refresh pending) */
    bool write_mode;    /* the mode it was planned in */
    int64_t made_at;    /* made after tick made_at, for ticks made_at + 1 on */
    int64_t t_active, t_priority, t_rw;
    int64_t next;               /* the earliest of the three, read on every tick */
    int32_t active_bank;        /* bank of the active-buffer request */
    int32_t rw_index;           /* pool slot of the read/write-buffer request (its bank: the request's) */
} cs__plan;

typedef struct cs__chan {
    struct cs_dram *sys;
    uint32_t id;
    int64_t clk;       /* ticks executed; lags the system's clock while nothing happens here */
    int64_t next_tick; /* next tick at which anything can happen */
    cs__device dev;
    cs__req *pool;
    cs__qentry *qentries; /* by pool slot, for both buffers */
    uint16_t *free_slot;
    uint32_t nfree;
    cs__queue readq, writeq;
    cs__active_queue activeq;
    uint64_t next_seq, next_promotion;
    /* Maintenance requests: -1 all-bank refresh, else the bank of a REFpb. */
    int8_t *priority;
    uint32_t prio_head, prio_n, prio_cap;
    uint32_t refresh_blocked; /* banks with a REFpb pending (per-bank refresh) */
    int64_t next_refresh;
    uint32_t next_refresh_bank;
    bool write_mode;
    cs__addr_set write_addrs;
    cs__ring reads_in_flight; /* RD issued, data not yet returned */
    cs__ring quick;           /* forwarded reads and coalesced writes: done one cycle after arrival */
    int64_t next_delivery;    /* the earlier head of the two rings (CS__INF: none), read on every tick */
    cs__plan plan;
    /* Per kind (0 read, 1 write), counts changes that can turn a rejected
     * request into an accepted one: an entry of its queue freed, or any
     * request accepted (a write may be forwarded from). See cs_dram_try_send. */
    uint64_t accept_epoch[2];
    cs_dram_stats st;
    uint64_t activations[CS_DRAM_MAX_BANKS];
} cs__chan;

/* Address fields, applied to the intra-channel address >> 5. */
typedef struct cs__field {
    uint32_t shift, bits;
    uint32_t mask; /* (1 << bits) - 1 */
} cs__field;

struct cs_dram {
    cs_dram_config cfg;
    cs__timing timing;
    uint32_t nchan, chan_bits;
    uint64_t addr_mask;
    cs__field f_column, f_bankgroup, f_bank, f_row; /* f_bankgroup.bits = 0 when "Ba" covers both */
    bool bank_includes_group;                        /* "Ba" without "Bg": bank group in its low bits */
    uint32_t bank_group_bits;
    uint32_t local_shift; /* address >> local_shift: the intra-channel address above its 32-B offset */
    uint8_t bank_of[1u << CS__BANK_BITS]; /* flat bank by (bank-group field << bank-field bits | bank field) */
    int64_t read_latency;
    int64_t refresh_interval;
    /* The write watermarks in requests: for a whole count n, n > high * size
     * iff n > write_high = floor(high * size), n < low * size iff
     * n < write_low = ceil(low * size). */
    uint32_t write_high, write_low;
    /* Banks whose cached column (stale_col) / ACT-PREpb (stale_row)
     * readiness goes stale when a command issues at a bank: the bank, or
     * its whole group if the command delays those there (cs__timing). */
    uint32_t stale_col[CS_DRAM_NCMDS][CS_DRAM_MAX_BANKS], stale_row[CS_DRAM_NCMDS][CS_DRAM_MAX_BANKS];
    int64_t clk;
    int64_t next_tick;        /* earliest next_tick of the channels */
    uint64_t in_flight;       /* accepted, not yet completed */
    /* The last rejected request and its channel's accept_epoch for it: the
     * same request retried before that epoch moves is rejected at once. */
    uint64_t rejected_addr, rejected_epoch;
    int rejected_write; /* -1: none */
    const uint64_t *rejected_watch; /* its channel's accept_epoch for it */
    uint64_t last_completion; /* cycle of the latest completion */
    cs__chan *chan;
    cs_dram_complete_fn on_complete;
    void *user;
    cs_dram_command_fn on_command;
    void *command_user;
    uint64_t *latency_hist;
    size_t latency_hist_len;
};

/* Parses a mapping name ("RoBaRaCoCh", ...). On success fills the field
 * order from the LSB into order[] (letters 'o','a','g','r','c','h' for Ro,
 * Ba, Bg, Ra, Co, Ch) and returns the count; 0 if invalid. */
size_t cs__dram_parse_mapping(const char *name, char order[6]);

/* Per-channel controller (controller.c). */
cs_status cs__chan_init(cs__chan *c, struct cs_dram *sys, uint32_t id);
void cs__chan_free(cs__chan *c);
void cs__chan_tick(cs__chan *c, int64_t t);
void cs__dram_record_latency(struct cs_dram *d, uint64_t latency);

#endif
