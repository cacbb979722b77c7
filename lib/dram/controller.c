/* One channel's memory controller: Ramulator 2.1's GenericDDR controller with
 * the FRFCFS scheduler, AllBank refresh and the Open row policy, reproduced
 * tick for tick (docs/MODEL.md 3.4-3.6), but evaluated only at the cycles
 * where something can happen.
 *
 * Per tick Ramulator (1) picks the oldest timing-ready request of the active
 * buffer (requests whose ACT has issued), else (2) the front maintenance
 * request if ready, else, only when no maintenance request is pending,
 * (3) the oldest ready request of the read or the write buffer (write mode),
 * skipping commands that would close a row an active request needs; at most
 * one command issues. Between two issues nothing the scheduler looks at
 * changes except by arrivals, so right after each issue the earliest ready
 * cycle of each source, and which request, make a plan (cs__plan) that stays
 * exact until the next issue, refresh or write-mode flip; arrivals are folded
 * into it. Ticks before the plan's cycle are never visited. */
#include "dram_internal.h"

#include <stdlib.h>
#include <string.h>

static inline uint32_t cs__field_get(uint64_t x, cs__field f) { return (uint32_t)(x >> f.shift) & f.mask; }

/* ---- small containers ---- */

static bool cs__ring_init(cs__ring *r, uint32_t cap)
{
    uint32_t c = 4;
    while (c < cap)
        c *= 2;
    r->v = malloc(c * sizeof *r->v);
    r->head = r->n = 0;
    r->cap = r->v ? c : 0;
    return r->v != NULL;
}

static CS__ALWAYS_INLINE bool cs__ring_push(cs__ring *r, cs__pending p)
{
    if (r->n == r->cap) {
        cs__pending *v = malloc(2 * (size_t)r->cap * sizeof *v);
        if (!v)
            return false;
        for (uint32_t i = 0; i < r->n; i++)
            v[i] = r->v[(r->head + i) & (r->cap - 1)];
        free(r->v);
        r->v = v;
        r->head = 0;
        r->cap *= 2;
    }
    r->v[(r->head + r->n) & (r->cap - 1)] = p;
    r->n++;
    return true;
}

static inline int64_t cs__ring_next(const cs__ring *r) { return r->n ? r->v[r->head].depart : CS__INF; }

static inline cs__pending cs__ring_pop(cs__ring *r)
{
    cs__pending p = r->v[r->head];
    r->head = (r->head + 1) & (r->cap - 1);
    r->n--;
    return p;
}


/* Zeroed memory on a cache-line boundary (C11 aligned_alloc wants a size
 * that is a multiple of the alignment). */
static void *cs__alloc_lines(size_t bytes)
{
    size_t n = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, n ? n : 64);
    if (p)
        memset(p, 0, n);
    return p;
}

static bool cs__queue_init(cs__queue *q, uint32_t cap, uint32_t banks, cs__qentry *e)
{
    memset(q, 0, sizeof *q);
    q->cap = cap;
    q->e = e;
    for (uint32_t b = 0; b < banks; b++) {
        q->bank[b].head = q->bank[b].tail = CS__NIL;
        q->bank[b].first_hit = q->bank[b].first_other = -1;
    }
    return e != NULL;
}

/* The first request at or after slot `from` (CS__NIL: none) in the bank's
 * list whose hit status is `hit`, or -1. */
static int32_t cs__bank_queue_find(const cs__queue *q, uint32_t from, uint32_t open_row, bool hit)
{
    for (uint32_t s = from; s != CS__NIL; s = q->e[s].next)
        if ((q->e[s].row == open_row) == hit)
            return (int32_t)s;
    return -1;
}

/* Sets the bank's oldest hit (hit) or other request, and keeps its arrival
 * number in the scheduler's cache: it is read here, on the line just
 * searched, rather than on each refresh of the candidate. */
static inline void cs__set_first(cs__queue *q, uint32_t bank, bool hit, int32_t idx)
{
    cs__bank_queue *bq = &q->bank[bank];
    *(hit ? &bq->first_hit : &bq->first_other) = idx;
    uint32_t *has = hit ? &q->has_hit : &q->has_other;
    *has &= ~(1u << bank);
    if (idx >= 0) {
        *(hit ? &q->hit_seq[bank] : &q->other_seq[bank]) = q->e[idx].seq;
        *has |= 1u << bank;
    }
}

/* After the bank's open row changed. A closed bank has no hits: its oldest
 * other request is its oldest, no search needed. */
static CS__ALWAYS_INLINE void cs__bank_queue_reclassify(cs__queue *q, uint32_t bank, uint32_t open_row)
{
    const cs__bank_queue *bq = &q->bank[bank];
    if (open_row == CS__ROW_CLOSED) {
        cs__set_first(q, bank, true, -1);
        cs__set_first(q, bank, false, bq->n ? bq->head : -1);
        return;
    }
    cs__set_first(q, bank, true, cs__bank_queue_find(q, bq->head, open_row, true));
    cs__set_first(q, bank, false, cs__bank_queue_find(q, bq->head, open_row, false));
}

/* Appends a request; true if it became one of its bank's two candidates. */
static bool cs__queue_append(cs__queue *q, uint32_t bank, uint32_t row, uint16_t slot, uint64_t seq,
                             uint32_t open_row)
{
    cs__bank_queue *bq = &q->bank[bank];
    q->e[slot] = (cs__qentry){seq, row, CS__NIL, bq->tail};
    if (bq->tail != CS__NIL)
        q->e[bq->tail].next = slot;
    else
        bq->head = slot;
    bq->tail = slot;
    /* The newcomer is the youngest: it changes the bank's candidates only
     * if it is the first of its kind, and only that candidate needs a new
     * look (the bank's timing did not change). */
    const bool hit = row == open_row;
    const bool first = (hit ? bq->first_hit : bq->first_other) < 0;
    if (first) {
        cs__set_first(q, bank, hit, slot);
        *(hit ? &q->stale_hit : &q->stale_other) |= 1u << bank;
    }
    bq->n++;
    q->n++;
    q->nonempty |= 1u << bank;
    return first;
}

/* refind: find the bank's next oldest hit / other request if the removed one
 * was one of them; false when the bank's state changes right after and
 * cs__bank_changed reclassifies the whole list anyway. */
static CS__ALWAYS_INLINE void cs__queue_remove(cs__queue *q, uint32_t bank, uint16_t slot, uint32_t open_row,
                                               bool refind)
{
    cs__bank_queue *bq = &q->bank[bank];
    uint16_t next = q->e[slot].next, prev = q->e[slot].prev;
    if (prev != CS__NIL)
        q->e[prev].next = next;
    else
        bq->head = next;
    if (next != CS__NIL)
        q->e[next].prev = prev;
    else
        bq->tail = prev;
    bq->n--;
    q->n--;
    q->stale_hit |= 1u << bank;
    q->stale_other |= 1u << bank;
    if (!bq->n)
        q->nonempty &= ~(1u << bank);
    if (!refind)
        return;
    /* The oldest of its kind left: the next one is younger. */
    if (bq->first_hit == (int32_t)slot)
        cs__set_first(q, bank, true, cs__bank_queue_find(q, next, open_row, true));
    if (bq->first_other == (int32_t)slot)
        cs__set_first(q, bank, false, cs__bank_queue_find(q, next, open_row, false));
}

static CS__ALWAYS_INLINE void cs__make_plan(cs__chan *c, int64_t t);
static int64_t cs__next_tick(const cs__chan *c);

/* ---- set-up ---- */

cs_status cs__chan_init(cs__chan *c, struct cs_dram *sys, uint32_t id)
{
    const cs_dram_config *cfg = &sys->cfg;
    memset(c, 0, sizeof *c);
    c->sys = sys;
    c->id = id;
    cs__device_init(&c->dev, &sys->timing, cfg);
    uint32_t banks = c->dev.banks;
    uint32_t pool = cfg->read_queue + cfg->write_queue + banks;
    c->pool = cs__alloc_lines(pool * sizeof *c->pool);
    c->qentries = cs__alloc_lines(pool * sizeof *c->qentries);
    c->free_slot = malloc(pool * sizeof *c->free_slot);
    for (uint32_t i = 0; c->free_slot && i < pool; i++)
        c->free_slot[i] = (uint16_t)(pool - 1 - i);
    c->nfree = pool;
    c->prio_cap = 64;
    c->priority = malloc(c->prio_cap);
    /* Reads in flight are at most one per column-command spacing within the
     * read latency, so this ring never grows. */
    uint32_t spacing = cfg->timing[CS_DRAM_nBL] > cfg->timing[CS_DRAM_nCCDS] ? cfg->timing[CS_DRAM_nBL]
                                                                            : cfg->timing[CS_DRAM_nCCDS];
    bool ok = c->pool && c->free_slot && c->priority && cs__queue_init(&c->readq, cfg->read_queue, banks, c->qentries) &&
              cs__queue_init(&c->writeq, cfg->write_queue, banks, c->qentries) &&
              cs__addr_set_init(&c->write_addrs, cfg->write_queue, pool) &&
              cs__ring_init(&c->reads_in_flight, (uint32_t)(sys->read_latency / spacing + 2)) &&
              cs__ring_init(&c->quick, 16);
    c->next_refresh = sys->refresh_interval;
    c->next_delivery = CS__INF;
    if (!ok)
        return CS_ERUNTIME;
    cs__make_plan(c, 1);
    c->next_tick = cs__next_tick(c);
    return CS_OK;
}

void cs__chan_free(cs__chan *c)
{
    free(c->pool);
    free(c->qentries);
    free(c->free_slot);
    free(c->priority);
    cs__addr_set_free(&c->write_addrs);
    free(c->reads_in_flight.v);
    free(c->quick.v);
}

/* ---- scheduling helpers ---- */

/* Ramulator's write-drain rule (set_write_mode): the mode after one
 * evaluation that starts in write mode `from` with these buffer sizes. */
static bool cs__write_mode_next(const cs__chan *c, bool from, uint32_t nread, uint32_t nwrite)
{
    const struct cs_dram *d = c->sys;
    if (!from)
        return nwrite > d->write_high || nread == 0;
    return !(nwrite < d->write_low && nread != 0);
}

static inline bool cs__rw_allowed(const cs__chan *c)
{
    /* All-bank refresh: no read/write-buffer request is scheduled while a
     * maintenance request waits, so the active buffer drains for PREab. */
    return c->prio_n == 0 || c->sys->cfg.refresh == CS_DRAM_REFRESH_PER_BANK;
}

/* Earliest issue cycle of the next command of a read/write-buffer request;
 * CS__INF if the scheduler may not pick it now (its PREpb would close a row
 * an active request waits for, or its bank has a per-bank refresh pending). */
static inline int64_t cs__rw_ready(const cs__chan *c, uint32_t bank, uint32_t row, bool is_write)
{
    if (c->refresh_blocked >> bank & 1)
        return CS__INF;
    cs_dram_cmd cmd = cs__device_next_cmd(&c->dev, bank, row, is_write);
    if (cmd == CS_DRAM_PREPB && c->activeq.banks >> bank & 1)
        return CS__INF;
    return cs__device_ready(&c->dev, cmd, bank);
}

/* ---- the choice among a buffer's candidates ---- */

/* Offers candidate (key, seq, id): kept if earlier, or as early and older. */
#define CS__OFFER(key, seq, id)                                                                                     \
    do {                                                                                                            \
        int64_t k_ = (key);                                                                                         \
        uint64_t s_ = (seq);                                                                                        \
        if (k_ < best_key || (k_ == best_key && s_ < best_seq)) {                                                   \
            best_key = k_;                                                                                          \
            best_seq = s_;                                                                                          \
            best_id = (id);                                                                                         \
        }                                                                                                           \
    } while (0)

/* FRFCFS over one buffer: the oldest request whose command is ready at t;
 * if none is, the earliest cycle one becomes ready and the oldest request
 * ready then. That is the smallest (max(t, ready), arrival number) over the
 * candidates, arrival numbers being unique. Only each bank's oldest hit (its
 * column command) and oldest other request (ACT on a closed bank, PREpb on
 * an open one) can be chosen. A candidate's ready time is the channel's time
 * for its command, the same for all, and the bank-and-group part L, cached
 * per bank and recomputed only for stale banks. The buffers hold few
 * candidates (4-8 on the bench's down projections, up to ~14 on the
 * projections whose weights miss every row), so a plain pass over them is
 * cheaper than keeping sorted sets between plans (docs/MODEL.md 3.6).
 * Returns false if no request is eligible (a PREpb may not close a row an
 * active request waits for; no command to a bank with a REFpb pending). */
static CS__ALWAYS_INLINE bool cs__scan(const cs__chan *c, cs__queue *q, bool is_write, int64_t t, int64_t *when,
                                       int32_t *index_out)
{
    const cs__device *dev = &c->dev;
    const cs_dram_cmd col = is_write ? CS_DRAM_WR : CS_DRAM_RD;
    const uint32_t bits = dev->bank_bits, elig = ~c->refresh_blocked;
    const uint32_t hits = q->has_hit & elig;
    const uint32_t act = q->has_other & elig & ~dev->open_mask;
    const uint32_t pre = q->has_other & elig & dev->open_mask & ~c->activeq.banks;
    for (uint32_t m = q->stale_hit & hits; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        q->hit_ready[bank] = cs__max64(dev->bg_ready[bank >> bits][col], dev->bank_ready[bank][col]);
    }
    for (uint32_t m = q->stale_other & act; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        q->other_ready[bank] =
            cs__max64(dev->bg_ready[bank >> bits][CS_DRAM_ACT], dev->bank_ready[bank][CS_DRAM_ACT]);
    }
    for (uint32_t m = q->stale_other & pre; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        q->other_ready[bank] =
            cs__max64(dev->bg_ready[bank >> bits][CS_DRAM_PREPB], dev->bank_ready[bank][CS_DRAM_PREPB]);
    }
    /* Banks left out stay stale: they are recomputed when next eligible. */
    q->stale_hit &= ~hits;
    q->stale_other &= ~(act | pre);
    int64_t best_key = CS__INF;
    uint64_t best_seq = UINT64_MAX;
    uint32_t best_id = 0; /* 2 * bank, + 1 for the other request */
    const int64_t t_col = cs__max64(t, dev->ch_ready[col]), t_act = cs__max64(t, dev->ch_ready[CS_DRAM_ACT]),
                  t_pre = cs__max64(t, dev->ch_ready[CS_DRAM_PREPB]);
    for (uint32_t m = hits; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        CS__OFFER(cs__max64(t_col, q->hit_ready[bank]), q->hit_seq[bank], 2 * bank);
    }
    for (uint32_t m = act; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        CS__OFFER(cs__max64(t_act, q->other_ready[bank]), q->other_seq[bank], 2 * bank + 1);
    }
    for (uint32_t m = pre; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        CS__OFFER(cs__max64(t_pre, q->other_ready[bank]), q->other_seq[bank], 2 * bank + 1);
    }
    if (best_key == CS__INF)
        return false;
    const cs__bank_queue *bq = &q->bank[best_id >> 1];
    *when = best_key;
    *index_out = best_id & 1 ? bq->first_other : bq->first_hit;
    return true;
}

#undef CS__OFFER

/* The front maintenance request's command and readiness. False if it may
 * not issue at all now (its precharge would close a row an active request
 * needs: PREab waits for the active buffer to drain). */
static bool cs__priority_cmd(const cs__chan *c, cs_dram_cmd *cmd, int64_t *when)
{
    int bank = c->priority[c->prio_head];
    if (bank < 0) {
        *cmd = c->dev.open_banks ? CS_DRAM_PREAB : CS_DRAM_REFAB;
        if (*cmd == CS_DRAM_PREAB && c->activeq.n)
            return false;
        *when = cs__device_ready_all(&c->dev, *cmd);
    } else {
        *cmd = c->dev.open_row[bank] != CS__ROW_CLOSED ? CS_DRAM_PREPB : CS_DRAM_REFPB;
        if (*cmd == CS_DRAM_PREPB && c->activeq.banks >> bank & 1)
            return false;
        *when = cs__device_ready(&c->dev, *cmd, (uint32_t)bank);
    }
    return true;
}

static void cs__record_command(cs__chan *c, cs_dram_cmd cmd, int bank, int64_t row, int column, int64_t t)
{
    c->st.commands[cmd]++;
    if (cmd == CS_DRAM_ACT)
        c->activations[bank]++;
    struct cs_dram *d = c->sys;
    if (d->on_command) {
        uint32_t bpg = c->dev.banks_per_group;
        d->on_command(d->command_user, (uint64_t)t, c->id, cmd, bank < 0 ? -1 : bank / (int)bpg,
                      bank < 0 ? -1 : bank % (int)bpg, row, column);
    }
}

/* ---- issuing ---- */

/* Closed-row policy: does any other queued request want this row (or any
 * other active request this bank)? Then the column command must not
 * auto-precharge. */
static bool cs__row_still_wanted(const cs__chan *c, const cs__req *r, uint16_t slot)
{
    const cs__queue *qs[2] = {&c->readq, &c->writeq};
    for (int k = 0; k < 2; k++) {
        const cs__qentry *e = qs[k]->e;
        for (uint32_t s = qs[k]->bank[r->bank].head; s != CS__NIL; s = e[s].next)
            if (e[s].row == r->row && s != slot)
                return true;
    }
    return (c->activeq.banks >> r->bank & 1) && c->activeq.slot[r->bank] != slot;
}

static CS__ALWAYS_INLINE void cs__classify(cs__chan *c, cs__req *r)
{
    uint32_t open = c->dev.open_row[r->bank];
    cs_dram_stats *s = &c->st;
    if (open == r->row) {
        s->row_hits++;
        *(r->flags & CS__REQ_WRITE ? &s->write_row_hits : &s->read_row_hits) += 1;
    } else if (open == CS__ROW_CLOSED) {
        s->row_misses++;
        *(r->flags & CS__REQ_WRITE ? &s->write_row_misses : &s->read_row_misses) += 1;
    } else {
        s->row_conflicts++;
        *(r->flags & CS__REQ_WRITE ? &s->write_row_conflicts : &s->read_row_conflicts) += 1;
    }
    r->flags |= CS__REQ_CLASSIFIED;
}

/* A bank's open row changed (bank < 0: all banks): which queued requests
 * hit it changes with it. */
static CS__ALWAYS_INLINE void cs__bank_changed(cs__chan *c, int bank)
{
    uint32_t lo = bank < 0 ? 0 : (uint32_t)bank, hi = bank < 0 ? c->dev.banks : (uint32_t)bank + 1;
    for (uint32_t b = lo; b < hi; b++) {
        cs__bank_queue_reclassify(&c->readq, b, c->dev.open_row[b]);
        cs__bank_queue_reclassify(&c->writeq, b, c->dev.open_row[b]);
    }
}

/* Command cmd at `bank` (< 0: all banks) changed the timing of that bank and
 * possibly, for some following commands, of its bank group. */
static void cs__timing_changed(cs__chan *c, int bank, cs_dram_cmd cmd)
{
    uint32_t col, row;
    if (bank >= 0) {
        col = c->sys->stale_col[cmd][bank];
        row = c->sys->stale_row[cmd][bank];
    } else {
        col = row = (uint32_t)((1ull << c->dev.banks) - 1);
    }
    c->readq.stale_hit |= col;
    c->writeq.stale_hit |= col;
    c->activeq.stale |= col;
    c->readq.stale_other |= row;
    c->writeq.stale_other |= row;
}

static inline bool cs__changes_bank_state(cs_dram_cmd cmd)
{
    return cmd == CS_DRAM_ACT || cmd == CS_DRAM_PREPB || cmd == CS_DRAM_RDA || cmd == CS_DRAM_WRA ||
           cmd == CS_DRAM_PREAB;
}

/* The request in pool slot `slot` leaves buffer q (retired, or promoted to
 * the active buffer): its entry is free for a new arrival. */
static CS__ALWAYS_INLINE void cs__leave_buffer(cs__chan *c, cs__queue *q, uint32_t bank, uint16_t slot,
                                               const cs__req *r, bool refind)
{
    cs__queue_remove(q, bank, slot, c->dev.open_row[bank], refind);
    const bool writes = q == &c->writeq;
    c->accept_epoch[writes]++;
    if (writes)
        cs__addr_set_remove(&c->write_addrs, slot, r->addr);
}

/* Issues, at cycle t, the next command of the request in pool slot `slot`,
 * waiting in buffer q, or (q NULL) in the active buffer. */
static CS__ALWAYS_INLINE void cs__issue_request(cs__chan *c, cs__queue *q, uint16_t slot, int64_t t)
{
    struct cs_dram *d = c->sys;
    cs__req *r = &c->pool[slot];
    const uint32_t bank = r->bank;
    const bool is_write = r->flags & CS__REQ_WRITE;
    cs_dram_cmd cmd = cs__device_next_cmd(&c->dev, bank, r->row, is_write);
    bool column_cmd = cmd == CS_DRAM_RD || cmd == CS_DRAM_WR;
    if (column_cmd && d->cfg.row_policy == CS_DRAM_ROW_CLOSED && !cs__row_still_wanted(c, r, slot)) {
        cs_dram_cmd ap = cmd == CS_DRAM_RD ? CS_DRAM_RDA : CS_DRAM_WRA;
        if (cs__device_ready(&c->dev, ap, bank) <= t)
            cmd = ap;
    }
    if (!(r->flags & CS__REQ_CLASSIFIED))
        cs__classify(c, r);
    cs__device_issue(&c->dev, cmd, (int)bank, r->row, t);
    cs__timing_changed(c, (int)bank, cmd);
    /* The column is decoded only for a command hook: nothing else reads it. */
    const int column = d->on_command ? (int)cs__field_get(r->addr >> d->local_shift, d->f_column) : 0;
    cs__record_command(c, cmd, (int)bank, r->row, column, t);
    c->plan.valid = false;
    if (column_cmd) { /* the request's last command: retire it */
        if (!q) {
            c->activeq.banks &= ~(1u << bank);
            c->activeq.n--;
        } else {
            cs__leave_buffer(c, q, bank, slot, r, !cs__changes_bank_state(cmd));
        }
        if (is_write) {
            c->st.writes_served++;
            c->st.writes_done++;
            d->in_flight--;
            d->last_completion = (uint64_t)t;
            if (d->on_complete)
                d->on_complete(d->user, r->tag, (uint64_t)t, true);
        } else {
            c->st.reads_served++;
            /* Sized at creation for the most reads the RD spacing allows in flight: never grows, cannot fail. */
            cs__ring_push(&c->reads_in_flight, (cs__pending){t + d->read_latency, r->arrive, r->tag, false});
            if (t + d->read_latency < c->next_delivery)
                c->next_delivery = t + d->read_latency;
        }
        c->free_slot[c->nfree++] = slot;
    } else if (cmd == CS_DRAM_ACT && q && !(c->activeq.banks >> bank & 1)) {
        /* The request moves to the active buffer, freeing its read/write
         * buffer entry at once (Ramulator's promotion; see MODEL.md 3.5). */
        cs__leave_buffer(c, q, bank, slot, r, false); /* an ACT: cs__bank_changed follows */
        c->activeq.banks |= 1u << bank;
        c->activeq.n++;
        c->activeq.slot[bank] = slot;
        c->activeq.order[bank] = c->next_promotion++;
        c->activeq.arrive[bank] = r->arrive;
        c->activeq.col[bank] = is_write ? CS_DRAM_WR : CS_DRAM_RD;
        c->activeq.stale |= 1u << bank;
    }
    if (cs__changes_bank_state(cmd))
        cs__bank_changed(c, (int)bank);
}

static void cs__issue_priority(cs__chan *c, cs_dram_cmd cmd, int64_t t)
{
    int bank = c->priority[c->prio_head];
    cs__device_issue(&c->dev, cmd, bank, 0, t);
    cs__timing_changed(c, bank, cmd);
    cs__record_command(c, cmd, bank, -1, -1, t);
    c->plan.valid = false;
    if (cs__changes_bank_state(cmd))
        cs__bank_changed(c, cmd == CS_DRAM_PREAB ? -1 : bank);
    if (cmd == CS_DRAM_REFAB || cmd == CS_DRAM_REFPB) {
        c->prio_head = (c->prio_head + 1) % c->prio_cap;
        c->prio_n--;
        uint32_t was = c->refresh_blocked;
        c->refresh_blocked = 0;
        for (uint32_t i = 0; i < c->prio_n; i++) {
            int b = c->priority[(c->prio_head + i) % c->prio_cap];
            if (b >= 0)
                c->refresh_blocked |= 1u << b;
        }
        uint32_t changed = was ^ c->refresh_blocked;
        c->readq.stale_hit |= changed;
        c->readq.stale_other |= changed;
        c->writeq.stale_hit |= changed;
        c->writeq.stale_other |= changed;
    }
}

/* Plans ticks t and later from the current state, changing nothing but
 * c->plan (and scan caches). Each source's time is the earliest cycle >= t
 * at which it has a ready command. */
static CS__ALWAYS_INLINE void cs__make_plan(cs__chan *c, int64_t t)
{
    cs__plan *p = &c->plan; /* built in place: nothing below reads it */
    *p = (cs__plan){true, false, c->write_mode, t - 1, CS__INF, CS__INF, CS__INF, CS__INF, -1, -1};
    /* Active requests are row hits waiting for their column command. FRFCFS
     * takes the ready one that arrived first; equal arrivals go in promotion
     * order, Ramulator's list order. */
    cs__active_queue *a = &c->activeq;
    for (uint32_t m = a->stale & a->banks; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        cs_dram_cmd col = (cs_dram_cmd)a->col[bank];
        a->local_ready[bank] =
            cs__max64(c->dev.bg_ready[bank >> c->dev.bank_bits][col], c->dev.bank_ready[bank][col]);
    }
    a->stale = 0;
    int64_t plan_arrive = CS__INF;
    uint64_t plan_order = UINT64_MAX;
    for (uint32_t m = a->banks; m; m &= m - 1) {
        uint32_t bank = (uint32_t)__builtin_ctz(m);
        int64_t arrive = a->arrive[bank];
        int64_t channel = c->dev.ch_ready[a->col[bank]];
        int64_t when = cs__max64(cs__max64(channel, a->local_ready[bank]), t);
        bool older = arrive < plan_arrive || (arrive == plan_arrive && a->order[bank] < plan_order);
        if (when < p->t_active || (when == p->t_active && older)) {
            p->t_active = when;
            p->active_bank = (int32_t)bank;
            plan_arrive = arrive;
            plan_order = a->order[bank];
        }
    }
    if (c->prio_n) {
        cs_dram_cmd cmd;
        int64_t when;
        if (cs__priority_cmd(c, &cmd, &when))
            p->t_priority = cs__max64(when, t);
    }
    if (cs__rw_allowed(c)) {
        p->rw_evaluated = true;
        p->write_mode = cs__write_mode_next(c, c->write_mode, c->readq.n, c->writeq.n);
        int64_t when;
        int32_t idx;
        if (cs__scan(c, p->write_mode ? &c->writeq : &c->readq, p->write_mode, t, &when, &idx)) {
            p->t_rw = when;
            p->rw_index = idx;
        }
    }
    const int64_t n = p->t_active < p->t_priority ? p->t_active : p->t_priority;
    p->next = n < p->t_rw ? n : p->t_rw;
    /* The request to issue next was written at its arrival, long ago, and is
     * usually out of the L1 cache by now; its issue is a tick of this channel
     * away, after the other channels' ticks, time enough to fetch it. */
    if (p->t_active <= p->t_rw && p->active_bank >= 0)
        __builtin_prefetch(&c->pool[a->slot[p->active_bank]]);
    else if (p->rw_index >= 0)
        __builtin_prefetch(&c->pool[p->rw_index]);
}

/* Once tick made_at + 1 has passed without an issue, it has evaluated the
 * write mode: the plan's mode is the controller's. `done` is the last tick
 * executed. */
static inline void cs__settle_write_mode(cs__chan *c, int64_t done)
{
    if (c->plan.valid && c->plan.rw_evaluated && done > c->plan.made_at)
        c->write_mode = c->plan.write_mode;
}

/* Tick t carries out the plan's command due at t, in Ramulator's order of
 * precedence: active buffer, refresh, read/write buffer. */
static CS__ALWAYS_INLINE void cs__execute_plan(cs__chan *c, int64_t t)
{
    const cs__plan *p = &c->plan;
    if (p->t_active == t) {
        cs__issue_request(c, NULL, c->activeq.slot[p->active_bank], t);
    } else if (p->t_priority == t) {
        cs_dram_cmd cmd;
        int64_t when;
        cs__priority_cmd(c, &cmd, &when);
        cs__issue_priority(c, cmd, t);
    } else {
        c->write_mode = p->write_mode; /* this tick reached the read/write step */
        cs__issue_request(c, p->write_mode ? &c->writeq : &c->readq, (uint16_t)p->rw_index, t);
    }
}

static int64_t cs__next_tick(const cs__chan *c)
{
    if (!c->plan.valid)
        return c->clk + 1;
    int64_t n = c->plan.next;
    if (c->next_refresh < n)
        n = c->next_refresh;
    return c->next_delivery < n ? c->next_delivery : n;
}

/* ---- ticks ---- */

/* Queue-occupancy sums for ticks clk+1 .. t, sampled at the start of each
 * tick as Ramulator does; nothing else changes in between. */
static inline void cs__account(cs__chan *c, int64_t t)
{
    uint64_t dt = (uint64_t)(t - c->clk);
    c->st.read_queue_sum += dt * c->readq.n;
    c->st.write_queue_sum += dt * c->writeq.n;
    c->st.priority_queue_sum += dt * c->prio_n;
    c->clk = t;
}

static inline void cs__chan_idle_to(cs__chan *c, int64_t t)
{
    if (t > c->clk)
        cs__account(c, t);
}

static CS__ALWAYS_INLINE void cs__deliver(cs__chan *c, cs__ring *ring, int64_t t)
{
    struct cs_dram *d = c->sys;
    while (ring->n && ring->v[ring->head].depart <= t) {
        cs__pending p = cs__ring_pop(ring);
        d->in_flight--;
        d->last_completion = (uint64_t)p.depart;
        if (p.is_write) {
            c->st.writes_done++;
        } else {
            uint64_t lat = (uint64_t)(p.depart - p.arrive);
            c->st.reads_done++;
            c->st.read_latency_sum += lat;
            if (lat > c->st.read_latency_max)
                c->st.read_latency_max = lat;
            if (lat < d->latency_hist_len) /* the usual case, without a call */
                d->latency_hist[lat]++;
            else
                cs__dram_record_latency(d, lat);
        }
        if (d->on_complete)
            d->on_complete(d->user, p.tag, (uint64_t)p.depart, p.is_write);
    }
}

static void cs__queue_refresh(cs__chan *c)
{
    const struct cs_dram *d = c->sys;
    c->next_refresh += d->refresh_interval;
    if (c->prio_n == c->prio_cap) {
        /* Only a channel that cannot refresh at all piles these up. */
        int8_t *v = malloc(2 * (size_t)c->prio_cap);
        if (!v)
            return; /* out of memory: this refresh is skipped */
        for (uint32_t i = 0; i < c->prio_n; i++)
            v[i] = c->priority[(c->prio_head + i) % c->prio_cap];
        free(c->priority);
        c->priority = v;
        c->prio_head = 0;
        c->prio_cap *= 2;
    }
    c->st.refreshes_requested++;
    int8_t bank = -1;
    if (d->cfg.refresh == CS_DRAM_REFRESH_PER_BANK) {
        bank = (int8_t)c->next_refresh_bank;
        c->next_refresh_bank = (c->next_refresh_bank + 1) % c->dev.banks;
        c->refresh_blocked |= 1u << bank;
        c->readq.stale_hit |= 1u << bank;
        c->readq.stale_other |= 1u << bank;
        c->writeq.stale_hit |= 1u << bank;
        c->writeq.stale_other |= 1u << bank;
    }
    c->priority[(c->prio_head + c->prio_n) % c->prio_cap] = bank;
    c->prio_n++;
    c->plan.valid = false;
}

void cs__chan_tick(cs__chan *c, int64_t t)
{
    cs__account(c, t);
    if (c->next_delivery <= t) {
        if (cs__ring_next(&c->reads_in_flight) <= t)
            cs__deliver(c, &c->reads_in_flight, t);
        if (cs__ring_next(&c->quick) <= t)
            cs__deliver(c, &c->quick, t);
        int64_t r = cs__ring_next(&c->reads_in_flight), q = cs__ring_next(&c->quick);
        c->next_delivery = r < q ? r : q;
    }
    cs__settle_write_mode(c, t - 1);
    if (t == c->next_refresh)
        cs__queue_refresh(c);
    if (!c->plan.valid)
        cs__make_plan(c, t);
    if (c->plan.next == t) {
        cs__execute_plan(c, t);
        cs__make_plan(c, t + 1);
    }
    c->next_tick = cs__next_tick(c);
}

/* ---- arrivals ---- */


/* The whole arrival path in one function, here rather than split between
 * the memory system (dram.c) and this file: it runs once per request, and
 * on the bench's dominant layers there are ~1.3 commands per request. */
bool cs_dram_try_send(cs_dram *d, uint64_t addr, bool is_write, uint64_t tag)
{
    addr &= d->addr_mask;
    /* CacheLineInterleave: the channel bits right above the 32-B offset
     * (with one channel the mask is 0). */
    cs__chan *c = &d->chan[(uint32_t)(addr >> 5) & (d->nchan - 1)];
    /* A rejected request stays rejected until its channel frees a buffer
     * entry or accepts something: answer retries in between at once. */
    if (addr == d->rejected_addr && (int)is_write == d->rejected_write &&
        c->accept_epoch[is_write] == d->rejected_epoch)
        return false;
    /* A read of an address with a write waiting in the write buffer is
     * answered from it; a second write to it merges. Both are accepted even
     * when the buffers are full, as in Ramulator. */
    const bool forwarded = cs__addr_set_has(&c->write_addrs, c->pool, addr);
    cs__queue *q = is_write ? &c->writeq : &c->readq;
    if (!forwarded && q->n >= q->cap)
        goto reject;
    cs__chan_idle_to(c, d->clk); /* the channel's idle ticks since it last changed */
    if (forwarded) {
        if (!cs__ring_push(&c->quick, (cs__pending){c->clk + 1, c->clk, tag, is_write}))
            goto reject;
        if (c->clk + 1 < c->next_delivery)
            c->next_delivery = c->clk + 1;
        *(is_write ? &c->st.writes_coalesced : &c->st.reads_forwarded) += 1;
        if (c->next_tick > c->clk + 1)
            c->next_tick = c->clk + 1;
    } else {
        const uint64_t x = addr >> d->local_shift; /* the intra-channel address above its 32-B offset */
        const uint32_t bank = d->bank_of[cs__field_get(x, d->f_bankgroup) << d->f_bank.bits | cs__field_get(x, d->f_bank)];
        const uint32_t row = cs__field_get(x, d->f_row);
        uint16_t slot = c->free_slot[--c->nfree];
        c->pool[slot] = (cs__req){addr, tag, c->clk, row, (uint8_t)bank, is_write ? CS__REQ_WRITE : 0};
        const bool candidate = cs__queue_append(q, bank, row, slot, c->next_seq++, c->dev.open_row[bank]);
        if (is_write)
            cs__addr_set_insert(&c->write_addrs, slot, addr);
        /* Keep the plan exact: the newcomer may be ready before it, or change
         * which buffer the next evaluation scans. */
        if (c->plan.valid && c->plan.rw_evaluated) {
            cs__settle_write_mode(c, c->clk);
            if (cs__write_mode_next(c, c->write_mode, c->readq.n, c->writeq.n) != c->plan.write_mode) {
                c->plan.valid = false;
            } else if (candidate && is_write == c->plan.write_mode) {
                /* Behind an older request of its bank that needs the same
                 * command, a newcomer cannot be chosen first. */
                int64_t when = cs__rw_ready(c, bank, row, is_write);
                if (when <= c->clk)
                    when = c->clk + 1;
                if (when < c->plan.t_rw) {
                    c->plan.t_rw = when;
                    if (when < c->plan.next)
                        c->plan.next = when;
                    c->plan.rw_index = (int32_t)slot;
                }
            }
        }
        /* c->next_tick was cs__next_tick(c) (and is after c->clk); of its
         * terms only the plan changed: invalid (next cycle) or an earlier t_rw. */
        if (!c->plan.valid)
            c->next_tick = c->clk + 1;
        else if (c->plan.t_rw < c->next_tick)
            c->next_tick = c->plan.t_rw;
    }
    if (is_write)
        c->st.writes++;
    else
        c->st.reads++;
    d->in_flight++;
    c->accept_epoch[0]++;
    c->accept_epoch[1]++;
    if (c->next_tick < d->next_tick)
        d->next_tick = c->next_tick;
    return true;
reject:
    d->rejected_addr = addr;
    d->rejected_write = is_write;
    d->rejected_epoch = c->accept_epoch[is_write];
    d->rejected_watch = &c->accept_epoch[is_write];
    return false;
}
