/* The accelerator engine: plays a layer's schedule against a memory back
 * end. Three actors share one clock (picoseconds):
 *   - the array walks the folds' events: a read unit must have arrived when
 *     the fold first needs it (else the whole array stalls), a write unit
 *     needs room in the OFMAP buffer when produced, and a read unit's
 *     buffer space frees at its release point;
 *   - one fetch stream per operand starts units in schedule order as soon
 *     as its SRAM has room (double buffering: the next fold's tiles load
 *     while the current fold computes) and sends their atoms in order;
 *   - the write stream sends produced outputs.
 * docs/MODEL.md, "Accelerator", states the rules and their reasons. */
#include "accel_internal.h"
#include "colscope/dram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { CS__CLS_IFMAP = 0, CS__CLS_FILTER = 1, CS__CLS_OFMAP = 2 };
enum { CS__U_IDLE = 0, CS__U_SENDING, CS__U_SENT, CS__U_DONE };

typedef struct cs__urt {
    cs__atom_run *runs;
    size_t nruns, cap, ri;
    uint64_t roff;
    uint64_t natoms, done, bytes;
    uint64_t ready_ps;
    uint64_t need_bytes, need_epoch; /* cs__uncached_bytes as of cache_epoch[op] + 1 = need_epoch */
    uint8_t state;
    bool generated;
} cs__urt;

typedef struct cs__release {
    uint64_t t, bytes;
    int cls;
} cs__release;

typedef struct cs__stream {
    uint32_t *units;
    size_t n, cap, next; /* units [next, n) not started; sending ones are tracked by `cur` */
    int64_t cur;         /* unit sending atoms, -1 none */
    int cls;
    /* After the back end refused the current atom: a counter that stays at
     * watch_value while retrying it would be refused too (NULL: unknown). */
    const uint64_t *watch;
    uint64_t watch_value;
} cs__stream;

typedef struct cs__engine {
    const cs_machine *m;
    const cs__schedule *s;
    const cs__layout_ctx *lc;
    cs__mem mem;
    cs__urt *rt;
    cs__stream st[CS__NOPS];
    uint64_t cap[3];
    uint64_t occ[3];                     /* bytes of units started and not yet released (OFMAP: not yet written) */
    uint64_t onchip[3];                  /* read SRAMs: bytes on chip, in flight or cached */
    cs__release *rel;
    size_t nrel, caprel;
    /* The on-chip cache: atoms of each read operand that are in SRAM. A
     * unit fetches only atoms not there; when the SRAM is full the cache is
     * flushed (docs/MODEL.md 4.2). */
    uint64_t *cached[CS__NOPS];
    uint64_t cache_epoch[CS__NOPS];      /* counts changes of cached[op] */
    uint64_t region_atoms[CS__NOPS];
    uint64_t core_ps, now;
    /* array */
    size_t fold, ev;
    uint64_t fold_start, stall, array_end, wake;
    bool array_done;
    uint64_t writes_pending, last_write;
    int64_t waiting_on;                  /* unit the array waits for, -1 none */
    /* Set when something cs__array_progress / cs__start_units read may have
     * changed since their last call; while clear, a call would pass nothing
     * and change nothing, so the engine skips it (the order of everything
     * that does happen is unchanged). */
    bool array_dirty, start_dirty;
    unsigned active;                     /* bit s: stream s has a unit sending (st[s].cur >= 0) */
    uint64_t atoms_by_op[CS__NOPS];
    cs_error *err;
    bool failed;
    uint64_t tck_int;      /* mem.tck_ps if a whole number of ps below 2^20, else 0 (cs__cycles_to_ps) */
    uint64_t cycles_limit; /* 2^52 / tck_int */
} cs__engine;

static uint64_t cs__up(uint64_t t, uint64_t q) { return (t + q - 1) / q * q; }

/* Back-end cycles to picoseconds, rounded up, and back, rounded down: the
 * double expressions, or, when the period is a whole number of ps (GDDR6's
 * tCK), integer arithmetic, which gives the same values while the numbers
 * stay below 2^52 (then n, n * tck and n / tck are exact in double, and
 * n / tck cannot round up to the next integer) and costs a fraction of
 * them on the per-event path. */
static inline uint64_t cs__cycles_to_ps(const cs__engine *e, uint64_t c)
{
    if (e->tck_int && c < e->cycles_limit)
        return c * e->tck_int;
    return (uint64_t)ceil((double)c * e->mem.tck_ps);
}

static inline uint64_t cs__ps_to_cycles(const cs__engine *e, uint64_t ps)
{
    if (e->tck_int && ps < (uint64_t)1 << 52)
        return ps / e->tck_int;
    return (uint64_t)floor((double)ps / e->mem.tck_ps);
}

/* ---- the memory back end: lib/dram directly, else through cs__mem ---- */

/* d: e->mem.dram, which the caller keeps in a register across its loop. */
static inline bool cs__mem_send(cs__engine *e, struct cs_dram *d, uint64_t addr, bool write, uint64_t tag)
{
    return d ? cs_dram_try_send(d, addr, write, tag) : e->mem.try_send(e->mem.self, addr, write, tag);
}

static inline const uint64_t *cs__mem_refusal_watch(cs__engine *e, uint64_t *value)
{
    return e->mem.dram            ? cs_dram_refusal_watch(e->mem.dram, value)
           : e->mem.refusal_watch ? e->mem.refusal_watch(e->mem.self, value)
                                  : NULL;
}

static inline uint64_t cs__mem_next_event(cs__engine *e)
{
    return e->mem.dram ? cs_dram_next_event(e->mem.dram) : e->mem.next_event(e->mem.self);
}

static inline void cs__mem_advance_to(cs__engine *e, uint64_t cycle)
{
    if (!e->mem.dram)
        e->mem.advance_to(e->mem.self, cycle);
    else if (cycle > cs_dram_cycle(e->mem.dram))
        cs_dram_advance_to(e->mem.dram, cycle);
}

/* ---- release heap ----------------------------------------------------- */

static bool cs__rel_push(cs__engine *e, uint64_t t, int cls, uint64_t bytes)
{
    if (!bytes)
        return true;
    cs__release *p = cs_grow(e->rel, &e->caprel, e->nrel, sizeof *p, 64);
    if (!p)
        return false;
    e->rel = p;
    size_t i = e->nrel++;
    e->rel[i] = (cs__release){t, bytes, cls};
    while (i && e->rel[(i - 1) / 2].t > e->rel[i].t) {
        cs__release tmp = e->rel[i];
        e->rel[i] = e->rel[(i - 1) / 2];
        e->rel[(i - 1) / 2] = tmp;
        i = (i - 1) / 2;
    }
    return true;
}

static bool cs__rel_apply(cs__engine *e)
{
    bool any = false;
    while (e->nrel && e->rel[0].t <= e->now) {
        e->occ[e->rel[0].cls] -= e->rel[0].bytes;
        e->rel[0] = e->rel[--e->nrel];
        for (size_t i = 0;;) {
            size_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < e->nrel && e->rel[l].t < e->rel[m].t)
                m = l;
            if (r < e->nrel && e->rel[r].t < e->rel[m].t)
                m = r;
            if (m == i)
                break;
            cs__release tmp = e->rel[i];
            e->rel[i] = e->rel[m];
            e->rel[m] = tmp;
            i = m;
        }
        any = true;
    }
    return any;
}

/* ---- memory completions ---------------------------------------------- */

/* All of unit idx's atoms have arrived (or been written) at ready_ps. */
static void cs__unit_done(cs__engine *e, uint32_t idx, uint64_t ready_ps)
{
    cs__urt *u = &e->rt[idx];
    u->state = CS__U_DONE;
    u->ready_ps = ready_ps;
    e->array_dirty = true; /* the array may wait for it */
    if (e->s->units[idx].op == CS__OP_C) {
        e->occ[CS__CLS_OFMAP] -= u->bytes;
        e->writes_pending--;
        if (ready_ps > e->last_write)
            e->last_write = ready_ps;
    }
}

static void cs__on_done(void *user, uint64_t tag, uint64_t cycle, bool is_write)
{
    cs__engine *e = user;
    (void)is_write;
    cs__urt *u = &e->rt[tag];
    if (++u->done == u->natoms && u->state == CS__U_SENT)
        cs__unit_done(e, (uint32_t)tag, cs__cycles_to_ps(e, cycle));
}

/* ---- streams ---------------------------------------------------------- */

static bool cs__stream_push(cs__stream *s, uint32_t unit)
{
    uint32_t *p = cs_grow(s->units, &s->cap, s->n, sizeof *p, 256);
    if (!p)
        return false;
    s->units = p;
    s->units[s->n++] = unit;
    return true;
}

/* The atoms a unit covers under the layout (before the cache). */
static bool cs__generate(cs__engine *e, uint32_t idx)
{
    cs__urt *u = &e->rt[idx];
    const cs__unit *su = &e->s->units[idx];
    if (u->generated)
        return true;
    u->generated = true;
    if (cs__layout_atoms(e->lc, su, &u->runs, &u->nruns, &u->cap, e->err) != CS_OK)
        return false;
    u->natoms = 0;
    for (size_t i = 0; i < u->nruns; i++)
        u->natoms += u->runs[i].count;
    u->bytes = u->natoms * CS_ATOM_BYTES;
    return true;
}

static int cs__class_of(uint8_t op) { return op == CS__OP_B ? CS__CLS_FILTER : op == CS__OP_C ? CS__CLS_OFMAP : CS__CLS_IFMAP; }

/* Of bits [lo, hi), how many lie in lo's 64-bit word, and their mask in it. */
static inline uint64_t cs__span(uint64_t lo, uint64_t hi)
{
    const uint64_t span = 64 - lo % 64;
    return span < hi - lo ? span : hi - lo;
}

static inline uint64_t cs__span_mask(uint64_t lo, uint64_t span)
{
    return (span == 64 ? ~0ull : (1ull << span) - 1) << lo % 64;
}

/* Bytes of the unit's atoms not in the cache. A unit waiting for room asks
 * on every pass of the engine: the count is kept until the cache changes. */
static uint64_t cs__uncached_bytes(cs__engine *e, uint32_t idx)
{
    cs__urt *u = &e->rt[idx];
    const uint8_t op = e->s->units[idx].op;
    if (u->need_epoch == e->cache_epoch[op] + 1)
        return u->need_bytes;
    const uint64_t *bits = e->cached[op], base = e->lc->base[op] / CS_ATOM_BYTES;
    uint64_t n = 0;
    for (size_t i = 0; i < u->nruns; i++) /* a word of the bitmap at a time */
        for (uint64_t lo = u->runs[i].first - base, hi = lo + u->runs[i].count; lo < hi;) {
            const uint64_t span = cs__span(lo, hi);
            const uint64_t hit = bits[lo / 64] & cs__span_mask(lo, span);
            /* mostly none cached; popcount is a libgcc call without -mpopcnt */
            n += hit ? span - (uint64_t)__builtin_popcountll(hit) : span;
            lo += span;
        }
    u->need_bytes = n * CS_ATOM_BYTES;
    u->need_epoch = e->cache_epoch[op] + 1;
    return u->need_bytes;
}

/* Keeps only the unit's atoms not in the cache, and caches them. */
static bool cs__take_uncached(cs__engine *e, uint32_t idx)
{
    cs__urt *u = &e->rt[idx];
    const uint8_t op = e->s->units[idx].op;
    uint64_t *bits = e->cached[op];
    const uint64_t base = e->lc->base[op] / CS_ATOM_BYTES;
    cs__atom_run *out = malloc((u->nruns * 2 + 1) * sizeof *out); /* each run splits into at most two per hole */
    size_t k = 0, cap = u->nruns * 2 + 1;
    if (!out)
        return false;
    uint64_t last = UINT64_MAX, n = 0;
    /* A word of the bitmap at a time: its clear bits in the run are the
     * atoms to fetch, taken as stretches of consecutive ones; a stretch
     * right after the previous one extends its run, as atom by atom. */
    for (size_t i = 0; i < u->nruns; i++)
        for (uint64_t lo = u->runs[i].first - base, hi = lo + u->runs[i].count; lo < hi;) {
            const uint64_t span = cs__span(lo, hi), mask = cs__span_mask(lo, span);
            uint64_t *w = &bits[lo / 64];
            uint64_t todo = ~*w & mask;
            *w |= mask;
            const uint64_t word_atom = base + lo / 64 * 64;
            lo += span;
            while (todo) {
                const unsigned b0 = (unsigned)__builtin_ctzll(todo);
                const uint64_t x = ~(todo >> b0);
                const uint64_t len = x ? (uint64_t)__builtin_ctzll(x) : 64 - b0;
                const uint64_t a = word_atom + b0;
                todo &= ~(cs__span_mask(b0, len));
                n += len;
                if (last != UINT64_MAX && last + 1 == a)
                    out[k - 1].count += len;
                else {
                    if (k == cap) {
                        cs__atom_run *p = cs_grow(out, &cap, k, sizeof *p, 1);
                        if (!p) {
                            free(out);
                            return false;
                        }
                        out = p;
                    }
                    out[k++] = (cs__atom_run){a, len};
                }
                last = a + len - 1;
            }
        }
    free(u->runs);
    u->runs = out;
    u->nruns = k;
    u->cap = cap;
    if (n)
        e->cache_epoch[op]++;
    u->natoms = n;
    u->bytes = n * CS_ATOM_BYTES;
    return true;
}

static void cs__flush(cs__engine *e, int cls)
{
    for (int op = 0; op < CS__NOPS; op++)
        if (e->cached[op] && cs__class_of((uint8_t)op) == cls) {
            memset(e->cached[op], 0, (e->region_atoms[op] / 64 + 2) * sizeof(uint64_t));
            e->cache_epoch[op]++;
        }
    e->onchip[cls] = e->occ[cls]; /* what is in flight stays until released */
}

static void cs__unit_start(cs__engine *e, cs__stream *st, uint32_t idx)
{
    cs__urt *u = &e->rt[idx];
    if (u->natoms == 0) {
        cs__unit_done(e, idx, e->now);
        return;
    }
    u->state = CS__U_SENDING;
    st->cur = idx;
    e->active |= 1u << (st - e->st);
}

/* Starts every unit whose stream is free and whose SRAM has room for its
 * atoms not already on chip, flushing the cache when that makes room. When
 * the array already waits on a stream, its next unit over-commits the SRAM:
 * data that cannot fit then streams through instead of deadlocking. */
static bool cs__start_units(cs__engine *e)
{
    bool any = false;
    for (int s = 0; s < CS__NOPS; s++) {
        cs__stream *st = &e->st[s];
        while (st->cur < 0 && st->next < st->n) {
            uint32_t idx = st->units[st->next];
            if (!cs__generate(e, idx)) {
                e->failed = true;
                return false;
            }
            if (st->cls != CS__CLS_OFMAP) {
                const int c = st->cls;
                bool array_waits = e->waiting_on >= 0 && e->s->units[e->waiting_on].op == (uint8_t)s;
                uint64_t need = cs__uncached_bytes(e, idx);
                if (e->onchip[c] + need > e->cap[c]) {
                    /* room only by flushing: then every atom is needed again */
                    if (e->occ[c] && e->occ[c] + e->rt[idx].bytes > e->cap[c] && !array_waits)
                        break;
                    cs__flush(e, c);
                }
                if (!cs__take_uncached(e, idx)) {
                    e->failed = true;
                    return false;
                }
                e->occ[c] += e->rt[idx].bytes;
                e->onchip[c] += e->rt[idx].bytes;
            }
            st->next++;
            cs__unit_start(e, st, idx);
            any = true;
        }
    }
    return any;
}

/* Sends stream s's atoms until the back end refuses one (returns 0), the
 * unit's last one went (2; the stream is free again) or, unless `all`, one
 * went (1). The GDDR6 model is called directly. The position in the runs and
 * the count stay in locals across the calls: a back end's completion
 * callback (ideal's comes inside try_send) reads neither. */
static inline __attribute__((always_inline)) int cs__send_run(cs__engine *e, int s, bool all, bool *any)
{
    cs__stream *st = &e->st[s];
    const uint32_t idx = (uint32_t)st->cur;
    cs__urt *u = &e->rt[idx];
    const bool write = s == CS__OP_C; /* streams are indexed by operand: only C writes */
    struct cs_dram *const d = e->mem.dram;
    const cs__atom_run *r = &u->runs[u->ri];
    uint64_t roff = u->roff, sent = 0;
    int rc;
    for (;;) {
        const uint64_t addr = (r->first + roff) * CS_ATOM_BYTES;
        if (!cs__mem_send(e, d, addr, write, idx)) {
            st->watch = cs__mem_refusal_watch(e, &st->watch_value);
            rc = 0;
            break;
        }
        sent++;
        if (++roff == r->count) {
            roff = 0;
            r++;
            if (++u->ri == u->nruns) {
                rc = 2;
                break;
            }
        }
        if (!all) {
            rc = 1;
            break;
        }
    }
    u->roff = roff;
    if (!sent)
        return 0;
    *any = true;
    st->watch = rc ? NULL : st->watch;
    e->atoms_by_op[s] += sent;
    if (rc == 2) {
        free(u->runs);
        u->runs = NULL;
        if (u->done == u->natoms) /* the back end finished it while sending (ideal) */
            cs__unit_done(e, idx, e->now);
        else
            u->state = CS__U_SENT;
        st->cur = -1;
        e->active &= ~(1u << s);
    }
    return rc;
}

/* Sends atoms, one per stream in turn (passes over the streams in operand
 * order), until the back end refuses every stream. `ready` holds the
 * streams with a unit that have not been refused in this call; a pass
 * visits them in order, including ones a finished unit's successor started
 * further on. With one stream ready, its passes are one atom each, sent in
 * a tight loop. */
static bool cs__send_atoms(cs__engine *e)
{
    unsigned refused = 0, ready = e->active;
    /* Streams refused again (their watch unchanged) before the first that
     * may send are refused for this call, as the first pass would find;
     * when that is every stream (as on the pass that confirms a step is
     * over) there is nothing to send and nothing changes. */
    for (unsigned m = ready;; m &= m - 1) {
        if (!m)
            return false;
        const unsigned s = (unsigned)__builtin_ctz(m);
        const cs__stream *st = &e->st[s];
        if (!st->watch || *st->watch != st->watch_value)
            break;
        refused |= 1u << s;
    }
    ready &= ~refused;
    bool any = false;
    while (ready) {
        for (unsigned m = ready; m;) {
            const int s = __builtin_ctz(m);
            const unsigned bit = 1u << s;
            cs__stream *st = &e->st[s];
            int r;
            if (st->watch && *st->watch == st->watch_value) /* refused again: skip the call */
                r = 0;
            else if (ready == bit)
                r = cs__send_run(e, s, true, &any);
            else
                r = cs__send_run(e, s, false, &any);
            if (r == 0)
                refused |= bit;
            else if (r == 2)
                e->start_dirty = cs__start_units(e);
            /* streams with a unit not refused yet, including any just started */
            ready = e->active & ~refused;
            m = ready & ~((2u << s) - 1);
        }
    }
    return any;
}

/* ---- the array -------------------------------------------------------- */

/* Walks events until one cannot be passed yet. */
static bool cs__array_progress(cs__engine *e)
{
    bool any = false;
    const cs__schedule *s = e->s;
    e->wake = UINT64_MAX;
    e->waiting_on = -1;
    while (e->fold < s->nfolds) {
        const cs__fold *f = &s->folds[e->fold];
        if (e->ev == f->ev1) {
            e->fold_start += f->rows * e->core_ps + e->stall;
            e->stall = 0;
            e->fold++;
            if (e->fold < s->nfolds)
                e->ev = s->folds[e->fold].ev0;
            any = true;
            continue;
        }
        const cs__event *ev = &s->events[e->ev];
        uint64_t t = e->fold_start + (ev->offset / 2) * e->core_ps + e->stall;
        const cs__unit *su = &s->units[ev->unit];
        cs__urt *u = &e->rt[ev->unit];
        if (ev->offset % 2 == 0) { /* release: the space frees, the data stays cached */
            if (!cs__rel_push(e, t, cs__class_of(su->op), u->bytes)) {
                e->failed = true;
                return false;
            }
        } else if (!ev->produce) { /* need */
            if (u->state != CS__U_DONE) {
                e->waiting_on = (int64_t)ev->unit;
                return any; /* wait for the data */
            }
            else if (u->ready_ps > t)
                e->stall += cs__up(u->ready_ps, e->core_ps) - t;
        } else { /* produce: needs room in the OFMAP buffer at time t */
            if (t > e->now) {
                e->wake = t;
                return any;
            }
            if (!cs__generate(e, ev->unit)) {
                e->failed = true;
                return false;
            }
            if (e->occ[CS__CLS_OFMAP] && e->occ[CS__CLS_OFMAP] + u->bytes > e->cap[CS__CLS_OFMAP])
                return any; /* wait for earlier writes to drain */
            if (e->now > t)
                e->stall += cs__up(e->now, e->core_ps) - t;
            e->occ[CS__CLS_OFMAP] += u->bytes;
            e->writes_pending++;
            if (!cs__stream_push(&e->st[CS__OP_C], ev->unit)) {
                e->failed = true;
                return false;
            }
        }
        e->ev++;
        any = true;
    }
    if (!e->array_done) {
        e->array_done = true;
        e->array_end = e->fold_start;
        any = true;
    }
    return any;
}

static void cs__engine_free(cs__engine *e)
{
    if (e->mem.destroy)
        e->mem.destroy(e->mem.self);
    if (e->rt)
        for (size_t i = 0; i < e->s->nunits; i++)
            free(e->rt[i].runs);
    free(e->rt);
    for (int i = 0; i < CS__NOPS; i++) {
        free(e->st[i].units);
        free(e->cached[i]);
    }
    free(e->rel);
}

cs_status cs__engine_run(const cs_machine *m, const cs__schedule *s, const cs__layout_ctx *lc, cs_accel_result *out,
                         cs_error *err);

cs_status cs__engine_run(const cs_machine *m, const cs__schedule *s, const cs__layout_ctx *lc, cs_accel_result *out,
                         cs_error *err)
{
    cs__engine e;
    memset(&e, 0, sizeof e);
    e.m = m;
    e.s = s;
    e.lc = lc;
    e.err = err;
    e.core_ps = (uint64_t)llround(1000.0 / m->core_clock_ghz);
    e.cap[CS__CLS_IFMAP] = m->ifmap_sram_bytes;
    e.cap[CS__CLS_FILTER] = m->filter_sram_bytes;
    e.cap[CS__CLS_OFMAP] = m->ofmap_sram_bytes;
    cs_status rc = m->memory == CS_MEM_GDDR6 ? cs__mem_gddr6_create(m, cs__on_done, &e, &e.mem, err)
                                             : cs__mem_simple_create(m, cs__on_done, &e, &e.mem, err);
    if (rc != CS_OK)
        return rc;
    if (e.mem.tck_ps >= 1 && e.mem.tck_ps < (double)(1u << 20) && e.mem.tck_ps == floor(e.mem.tck_ps)) {
        e.tck_int = (uint64_t)e.mem.tck_ps;
        e.cycles_limit = ((uint64_t)1 << 52) / e.tck_int;
    }
    e.rt = calloc(s->nunits ? s->nunits : 1, sizeof *e.rt);
    bool ok = e.rt != NULL;
    static const int cls[CS__NOPS] = {CS__CLS_IFMAP, CS__CLS_FILTER, CS__CLS_IFMAP, CS__CLS_OFMAP};
    for (int i = 0; i < CS__NOPS; i++) {
        e.st[i].cur = -1;
        e.st[i].cls = cls[i];
    }
    const uint64_t K = lc->l->K, N = lc->l->N;
    uint64_t region[CS__NOPS] = {lc->a_bytes, K * N * lc->es, lc->meta_bytes, 0};
    for (int op = CS__OP_A; ok && op <= CS__OP_META; op++) {
        e.region_atoms[op] = region[op] / CS_ATOM_BYTES + 2;
        e.cached[op] = calloc(e.region_atoms[op] / 64 + 2, sizeof(uint64_t));
        ok = e.cached[op] != NULL;
    }
    for (size_t i = 0; ok && i < s->nunits; i++)
        if (s->units[i].op != CS__OP_C)
            ok = cs__stream_push(&e.st[s->units[i].op], (uint32_t)i);
    if (!ok) {
        cs__engine_free(&e);
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    }
    e.ev = s->nfolds ? s->folds[0].ev0 : 0;
    e.waiting_on = -1;
    e.wake = UINT64_MAX;
    e.array_dirty = e.start_dirty = true;

    for (;;) {
        /* Passes until nothing moves; a pass skips the calls its dirty
         * flags show would do nothing. */
        bool progress = true;
        while (progress && !e.failed) {
            progress = false;
            if (cs__rel_apply(&e)) /* frees SRAM room (and OFMAP room the array may wait for) */
                progress = e.array_dirty = e.start_dirty = true;
            if (e.array_dirty) {
                const int64_t w = e.waiting_on;
                e.array_dirty = false;
                if (cs__array_progress(&e)) /* may have queued writes or moved what it waits on */
                    progress = e.start_dirty = true;
                else if (e.waiting_on != w)
                    e.start_dirty = true;
            }
            if (e.start_dirty && !e.failed) {
                e.start_dirty = false;
                if (cs__start_units(&e)) /* one stream's start (a flush) can make room for another's */
                    progress = e.start_dirty = true;
            }
            if (!e.failed && cs__send_atoms(&e))
                progress = true;
        }
        if (e.failed) {
            cs__engine_free(&e);
            return err && err->status ? err->status : cs_error_set(err, CS_ERUNTIME, "out of memory");
        }
        if (e.array_done && e.writes_pending == 0)
            break;
        /* Next moment anything can change. */
        uint64_t next = UINT64_MAX;
        uint64_t mc = cs__mem_next_event(&e);
        if (mc != UINT64_MAX)
            next = cs__cycles_to_ps(&e, mc);
        if (e.nrel && e.rel[0].t < next)
            next = e.rel[0].t;
        if (e.wake < next)
            next = e.wake;
        if (next == UINT64_MAX) {
            cs__engine_free(&e);
            return cs_error_set(err, CS_ERUNTIME, "accelerator simulation of layer '%s' deadlocked (fold %zu of %zu)",
                                lc->l->name, e.fold, s->nfolds);
        }
        if (next <= e.now)
            next = e.now + 1;
        e.now = next;
        cs__mem_advance_to(&e, cs__ps_to_cycles(&e, e.now));
        if (e.now >= e.wake) /* a produce event's time has come */
            e.array_dirty = true;
    }

    memset(out, 0, sizeof *out);
    out->compute_cycles = s->compute_cycles;
    uint64_t end = s->nfolds ? cs__up(e.array_end, e.core_ps) / e.core_ps - 1 : 0;
    uint64_t wend = cs__up(e.last_write, e.core_ps) / e.core_ps;
    out->total_cycles = end > wend ? end : wend;
    if (out->total_cycles < out->compute_cycles) /* cannot happen; guards the subtraction */
        out->total_cycles = out->compute_cycles;
    out->stall_cycles = out->total_cycles - out->compute_cycles;
    out->folds = s->nfolds;
    out->read_bytes[CS_OPERAND_A] = e.atoms_by_op[CS__OP_A] * CS_ATOM_BYTES;
    out->read_bytes[CS_OPERAND_B] = e.atoms_by_op[CS__OP_B] * CS_ATOM_BYTES;
    out->read_bytes[CS_OPERAND_META] = e.atoms_by_op[CS__OP_META] * CS_ATOM_BYTES;
    out->write_bytes = e.atoms_by_op[CS__OP_C] * CS_ATOM_BYTES;
    out->a_stored_bytes = lc->a_bytes;
    out->metadata_bytes = lc->meta_bytes;
    out->dram_requests = e.atoms_by_op[0] + e.atoms_by_op[1] + e.atoms_by_op[2] + e.atoms_by_op[3];
    out->seconds = (double)out->total_cycles / (m->core_clock_ghz * 1e9);
    out->achieved_gbps = out->seconds > 0 ? (double)(out->dram_requests * CS_ATOM_BYTES) / out->seconds / 1e9 : 0;
    out->row_hit_rate = e.mem.row_hit_rate(e.mem.self);
    cs__engine_free(&e);
    return CS_OK;
}
