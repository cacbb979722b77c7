/* INI configuration files (SCALE-Sim .cfg, machine and DRAM presets), parsed
 * with inih and kept as (section, key, value, line) entries so every error
 * can name the file, the line and the field, and keys nobody read can be
 * reported instead of silently ignored. Keys compare case-insensitively, as
 * Python's configparser does; sections case-sensitively. */
#ifndef COLSCOPE_INI_H
#define COLSCOPE_INI_H

#include "colscope/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_ini_entry {
    char *section, *key, *value;
    int line;
    bool used;
} cs_ini_entry;

typedef struct cs_ini {
    char *path;
    cs_ini_entry *entries;
    size_t count, cap;
} cs_ini;

cs_status cs_ini_load(cs_ini *ini, const char *path, cs_error *err);
void cs_ini_free(cs_ini *ini);
/* The entry, marked used; NULL if absent. */
cs_ini_entry *cs_ini_find(cs_ini *ini, const char *section, const char *key);
bool cs_ini_has_section(const cs_ini *ini, const char *section);

/* Typed getters. When the key is absent: required -> error "path: [section]
 * key is missing", otherwise *out is left unchanged and CS_OK returned. A
 * bad value -> "path:LINE: [section] key: 'value' is not ...". */
cs_status cs_ini_get_u64(cs_ini *ini, const char *section, const char *key, bool required, uint64_t min,
                         uint64_t max, uint64_t *out, cs_error *err);
cs_status cs_ini_get_double(cs_ini *ini, const char *section, const char *key, bool required, double min,
                            double max, double *out, cs_error *err);
cs_status cs_ini_get_bool(cs_ini *ini, const char *section, const char *key, bool required, bool *out,
                          cs_error *err);
/* String value (points into the ini; valid until cs_ini_free). */
cs_status cs_ini_get_string(cs_ini *ini, const char *section, const char *key, bool required, const char **out,
                            cs_error *err);
/* One of choices (case-insensitive); *index receives its position. */
cs_status cs_ini_get_choice(cs_ini *ini, const char *section, const char *key, bool required,
                            const char *const *choices, size_t nchoices, size_t *index, cs_error *err);
/* First entry nobody asked for: "path:LINE: unknown key 'k' in [section]". */
cs_status cs_ini_check_unused(const cs_ini *ini, cs_error *err);

#ifdef __cplusplus
}
#endif
#endif
