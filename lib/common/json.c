#include "colscope/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *cs_json_number(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

cJSON *cs_json_add_number(cJSON *obj, const char *key, double v)
{
    cJSON *n = cs_json_number(v);
    if (n)
        cJSON_AddItemToObject(obj, key, n);
    return n;
}

cJSON *cs_json_uint(uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

cJSON *cs_json_add_uint(cJSON *obj, const char *key, uint64_t v)
{
    cJSON *n = cs_json_uint(v);
    if (n)
        cJSON_AddItemToObject(obj, key, n);
    return n;
}

cJSON *cs_json_uint_array(const uint64_t *v, size_t n)
{
    /* One raw item holding the whole array: an item per number (a malloc,
     * a link, a print each) was most of the profile's JSON output time. */
    char *text = malloc(21 * n + 3), *o = text;
    if (!text)
        return NULL;
    *o++ = '[';
    for (size_t i = 0; i < n; i++) {
        char digits[20];
        int len = 0;
        uint64_t x = v[i];
        do
            digits[len++] = (char)('0' + x % 10);
        while (x /= 10);
        if (i)
            *o++ = ',';
        while (len)
            *o++ = digits[--len];
    }
    *o++ = ']';
    *o = '\0';
    cJSON *a = cJSON_CreateRaw(text);
    free(text);
    return a;
}

cJSON *cs_json_number_array(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cs_json_number(v[i]));
    return a;
}
