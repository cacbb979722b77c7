/* Tensor lists, input dispatch and the rows x features matrix view. */
#include "colscope/tensor.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

uint64_t cs_tensor_numel(const cs_tensor *t)
{
    uint64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

void cs_tensor_shape_str(const cs_tensor *t, char *buf, size_t len)
{
    size_t off = 0;
    off += (size_t)snprintf(buf + off, len - off, "[");
    for (int i = 0; i < t->ndim && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%llu", i ? ", " : "", (unsigned long long)t->shape[i]);
    if (off < len)
        snprintf(buf + off, len - off, "]");
}

static char *cs__dup(const char *s) { return s ? strdup(s) : NULL; }

void cs_tensor_free(cs_tensor *t)
{
    free(t->file);
    free(t->name);
    free(t->meta.model);
    free(t->meta.layer);
    free(t->meta.block_kind);
    free(t->meta.cfg);
    memset(t, 0, sizeof *t);
}

cs_status cs_tensor_list_push(cs_tensor_list *list, const cs_tensor *t, cs_error *err)
{
    cs_tensor *items = cs_grow(list->items, &list->cap, list->count, sizeof *items, 16);
    if (!items)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    list->items = items;
    cs_tensor *d = &list->items[list->count];
    *d = *t;
    d->file = cs__dup(t->file);
    d->name = cs__dup(t->name ? t->name : "");
    d->meta.model = cs__dup(t->meta.model);
    d->meta.layer = cs__dup(t->meta.layer);
    d->meta.block_kind = cs__dup(t->meta.block_kind);
    d->meta.cfg = cs__dup(t->meta.cfg);
    if (!d->file || !d->name || (t->meta.model && !d->meta.model) || (t->meta.layer && !d->meta.layer) ||
        (t->meta.block_kind && !d->meta.block_kind) || (t->meta.cfg && !d->meta.cfg)) {
        cs_tensor_free(d);
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    }
    list->count++;
    return CS_OK;
}

void cs_tensor_list_free(cs_tensor_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        cs_tensor_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

static bool cs__has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static cs_status cs__add_npy(cs_tensor_list *list, const char *path, const cs_open_options *opts, cs_error *err)
{
    cs_tensor t;
    cs_status rc = cs_npy_read_header(path, opts, &t, err);
    if (rc != CS_OK)
        return rc;
    rc = cs_tensor_list_push(list, &t, err);
    cs_tensor_free(&t);
    return rc;
}

static cs_status cs__add_file(cs_tensor_list *list, const char *path, const cs_open_options *opts, cs_error *err)
{
    if (cs__has_suffix(path, ".npy"))
        return cs__add_npy(list, path, opts, err);
    if (cs__has_suffix(path, ".safetensors"))
        return cs_safetensors_list(path, NULL, 0, list, err);
    if (cs__has_suffix(path, ".json"))
        return cs_manifest_load(path, opts, list, err);
    /* Unknown extension: recognise .npy by its magic. */
    FILE *f = fopen(path, "rb");
    if (!f)
        return cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    char magic[6] = {0};
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (n == 6 && memcmp(magic, "\x93NUMPY", 6) == 0)
        return cs__add_npy(list, path, opts, err);
    return cs_error_set(err, CS_EINPUT, "%s: unknown file type (expected .npy, .safetensors or a manifest .json)", path);
}

static int cs__tensor_file_filter(const struct dirent *d)
{
    return d->d_name[0] != '.' && (cs__has_suffix(d->d_name, ".npy") || cs__has_suffix(d->d_name, ".safetensors"));
}

static cs_status cs__add_dir(cs_tensor_list *list, const char *dir, const cs_open_options *opts, cs_error *err)
{
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--; /* "examples/" names files "examples/x.npy", not "examples//x.npy" */
    char *manifest = malloc(dlen + 16);
    if (!manifest)
        return cs_error_set(err, CS_ERUNTIME, "out of memory");
    snprintf(manifest, dlen + 16, "%.*s/manifest.json", (int)dlen, dir);
    struct stat st;
    if (stat(manifest, &st) == 0) {
        cs_status rc = cs_manifest_load(manifest, opts, list, err);
        free(manifest);
        return rc;
    }
    free(manifest);
    struct dirent **names;
    int n = scandir(dir, &names, cs__tensor_file_filter, alphasort);
    if (n < 0)
        return cs_error_set(err, CS_EINPUT, "%s: cannot read directory: %s", dir, strerror(errno));
    cs_status rc = CS_OK;
    if (n == 0)
        rc = cs_error_set(err, CS_EINPUT, "%s: directory holds no manifest.json, .npy or .safetensors files", dir);
    for (int i = 0; i < n; i++) {
        if (rc == CS_OK) {
            size_t len = dlen + strlen(names[i]->d_name) + 2;
            char *p = malloc(len);
            if (!p)
                rc = cs_error_set(err, CS_ERUNTIME, "out of memory");
            else {
                snprintf(p, len, "%.*s/%s", (int)dlen, dir, names[i]->d_name);
                rc = cs__add_file(list, p, opts, err);
                free(p);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

cs_status cs_tensor_list_add_input(cs_tensor_list *list, const char *spec, const cs_open_options *opts,
                                   cs_error *err)
{
    struct stat st;
    if (stat(spec, &st) == 0)
        return S_ISDIR(st.st_mode) ? cs__add_dir(list, spec, opts, err) : cs__add_file(list, spec, opts, err);
    /* FILE.safetensors:NAME[,NAME...] */
    const char *colon = strrchr(spec, ':');
    if (colon && colon > spec && colon[1]) {
        char *path = strndup(spec, (size_t)(colon - spec));
        char *names = strdup(colon + 1);
        if (!path || !names) {
            free(path);
            free(names);
            return cs_error_set(err, CS_ERUNTIME, "out of memory");
        }
        cs_status rc;
        if (stat(path, &st) != 0)
            rc = cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", path, strerror(errno));
        else if (!cs__has_suffix(path, ".safetensors"))
            rc = cs_error_set(err, CS_EINPUT, "%s: tensor names (':%s') can only be given for .safetensors files", path,
                              colon + 1);
        else {
            const char *v[256];
            size_t nv = 0;
            char *save = NULL;
            for (char *tok = strtok_r(names, ",", &save); tok && nv < 256; tok = strtok_r(NULL, ",", &save))
                v[nv++] = tok;
            rc = nv ? cs_safetensors_list(path, v, nv, list, err)
                    : cs_error_set(err, CS_EINPUT, "%s: empty tensor name list", path);
        }
        free(path);
        free(names);
        return rc;
    }
    return cs_error_set(err, CS_EINPUT, "%s: cannot open: %s", spec, strerror(ENOENT));
}

/* ---- rows x features view ---------------------------------------------- */

cs_status cs_matrix_view_open(cs_matrix_view *v, const cs_tensor *t, int feature_axis, cs_error *err)
{
    memset(v, 0, sizeof *v);
    v->map.fd = -1;
    int fa = feature_axis < 0 ? t->ndim + feature_axis : feature_axis;
    if (fa < 0 || fa >= t->ndim)
        return cs_error_set(err, CS_EINPUT, "%s%s%s: feature axis %d out of range for a %d-dimensional tensor", t->file,
                            t->name[0] ? ":" : "", t->name, feature_axis, t->ndim);
    uint64_t numel = cs_tensor_numel(t);
    if (numel == 0)
        return cs_error_set(err, CS_EINPUT, "%s%s%s: tensor has no elements", t->file, t->name[0] ? ":" : "", t->name);
    cs_status rc = cs_mapped_file_open(&v->map, t->file, err);
    if (rc != CS_OK)
        return rc;
    if (t->data_offset + t->data_bytes > v->map.size) {
        cs_mapped_file_close(&v->map);
        return cs_error_set(err, CS_EINPUT, "%s: file shrank below its header's data size", t->file);
    }
    v->tensor = t;
    v->data = v->map.base + t->data_offset;
    v->elem_size = cs_dtype_size(t->dtype);
    v->feature_axis = fa;
    v->features = t->shape[fa];
    v->rows = numel / v->features;

    /* Element strides of every axis in the physical layout. */
    uint64_t stride[CS_TENSOR_MAX_DIMS] = {0};
    uint64_t s = 1;
    if (t->fortran_order)
        for (int i = 0; i < t->ndim; i++) {
            stride[i] = s;
            s *= t->shape[i];
        }
    else
        for (int i = t->ndim - 1; i >= 0; i--) {
            stride[i] = s;
            s *= t->shape[i];
        }
    v->feature_stride = stride[fa];
    v->nrow_axes = 0;
    for (int i = 0; i < t->ndim; i++)
        if (i != fa) {
            v->row_axis_size[v->nrow_axes] = t->shape[i];
            v->row_axis_stride[v->nrow_axes] = stride[i];
            v->nrow_axes++;
        }
    /* Contiguous iff features are adjacent and each row axis of size > 1
     * steps over exactly the rows after it. */
    bool contiguous = v->feature_stride == 1 || v->features == 1;
    uint64_t expect = v->features;
    for (int i = v->nrow_axes - 1; i >= 0 && contiguous; i--) {
        if (v->row_axis_size[i] > 1 && v->row_axis_stride[i] != expect)
            contiguous = false;
        expect *= v->row_axis_size[i];
    }
    v->contiguous = contiguous;
    return CS_OK;
}

void cs_matrix_view_close(cs_matrix_view *v)
{
    cs_mapped_file_close(&v->map);
    memset(v, 0, sizeof *v);
    v->map.fd = -1;
}

void cs_matrix_view_gather(const cs_matrix_view *v, uint64_t r0, uint64_t n, uint64_t k0, uint64_t k1, void *dst,
                           uint64_t dst_ld)
{
    size_t es = v->elem_size;
    unsigned char *out = dst;
    if (v->contiguous) {
        for (uint64_t r = 0; r < n; r++)
            memcpy(out + r * dst_ld * es, v->data + ((r0 + r) * v->features + k0) * es, (k1 - k0) * es);
        return;
    }
    /* Odometer over the row axes, starting at row r0. */
    uint64_t idx[CS_TENSOR_MAX_DIMS];
    uint64_t rem = r0;
    for (int i = v->nrow_axes - 1; i >= 0; i--) {
        idx[i] = rem % v->row_axis_size[i];
        rem /= v->row_axis_size[i];
    }
    uint64_t off = 0;
    for (int i = 0; i < v->nrow_axes; i++)
        off += idx[i] * v->row_axis_stride[i];
    for (uint64_t r = 0; r < n; r++) {
        unsigned char *row = out + r * dst_ld * es;
        const unsigned char *src = v->data + (off + k0 * v->feature_stride) * es;
        switch (es) {
        case 2:
            for (uint64_t k = 0; k < k1 - k0; k++)
                memcpy(row + k * 2, src + k * v->feature_stride * 2, 2);
            break;
        case 4:
            for (uint64_t k = 0; k < k1 - k0; k++)
                memcpy(row + k * 4, src + k * v->feature_stride * 4, 4);
            break;
        default:
            for (uint64_t k = 0; k < k1 - k0; k++)
                memcpy(row + k * es, src + k * v->feature_stride * es, es);
        }
        for (int i = v->nrow_axes - 1; i >= 0; i--) {
            off += v->row_axis_stride[i];
            if (++idx[i] < v->row_axis_size[i])
                break;
            off -= idx[i] * v->row_axis_stride[i];
            idx[i] = 0;
        }
    }
}
