/* The two memory back ends that need no DRAM model: `ideal` (every atom
 * arrives the moment it is requested, so the array never waits) and
 * `bandwidth` (one port moving a fixed number of bytes per second, atoms
 * served in request order, as SCALE-Sim's USER bandwidth but shared by all
 * operands). The port accepts at most CS__PORT_WINDOW atoms ahead of the
 * one it is moving, like a memory controller's queue: with an unbounded
 * queue a long prefetch or write-back would sit in front of the atom the
 * array waits for. Both keep time in picoseconds: one back-end cycle = 1 ps. */
#include "accel_internal.h"

#include <math.h>
#include <stdlib.h>

#define CS__PORT_WINDOW 64

typedef struct cs__pending {
    uint64_t done, tag;
} cs__pending;

typedef struct cs__mem_simple {
    cs__mem_done_fn done;
    void *user;
    uint64_t now;        /* ps */
    bool ideal;
    double atom_ps;      /* bandwidth: time one atom occupies the port */
    double port_free;    /* bandwidth: when the port is next free */
    cs__pending *q;      /* bandwidth: completions, in time order */
    size_t head, n, cap;
    /* bandwidth: counts atoms leaving the window. A refused atom is refused
     * again until it moves, whichever operand sends it: the engine then
     * stops retrying every stream on every event (cs__mem.refusal_watch). */
    uint64_t departed;
} cs__mem_simple;

static bool cs__simple_send(void *self, uint64_t addr, bool write, uint64_t tag)
{
    cs__mem_simple *s = self;
    (void)addr;
    (void)write;
    if (s->ideal) {
        s->done(s->user, tag, s->now, false);
        return true;
    }
    if (s->n - s->head >= CS__PORT_WINDOW)
        return false;
    double start = s->port_free > (double)s->now ? s->port_free : (double)s->now;
    s->port_free = start + s->atom_ps;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        /* compact the consumed prefix before growing */
        if (s->head) {
            for (size_t i = s->head; i < s->n; i++)
                s->q[i - s->head] = s->q[i];
            s->n -= s->head;
            s->head = 0;
        }
        if (s->n == s->cap) {
            cs__pending *p = realloc(s->q, cap * sizeof *p);
            if (!p)
                return false;
            s->q = p;
            s->cap = cap;
        }
    }
    s->q[s->n++] = (cs__pending){(uint64_t)ceil(s->port_free), tag};
    return true;
}

static void cs__simple_advance(void *self, uint64_t cycle)
{
    cs__mem_simple *s = self;
    while (s->head < s->n && s->q[s->head].done <= cycle) {
        cs__pending p = s->q[s->head++];
        s->departed++;
        s->now = p.done;
        s->done(s->user, p.tag, p.done, false);
    }
    if (cycle > s->now)
        s->now = cycle;
}

static const uint64_t *cs__simple_refusal_watch(void *self, uint64_t *value)
{
    cs__mem_simple *s = self;
    *value = s->departed;
    return &s->departed;
}

static uint64_t cs__simple_next(void *self)
{
    cs__mem_simple *s = self;
    return s->head < s->n ? s->q[s->head].done : UINT64_MAX;
}

static double cs__simple_hits(void *self)
{
    (void)self;
    return NAN;
}

static void cs__simple_destroy(void *self)
{
    cs__mem_simple *s = self;
    free(s->q);
    free(s);
}

cs_status cs__mem_simple_create(const cs_machine *m, cs__mem_done_fn done, void *user, cs__mem *out, cs_error *err)
{
    cs__mem_simple *s = calloc(1, sizeof *s);
    if (!s)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    s->done = done;
    s->user = user;
    s->ideal = m->memory == CS_MEM_IDEAL;
    s->atom_ps = s->ideal ? 0 : CS_ATOM_BYTES * 1000.0 / m->bandwidth_gbps; /* bytes / (GB/s) = ns */
    /* ideal never refuses: no watch */
    *out = (cs__mem){s, 1.0, cs__simple_send, s->ideal ? NULL : cs__simple_refusal_watch, cs__simple_advance,
                     cs__simple_next, cs__simple_hits, cs__simple_destroy, NULL};
    return CS_OK;
}
