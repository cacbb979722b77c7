/* colscope activation manifest (docs/FORMATS.md): a JSON list of captured
 * tensors with where they came from (model, layer, step, CFG half) and where
 * they are stored (file, tensor name). Every entry is checked against the
 * file it names, so a stale manifest is an error, not a silent mismatch. */
#include "colscope/tensor.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *cs__read_small_file(const char *path, size_t max, size_t *len, cs_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
        return NULL;
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        cs_error_set(err, CS_ERUNTIME, "%s: read error", path);
        return NULL;
    }
    if (n > max) {
        free(buf);
        cs_error_set(err, CS_EINPUT, "%s: manifest larger than %zu bytes", path, max);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *cs__join_dir(const char *manifest_path, const char *file)
{
    if (file[0] == '/')
        return strdup(file);
    const char *slash = strrchr(manifest_path, '/');
    size_t dlen = slash ? (size_t)(slash - manifest_path + 1) : 0;
    char *p = malloc(dlen + strlen(file) + 1);
    if (!p)
        return NULL;
    memcpy(p, manifest_path, dlen);
    strcpy(p + dlen, file);
    return p;
}

static const char *cs__opt_string(const cJSON *obj, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* The tensors of the most recently opened safetensors shard, so a manifest
 * that names many tensors of one shard parses its header once. */
typedef struct cs__shard_cache {
    char *path;
    cs_tensor_list tensors;
} cs__shard_cache;

static void cs__shard_cache_free(cs__shard_cache *c)
{
    free(c->path);
    cs_tensor_list_free(&c->tensors);
    memset(c, 0, sizeof *c);
}

/* Prefixes an error about a data file with the manifest entry that named it. */
static cs_status cs__entry_error(cs_error *err, cs_status rc, const char *manifest, int idx)
{
    if (err) {
        char inner[sizeof err->msg];
        memcpy(inner, err->msg, sizeof inner);
        cs_error_set(err, rc, "%s: entry %d: %s", manifest, idx, inner);
    }
    return rc;
}

static bool cs__ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

cs_status cs_manifest_load(const char *path, const cs_open_options *opts, cs_tensor_list *out, cs_error *err)
{
    size_t len;
    char *text = cs__read_small_file(path, (size_t)512 << 20, &len, err);
    if (!text)
        return err ? err->status : CS_EINPUT;
    cs_status rc = CS_OK;
    cs__shard_cache cache;
    memset(&cache, 0, sizeof cache);
    char *file = NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (len == 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: empty file", path);
        goto done;
    }
    if (!root || !cJSON_IsObject(root)) {
        rc = cs_error_set(err, CS_EINPUT, "%s: not a JSON object (malformed manifest)", path);
        goto done;
    }
    const char *format = cs__opt_string(root, "format");
    if (!format || strcmp(format, "colscope-activations") != 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: not a colscope manifest (\"format\" must be \"colscope-activations\")", path);
        goto done;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1) {
        rc = cs_error_set(err, CS_EINPUT, "%s: unsupported manifest version (this colscope reads version 1)", path);
        goto done;
    }
    const char *model = cs__opt_string(root, "model");
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
    if (!cJSON_IsArray(entries)) {
        rc = cs_error_set(err, CS_EINPUT, "%s: \"entries\" must be an array", path);
        goto done;
    }
    if (cJSON_GetArraySize(entries) == 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: manifest lists no tensors", path);
        goto done;
    }
    int idx = 0;
    for (const cJSON *e = entries->child; e; e = e->next, idx++) {
        if (!cJSON_IsObject(e)) {
            rc = cs_error_set(err, CS_EINPUT, "%s: entry %d is not an object", path, idx);
            goto done;
        }
        const char *rel = cs__opt_string(e, "file");
        const char *tname = cs__opt_string(e, "tensor");
        const char *dtname = cs__opt_string(e, "dtype");
        const cJSON *jshape = cJSON_GetObjectItemCaseSensitive(e, "shape");
        if (!rel || !*rel || !dtname || !cJSON_IsArray(jshape)) {
            rc = cs_error_set(err, CS_EINPUT, "%s: entry %d needs \"file\", \"dtype\" and \"shape\"", path, idx);
            goto done;
        }
        free(file);
        file = cs__join_dir(path, rel);
        if (!file) {
            rc = cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
            goto done;
        }
        cs_tensor t;
        bool owned = false;
        if (cs__ends_with(file, ".npy")) {
            if ((rc = cs_npy_read_header(file, opts, &t, err)) != CS_OK) {
                cs__entry_error(err, rc, path, idx);
                goto done;
            }
            owned = true;
        } else {
            if (!tname || !*tname) {
                rc = cs_error_set(err, CS_EINPUT, "%s: entry %d: \"tensor\" is required for %s", path, idx, rel);
                goto done;
            }
            if (!cache.path || strcmp(cache.path, file) != 0) {
                cs__shard_cache_free(&cache);
                cache.path = strdup(file);
                if (!cache.path) {
                    rc = cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
                    goto done;
                }
                if ((rc = cs_safetensors_list(file, NULL, 0, &cache.tensors, err)) != CS_OK) {
                    cs__entry_error(err, rc, path, idx);
                    goto done;
                }
            }
            const cs_tensor *found = NULL;
            for (size_t i = 0; i < cache.tensors.count; i++)
                if (strcmp(cache.tensors.items[i].name, tname) == 0) {
                    found = &cache.tensors.items[i];
                    break;
                }
            if (!found) {
                rc = cs_error_set(err, CS_EINPUT, "%s: entry %d: tensor '%s' not found in %s", path, idx, tname, file);
                goto done;
            }
            t = *found;
        }
        /* The manifest must agree with the file. */
        cs_dtype dt;
        bool ok = cs_dtype_from_name(dtname, &dt) && dt == t.dtype && cJSON_GetArraySize(jshape) == t.ndim;
        for (int i = 0; ok && i < t.ndim; i++) {
            const cJSON *d = cJSON_GetArrayItem(jshape, i);
            ok = cJSON_IsNumber(d) && d->valuedouble == (double)t.shape[i];
        }
        if (!ok) {
            char shp[256];
            cs_tensor_shape_str(&t, shp, sizeof shp);
            rc = cs_error_set(err, CS_EINPUT, "%s: entry %d: dtype/shape in the manifest do not match %s (%s %s)", path,
                              idx, rel, cs_dtype_name(t.dtype), shp);
            if (owned)
                cs_tensor_free(&t);
            goto done;
        }
        cs_tensor_meta meta = t.meta;
        t.meta.model = (char *)model;
        t.meta.layer = (char *)cs__opt_string(e, "layer");
        t.meta.block_kind = (char *)cs__opt_string(e, "block_kind");
        t.meta.cfg = (char *)cs__opt_string(e, "cfg");
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(e, "step");
        t.meta.step = cJSON_IsNumber(step) ? (int64_t)step->valuedouble : -1;
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(e, "timestep");
        t.meta.timestep = cJSON_IsNumber(ts) ? ts->valuedouble : NAN;
        rc = cs_tensor_list_push(out, &t, err);
        t.meta = meta;
        if (owned)
            cs_tensor_free(&t);
        if (rc != CS_OK)
            goto done;
    }
done:
    free(file);
    cs__shard_cache_free(&cache);
    cJSON_Delete(root);
    free(text);
    return rc;
}
