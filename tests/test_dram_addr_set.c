/* The write-address set of the GDDR6 controller (read forwarding, write
 * coalescing): chained buckets over pool slots. Random inserts, removals and
 * look-ups against a plain array, with few buckets so that chains are long
 * and removals hit every position in them. */
#include "dram/dram_internal.h"

#include <criterion/criterion.h>

#define SLOTS 96

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void check_against(const cs__addr_set *s, const cs__req *pool, const bool *present, int round)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < SLOTS; i++) {
        if (!present[i])
            continue;
        n++;
        cr_assert_eq(cs__addr_set_find(s, pool, pool[i].addr), i, "round %d: slot %u not found", round, i);
        cr_assert(cs__addr_set_has(s, pool, pool[i].addr), "round %d: slot %u outside [lo, hi]", round, i);
    }
    cr_assert_eq(s->n, n, "round %d: %u entries, expected %u", round, s->n, n);
    if (n == 0)
        cr_assert_gt(s->lo, s->hi, "round %d: an empty set's range must be empty", round);
}

Test(dram_addr_set, matches_a_plain_array_under_random_use)
{
    cs__addr_set s;
    cr_assert(cs__addr_set_init(&s, 2, SLOTS)); /* 8 buckets: chains of ~10 */
    cs__req pool[SLOTS] = {{0}};
    bool present[SLOTS] = {false};
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 200000; round++) {
        const uint64_t r = next_random(&x);
        const uint32_t slot = (uint32_t)(r % SLOTS);
        /* 32-byte atoms in a window of 256, so that addresses repeat */
        const uint64_t addr = 0x40000 + ((r >> 20) % 256) * 32;
        if (present[slot]) {
            cs__addr_set_remove(&s, (uint16_t)slot, pool[slot].addr);
            present[slot] = false;
        } else {
            /* an address is in the set at most once (a second write coalesces) */
            bool taken = false;
            for (uint32_t i = 0; i < SLOTS; i++)
                taken |= present[i] && pool[i].addr == addr;
            if (!taken) {
                cr_assert_eq(cs__addr_set_find(&s, pool, addr), CS__NIL);
                pool[slot].addr = addr;
                cs__addr_set_insert(&s, (uint16_t)slot, addr);
                present[slot] = true;
            } else {
                cr_assert_neq(cs__addr_set_find(&s, pool, addr), CS__NIL);
            }
        }
        if (round % 97 == 0)
            check_against(&s, pool, present, round);
    }
    for (uint32_t i = 0; i < SLOTS; i++)
        if (present[i])
            cs__addr_set_remove(&s, (uint16_t)i, pool[i].addr);
    check_against(&s, pool, (bool[SLOTS]){false}, -1);
    /* Outside [lo, hi] a read is answered without a look-up. */
    cr_assert_not(cs__addr_set_has(&s, pool, 0x40000));
    cs__addr_set_free(&s);
}
