/* safetensors reader: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {...}}, then the data block the offsets index into. */
#include "colscope/tensor.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CS__ST_MAX_HEADER (100u << 20) /* the format's own limit */

/* A JSON number that is an exact non-negative integer below 2^53. */
static bool cs__json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return false;
    double d = j->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || floor(d) != d)
        return false;
    *out = (uint64_t)d;
    return true;
}

static cs_status cs__st_entry(const char *path, const cJSON *entry, uint64_t data_size, cs_tensor *t,
                              cs_error *err)
{
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': header entry is not an object", path, name);
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(jd) || !cJSON_IsArray(js) || !cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2)
        return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': needs string 'dtype', array 'shape' and 2-element 'data_offsets'",
                            path, name);
    const char *dt = jd->valuestring;
    if (strcmp(dt, "F16") == 0)
        t->dtype = CS_DTYPE_F16;
    else if (strcmp(dt, "BF16") == 0)
        t->dtype = CS_DTYPE_BF16;
    else if (strcmp(dt, "F32") == 0)
        t->dtype = CS_DTYPE_F32;
    else if (strcmp(dt, "F64") == 0)
        t->dtype = CS_DTYPE_F64;
    else
        return cs_error_set(err, CS_EINPUT,
                            "%s: tensor '%s': unsupported dtype '%s' (supported: F16, BF16, F32, F64)", path, name, dt);
    int nd = cJSON_GetArraySize(js);
    if (nd > CS_TENSOR_MAX_DIMS)
        return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': too many dimensions (%d)", path, name, nd);
    if (nd == 0)
        return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': scalar (shape []) has no feature axis", path, name);
    t->ndim = nd;
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        if (!cs__json_uint(cJSON_GetArrayItem(js, i), &t->shape[i]))
            return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name, i);
        if (t->shape[i] && numel > UINT64_MAX / 16 / t->shape[i])
            return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': shape is too large", path, name);
        numel *= t->shape[i];
    }
    uint64_t b, e;
    if (!cs__json_uint(cJSON_GetArrayItem(jo, 0), &b) || !cs__json_uint(cJSON_GetArrayItem(jo, 1), &e) || e < b)
        return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': malformed data_offsets", path, name);
    if (e > data_size)
        return cs_error_set(err, CS_EINPUT,
                            "%s: tensor '%s': data_offsets end %llu beyond the data block (%llu bytes; truncated file?)",
                            path, name, (unsigned long long)e, (unsigned long long)data_size);
    t->data_bytes = numel * cs_dtype_size(t->dtype);
    if (e - b != t->data_bytes) {
        char shp[256];
        cs_tensor_shape_str(t, shp, sizeof shp);
        return cs_error_set(err, CS_EINPUT, "%s: tensor '%s': shape %s %s needs %llu bytes but data_offsets span %llu",
                            path, name, shp, dt, (unsigned long long)t->data_bytes, (unsigned long long)(e - b));
    }
    t->data_offset = b; /* relative for now; made absolute by the caller */
    return CS_OK;
}

cs_status cs_safetensors_list(const char *path, const char *const *names, size_t nnames, cs_tensor_list *out,
                              cs_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cs_error_set(err, CS_EINPUT, "%s: not a regular file", path);
    }
    uint64_t fsize = (uint64_t)st.st_size;
    cs_status rc = CS_OK;
    char *hdr = NULL;
    cJSON *root = NULL;
    unsigned char lenbuf[8];
    if (fsize == 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: empty file", path);
        goto done;
    }
    if (fsize < 8 || pread(fd, lenbuf, 8, 0) != 8) {
        rc = cs_error_set(err, CS_EINPUT, "%s: truncated safetensors header length", path);
        goto done;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | lenbuf[i];
    if (hlen > CS__ST_MAX_HEADER) {
        rc = cs_error_set(err, CS_EINPUT, "%s: safetensors header length %llu is implausibly large (not a safetensors file?)",
                          path, (unsigned long long)hlen);
        goto done;
    }
    if (hlen < 2 || 8 + hlen > fsize) {
        rc = cs_error_set(err, CS_EINPUT, "%s: truncated safetensors header (%llu bytes announced, %llu present)", path,
                          (unsigned long long)hlen, (unsigned long long)(fsize - 8));
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        rc = cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
        goto done;
    }
    if (pread(fd, hdr, hlen, 8) != (ssize_t)hlen) {
        rc = cs_error_set(err, CS_ERUNTIME, "%s: read error", path);
        goto done;
    }
    hdr[hlen] = '\0';
    root = cJSON_ParseWithLength(hdr, hlen);
    if (!root || !cJSON_IsObject(root)) {
        rc = cs_error_set(err, CS_EINPUT, "%s: malformed safetensors header (not a JSON object)", path);
        goto done;
    }
    uint64_t data_start = 8 + hlen, data_size = fsize - data_start;

    if (nnames == 0) {
        size_t found = 0;
        for (cJSON *e = root->child; e; e = e->next) {
            if (strcmp(e->string, "__metadata__") == 0)
                continue;
            cs_tensor t;
            memset(&t, 0, sizeof t);
            if ((rc = cs__st_entry(path, e, data_size, &t, err)) != CS_OK)
                goto done;
            t.data_offset += data_start;
            t.file = (char *)path;
            t.name = e->string;
            t.meta.step = -1;
            t.meta.timestep = NAN;
            if ((rc = cs_tensor_list_push(out, &t, err)) != CS_OK)
                goto done;
            found++;
        }
        if (found == 0)
            rc = cs_error_set(err, CS_EINPUT, "%s: file holds no tensors", path);
    } else {
        for (size_t i = 0; i < nnames; i++) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, names[i]);
            if (!e || strcmp(names[i], "__metadata__") == 0) {
                rc = cs_error_set(err, CS_EINPUT, "%s: tensor '%s' not found (the file holds %d entries)", path,
                                  names[i], cJSON_GetArraySize(root));
                goto done;
            }
            cs_tensor t;
            memset(&t, 0, sizeof t);
            if ((rc = cs__st_entry(path, e, data_size, &t, err)) != CS_OK)
                goto done;
            t.data_offset += data_start;
            t.file = (char *)path;
            t.name = e->string;
            t.meta.step = -1;
            t.meta.timestep = NAN;
            if ((rc = cs_tensor_list_push(out, &t, err)) != CS_OK)
                goto done;
        }
    }
done:
    cJSON_Delete(root);
    free(hdr);
    close(fd);
    return rc;
}
