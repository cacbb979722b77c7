/* JSON output helpers over cJSON. cJSON 1.7.15 prints a double with 15
 * significant digits whenever that reads back within DBL_EPSILON, which can
 * change the last bit; colscope's results must read back exactly, so numbers
 * go through cs_json_number, which prints the shortest of %.15g/%.16g/%.17g
 * that round-trips. Non-finite values become null. */
#ifndef COLSCOPE_JSON_H
#define COLSCOPE_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

cJSON *cs_json_number(double v);
cJSON *cs_json_add_number(cJSON *obj, const char *key, double v);
/* A count, printed as an integer (exact, and without the round trip that
 * cs_json_number makes for a double). */
cJSON *cs_json_uint(uint64_t v);
cJSON *cs_json_add_uint(cJSON *obj, const char *key, uint64_t v);
/* Array of n counts, printed as integers. */
cJSON *cs_json_uint_array(const uint64_t *v, size_t n);
/* Array of n doubles, each printed exactly. */
cJSON *cs_json_number_array(const double *v, size_t n);

#ifdef __cplusplus
}
#endif
#endif
