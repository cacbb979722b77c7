/* Growing arrays: capacity doubles, so appending n elements costs O(n). */
#include "colscope/common.h"

#include <stdint.h>
#include <stdlib.h>

void *cs_grow(void *items, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    size_t c = *cap ? *cap : first ? first : 1;
    while (c <= n) {
        if (c > SIZE_MAX / 2 / size)
            return NULL;
        c *= 2;
    }
    void *p = realloc(items, c * size);
    if (p)
        *cap = c;
    return p;
}
