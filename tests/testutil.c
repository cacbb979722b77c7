#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *cs_test_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = malloc(512);
    snprintf(tmpl, 512, "%s/cs_test_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    return tmpl;
}

void cs_test_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = cs_test_path(dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            cs_test_rmdir(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

char *cs_test_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void cs_test_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len)) {
        perror(path);
        abort();
    }
    fclose(f);
}

char *cs_test_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

bool cs_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int cs_test_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

void cs_test_write_npy(const char *path, const char *descr, bool fortran, const uint64_t *shape, int ndim,
                       const void *data, size_t nbytes, int major)
{
    char dict[1024];
    size_t off = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': (", descr,
                                  fortran ? "True" : "False");
    for (int i = 0; i < ndim; i++)
        off += (size_t)snprintf(dict + off, sizeof dict - off, "%llu,%s", (unsigned long long)shape[i],
                                i + 1 < ndim ? " " : "");
    off += (size_t)snprintf(dict + off, sizeof dict - off, "), }");
    size_t pre = major == 1 ? 10 : 12;
    size_t total = pre + off + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - pre;
    unsigned char *buf = malloc(padded + nbytes);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    if (major == 1) {
        buf[8] = (unsigned char)(hlen & 0xff);
        buf[9] = (unsigned char)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++)
            buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    }
    memcpy(buf + pre, dict, off);
    memset(buf + pre + off, ' ', hlen - off - 1);
    buf[padded - 1] = '\n';
    if (nbytes)
        memcpy(buf + padded, data, nbytes);
    cs_test_write(path, buf, padded + nbytes);
    free(buf);
}

void cs_test_write_safetensors(const char *path, const cs_test_st_tensor *t, size_t n)
{
    char hdr[8192];
    size_t off = (size_t)snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"format\":\"pt\"}");
    size_t data_off = 0;
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(hdr + off, sizeof hdr - off, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", t[i].name,
                                t[i].dtype);
        for (int d = 0; d < t[i].ndim; d++)
            off += (size_t)snprintf(hdr + off, sizeof hdr - off, "%s%llu", d ? "," : "",
                                    (unsigned long long)t[i].shape[d]);
        off += (size_t)snprintf(hdr + off, sizeof hdr - off, "],\"data_offsets\":[%zu,%zu]}", data_off,
                                data_off + t[i].nbytes);
        data_off += t[i].nbytes;
    }
    off += (size_t)snprintf(hdr + off, sizeof hdr - off, "}");
    while (off % 8)
        hdr[off++] = ' ';
    unsigned char *buf = malloc(8 + off + data_off);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)off >> (8 * i));
    memcpy(buf + 8, hdr, off);
    size_t p = 8 + off;
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + p, t[i].data, t[i].nbytes);
        p += t[i].nbytes;
    }
    cs_test_write(path, buf, p);
    free(buf);
}

uint64_t cs_test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double cs_test_uniform(uint64_t *state) { return (double)(cs_test_rand(state) >> 11) * 0x1.0p-53; }

cs_layer cs_test_gemm(uint64_t M, uint64_t N, uint64_t K)
{
    cs_topology t = {0};
    cs_error err;
    if (cs_topology_add_gemm(&t, "g", M, N, K, &err) != CS_OK)
        abort();
    cs_layer l = t.layers[0];
    l.name = "g";
    cs_topology_free(&t);
    return l;
}
