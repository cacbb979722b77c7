/* NumPy .npy header reader (format versions 1.0, 2.0 and 3.0).
 *
 * The header is a Python dict literal such as
 *   {'descr': '<f2', 'fortran_order': False, 'shape': (2, 4096, 1280), }
 * parsed here by a small strict parser: anything numpy would not write is an
 * error rather than a guess. */
#include "colscope/tensor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CS__NPY_MAX_HEADER (1u << 20)

typedef struct cs__npy_parser {
    const char *p, *end;
} cs__npy_parser;

static void cs__npy_skip_ws(cs__npy_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool cs__npy_expect(cs__npy_parser *ps, char c)
{
    cs__npy_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes (numpy never writes any). */
static bool cs__npy_string(cs__npy_parser *ps, char *buf, size_t len)
{
    cs__npy_skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
        return false;
    char q = *ps->p++;
    size_t n = 0;
    while (ps->p < ps->end && *ps->p != q) {
        if (*ps->p == '\\' || n + 1 >= len)
            return false;
        buf[n++] = *ps->p++;
    }
    if (ps->p >= ps->end)
        return false;
    ps->p++;
    buf[n] = '\0';
    return true;
}

static bool cs__npy_word(cs__npy_parser *ps, const char *w)
{
    cs__npy_skip_ws(ps);
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static bool cs__npy_shape(cs__npy_parser *ps, cs_tensor *t, const char **why)
{
    *why = "shape is not a tuple of non-negative integers";
    if (!cs__npy_expect(ps, '('))
        return false;
    t->ndim = 0;
    for (;;) {
        cs__npy_skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            return true;
        }
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return false;
        uint64_t v = 0;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            if (v > (UINT64_MAX - 9) / 10)
                return false;
            v = v * 10 + (uint64_t)(*ps->p++ - '0');
        }
        /* numpy 1.x writes 3L on some Python 2 files */
        if (ps->p < ps->end && *ps->p == 'L')
            ps->p++;
        if (t->ndim >= CS_TENSOR_MAX_DIMS) {
            *why = "too many dimensions (at most 16)";
            return false;
        }
        t->shape[t->ndim++] = v;
        cs__npy_skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            return true;
        }
        return false;
    }
}

static cs_status cs__npy_descr(const char *path, const char *descr, const cs_open_options *opts, cs_tensor *t,
                               cs_error *err)
{
    if (strcmp(descr, "<f2") == 0)
        t->dtype = CS_DTYPE_F16;
    else if (strcmp(descr, "<f4") == 0)
        t->dtype = CS_DTYPE_F32;
    else if (strcmp(descr, "<f8") == 0)
        t->dtype = CS_DTYPE_F64;
    else if (strcmp(descr, "<u2") == 0) {
        if (!opts || !opts->u2_as_bf16)
            return cs_error_set(err, CS_EINPUT,
                                "%s: dtype '<u2' is an integer type; pass --u2-bf16 if it holds bfloat16 bits", path);
        t->dtype = CS_DTYPE_BF16;
    } else if (descr[0] == '>' && descr[1])
        return cs_error_set(err, CS_EINPUT, "%s: big-endian dtype '%s' is not supported", path, descr);
    else
        return cs_error_set(err, CS_EINPUT,
                            "%s: unsupported dtype '%s' (supported: <f2, <f4, <f8, and <u2 with --u2-bf16)", path,
                            descr);
    return CS_OK;
}

cs_status cs_npy_read_header(const char *path, const cs_open_options *opts, cs_tensor *out, cs_error *err)
{
    memset(out, 0, sizeof *out);
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
    unsigned char pre[12];
    if (fsize == 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: empty file", path);
        goto done;
    }
    ssize_t got = pread(fd, pre, sizeof pre, 0);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: not a .npy file (bad magic or truncated preamble)", path);
        goto done;
    }
    unsigned major = pre[6], minor = pre[7];
    uint64_t hlen, hoff;
    if (major == 1) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (got < 12) {
            rc = cs_error_set(err, CS_EINPUT, "%s: truncated .npy preamble", path);
            goto done;
        }
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
        hoff = 12;
    } else {
        rc = cs_error_set(err, CS_EINPUT, "%s: unsupported .npy format version %u.%u", path, major, minor);
        goto done;
    }
    if (minor != 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: unsupported .npy format version %u.%u", path, major, minor);
        goto done;
    }
    if (hlen > CS__NPY_MAX_HEADER) {
        rc = cs_error_set(err, CS_EINPUT, "%s: .npy header length %llu is implausibly large", path,
                          (unsigned long long)hlen);
        goto done;
    }
    if (hoff + hlen > fsize) {
        rc = cs_error_set(err, CS_EINPUT, "%s: truncated .npy header (%llu bytes announced, %llu present)", path,
                          (unsigned long long)hlen, (unsigned long long)(fsize - hoff));
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        rc = cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
        goto done;
    }
    if (pread(fd, hdr, hlen, (off_t)hoff) != (ssize_t)hlen) {
        rc = cs_error_set(err, CS_ERUNTIME, "%s: read error", path);
        goto done;
    }
    hdr[hlen] = '\0';
    if (memchr(hdr, '\0', hlen)) {
        rc = cs_error_set(err, CS_EINPUT, "%s: malformed .npy header (NUL byte)", path);
        goto done;
    }

    cs__npy_parser ps = {hdr, hdr + hlen};
    bool have_descr = false, have_order = false, have_shape = false;
    char descr[64];
    const char *why = "not a dict literal";
    if (!cs__npy_expect(&ps, '{'))
        goto malformed;
    for (;;) {
        cs__npy_skip_ws(&ps);
        if (ps.p < ps.end && *ps.p == '}') {
            ps.p++;
            break;
        }
        char key[64];
        why = "expected a quoted key";
        if (!cs__npy_string(&ps, key, sizeof key))
            goto malformed;
        why = "expected ':' after a key";
        if (!cs__npy_expect(&ps, ':'))
            goto malformed;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            why = "'descr' is not a simple dtype string (structured dtypes are not supported)";
            if (!cs__npy_string(&ps, descr, sizeof descr))
                goto malformed;
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (cs__npy_word(&ps, "True"))
                out->fortran_order = true;
            else if (cs__npy_word(&ps, "False"))
                out->fortran_order = false;
            else {
                why = "'fortran_order' is not True or False";
                goto malformed;
            }
            have_order = true;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (!cs__npy_shape(&ps, out, &why))
                goto malformed;
            have_shape = true;
        } else {
            rc = cs_error_set(err, CS_EINPUT, "%s: malformed .npy header: unexpected or repeated key '%s'", path, key);
            goto done;
        }
        cs__npy_skip_ws(&ps);
        if (ps.p < ps.end && *ps.p == ',')
            ps.p++;
        else if (!(ps.p < ps.end && *ps.p == '}')) {
            why = "expected ',' or '}'";
            goto malformed;
        }
    }
    cs__npy_skip_ws(&ps);
    if (ps.p != ps.end) {
        why = "trailing characters after the dict";
        goto malformed;
    }
    if (!have_descr || !have_order || !have_shape) {
        why = "missing 'descr', 'fortran_order' or 'shape'";
        goto malformed;
    }
    if ((rc = cs__npy_descr(path, descr, opts, out, err)) != CS_OK)
        goto done;
    if (out->ndim == 0) {
        rc = cs_error_set(err, CS_EINPUT, "%s: scalar array (shape ()) has no feature axis", path);
        goto done;
    }
    uint64_t numel = 1;
    for (int i = 0; i < out->ndim; i++) {
        if (out->shape[i] && numel > UINT64_MAX / 16 / out->shape[i]) {
            rc = cs_error_set(err, CS_EINPUT, "%s: shape is too large", path);
            goto done;
        }
        numel *= out->shape[i];
    }
    out->data_offset = hoff + hlen;
    out->data_bytes = numel * cs_dtype_size(out->dtype);
    uint64_t present = fsize - out->data_offset;
    if (present < out->data_bytes) {
        char shp[256];
        cs_tensor_shape_str(out, shp, sizeof shp);
        rc = cs_error_set(err, CS_EINPUT, "%s: truncated data: shape %s needs %llu bytes, file holds %llu", path, shp,
                          (unsigned long long)out->data_bytes, (unsigned long long)present);
        goto done;
    }
    if (present > out->data_bytes) {
        char shp[256];
        cs_tensor_shape_str(out, shp, sizeof shp);
        rc = cs_error_set(err, CS_EINPUT, "%s: size mismatch: shape %s needs %llu bytes, file holds %llu", path, shp,
                          (unsigned long long)out->data_bytes, (unsigned long long)present);
        goto done;
    }
    out->file = strdup(path);
    out->name = strdup("");
    out->meta.step = -1;
    out->meta.timestep = __builtin_nan("");
    if (!out->file || !out->name)
        rc = cs_error_set(err, CS_ERUNTIME, "%s: out of memory", path);
    goto done;

malformed:
    rc = cs_error_set(err, CS_EINPUT, "%s: malformed .npy header: %s", path, why);
done:
    free(hdr);
    close(fd);
    if (rc != CS_OK)
        cs_tensor_free(out);
    return rc;
}
