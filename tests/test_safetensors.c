/* safetensors reader and manifest loader: valid files, named tensors, and
 * malformed inputs each with a one-line error naming the file. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;
static void setup(void) { dir = cs_test_mkdtemp(); }
static void teardown(void)
{
    cs_test_rmdir(dir);
    free(dir);
}
TestSuite(safetensors, .init = setup, .fini = teardown);
TestSuite(manifest, .init = setup, .fini = teardown);

static char *two_tensor_file(void)
{
    static uint16_t a[6] = {0x3c00, 0, 0, 0, 0, 0};
    static float b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    cs_test_st_tensor ts[] = {
        {"layer.a", "F16", {2, 3}, 2, a, sizeof a},
        {"layer.b", "F32", {2, 2, 2}, 3, b, sizeof b},
    };
    char *p = cs_test_path(dir, "x.safetensors");
    cs_test_write_safetensors(p, ts, 2);
    return p;
}

Test(safetensors, lists_all_and_named)
{
    char *p = two_tensor_file();
    cs_tensor_list l = {0};
    cs_error err;
    cr_assert_eq(cs_safetensors_list(p, NULL, 0, &l, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(l.count, 2);
    cr_assert_str_eq(l.items[0].name, "layer.a");
    cr_assert_eq(l.items[0].dtype, CS_DTYPE_F16);
    cr_assert_eq(l.items[1].ndim, 3);
    cr_assert_eq(l.items[1].data_bytes, 32);
    cr_assert_eq(l.items[1].data_offset, l.items[0].data_offset + 12);
    cs_tensor_list_free(&l);
    const char *names[] = {"layer.b"};
    cr_assert_eq(cs_safetensors_list(p, names, 1, &l, &err), CS_OK);
    cr_assert_eq(l.count, 1);
    cr_assert_str_eq(l.items[0].name, "layer.b");
    cs_tensor_list_free(&l);
    const char *missing[] = {"layer.zzz"};
    cr_assert_eq(cs_safetensors_list(p, missing, 1, &l, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "layer.zzz") && strstr(err.msg, "not found") && strstr(err.msg, "x.safetensors"));
    cs_tensor_list_free(&l);
    free(p);
}

Test(safetensors, input_spec_with_names)
{
    char *p = two_tensor_file();
    char spec[1024];
    snprintf(spec, sizeof spec, "%s:layer.b,layer.a", p);
    cs_tensor_list l = {0};
    cs_error err;
    cr_assert_eq(cs_tensor_list_add_input(&l, spec, NULL, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(l.count, 2);
    cr_assert_str_eq(l.items[0].name, "layer.b");
    cs_tensor_list_free(&l);
    free(p);
}

static void raw_st(const char *name, const char *json, size_t data_bytes, uint64_t announced_len)
{
    size_t jl = strlen(json);
    unsigned char *b = calloc(1, 8 + jl + data_bytes);
    uint64_t hl = announced_len ? announced_len : jl;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hl >> (8 * i));
    memcpy(b + 8, json, jl);
    char *p = cs_test_path(dir, name);
    cs_test_write(p, b, 8 + jl + data_bytes);
    free(p);
    free(b);
}

static void expect_bad(const char *name, const char *phrase)
{
    char *p = cs_test_path(dir, name);
    cs_tensor_list l = {0};
    cs_error err;
    cr_assert_eq(cs_safetensors_list(p, NULL, 0, &l, &err), CS_EINPUT, "%s should be rejected", name);
    cr_assert(strstr(err.msg, name), "'%s' must name the file", err.msg);
    cr_assert(strstr(err.msg, phrase), "'%s' should say '%s'", err.msg, phrase);
    cr_assert(strchr(err.msg, '\n') == NULL);
    cs_tensor_list_free(&l);
    free(p);
}

Test(safetensors, malformed_inputs)
{
    char *p = cs_test_path(dir, "empty.safetensors");
    cs_test_write(p, "", 0);
    free(p);
    expect_bad("empty.safetensors", "empty file");
    p = cs_test_path(dir, "short.safetensors");
    cs_test_write(p, "\x10\x00\x00", 3);
    free(p);
    expect_bad("short.safetensors", "truncated safetensors header length");
    raw_st("huge.safetensors", "{}", 0, (uint64_t)1 << 40);
    expect_bad("huge.safetensors", "implausibly large");
    raw_st("trunc.safetensors", "{\"a\":", 0, 400);
    expect_bad("trunc.safetensors", "truncated safetensors header");
    raw_st("json.safetensors", "{\"a\": {\"dtype\": \"F16\",", 0, 0);
    expect_bad("json.safetensors", "not a JSON object");
    raw_st("arr.safetensors", "[1,2]", 0, 0);
    expect_bad("arr.safetensors", "not a JSON object");
    raw_st("none.safetensors", "{\"__metadata__\":{}}", 0, 0);
    expect_bad("none.safetensors", "no tensors");
    raw_st("dtype.safetensors", "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16, 0);
    expect_bad("dtype.safetensors", "unsupported dtype 'I64'");
    raw_st("fields.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, 0);
    expect_bad("fields.safetensors", "data_offsets");
    raw_st("span.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0);
    expect_bad("span.safetensors", "needs 12 bytes but data_offsets span 8");
    raw_st("beyond.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0);
    expect_bad("beyond.safetensors", "beyond the data block");
    raw_st("neg.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, 0);
    expect_bad("neg.safetensors", "shape[0]");
    raw_st("frac.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8]}}", 8, 0);
    expect_bad("frac.safetensors", "malformed data_offsets");
    raw_st("rev.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, 0);
    expect_bad("rev.safetensors", "malformed data_offsets");
    raw_st("scalar.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, 0);
    expect_bad("scalar.safetensors", "scalar");
    raw_st("entry.safetensors", "{\"a\":5}", 0, 0);
    expect_bad("entry.safetensors", "not an object");
}

Test(safetensors, every_truncation_rejected_or_consistent)
{
    char *p = two_tensor_file();
    size_t n;
    char *bytes = cs_test_read(p, &n);
    char *q = cs_test_path(dir, "cut.safetensors");
    for (size_t len = 0; len < n; len++) {
        cs_test_write(q, bytes, len);
        cs_tensor_list l = {0};
        cs_error err;
        cr_assert_eq(cs_safetensors_list(q, NULL, 0, &l, &err), CS_EINPUT, "truncated to %zu", len);
        cs_tensor_list_free(&l);
    }
    free(q);
    free(bytes);
    free(p);
}

/* ---- manifest -------------------------------------------------------- */

static void write_text(const char *name, const char *text)
{
    char *p = cs_test_path(dir, name);
    cs_test_write(p, text, strlen(text));
    free(p);
}

Test(manifest, loads_entries_with_metadata)
{
    char *st = two_tensor_file();
    free(st);
    uint64_t shape[2] = {2, 2};
    float d[4] = {0};
    char *np = cs_test_path(dir, "c.npy");
    cs_test_write_npy(np, "<f4", false, shape, 2, d, sizeof d, 1);
    free(np);
    write_text("manifest.json",
               "{\"format\":\"colscope-activations\",\"version\":1,\"model\":\"toy\",\"entries\":["
               "{\"layer\":\"blk.0.ff\",\"block_kind\":\"geglu_ff\",\"step\":3,\"timestep\":981,\"cfg\":\"cond\","
               "\"shape\":[2,2,2],\"dtype\":\"F32\",\"file\":\"x.safetensors\",\"tensor\":\"layer.b\"},"
               "{\"layer\":\"blk.1.ff\",\"shape\":[2,2],\"dtype\":\"F32\",\"file\":\"c.npy\"}]}");
    cs_tensor_list l = {0};
    cs_error err;
    cr_assert_eq(cs_tensor_list_add_input(&l, dir, NULL, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(l.count, 2);
    cr_assert_str_eq(l.items[0].meta.layer, "blk.0.ff");
    cr_assert_str_eq(l.items[0].meta.model, "toy");
    cr_assert_str_eq(l.items[0].meta.cfg, "cond");
    cr_assert_eq(l.items[0].meta.step, 3);
    cr_assert_eq(l.items[0].meta.timestep, 981);
    cr_assert_str_eq(l.items[0].name, "layer.b");
    cr_assert_eq(l.items[1].meta.step, -1);
    cr_assert(strstr(l.items[1].file, "c.npy"));
    cs_tensor_list_free(&l);
}

static void expect_bad_manifest(const char *text, const char *phrase)
{
    write_text("m.json", text);
    char *p = cs_test_path(dir, "m.json");
    cs_tensor_list l = {0};
    cs_error err;
    cr_assert_eq(cs_manifest_load(p, NULL, &l, &err), CS_EINPUT, "should reject: %s", text);
    cr_assert(strstr(err.msg, "m.json") || strstr(err.msg, "x.safetensors"), "'%s' must name a file", err.msg);
    cr_assert(strstr(err.msg, phrase), "'%s' should say '%s'", err.msg, phrase);
    cs_tensor_list_free(&l);
    free(p);
}

Test(manifest, malformed)
{
    char *st = two_tensor_file();
    free(st);
    expect_bad_manifest("", "empty file");
    expect_bad_manifest("{\"format\":", "not a JSON object");
    expect_bad_manifest("{\"format\":\"other\",\"version\":1,\"entries\":[]}", "not a colscope manifest");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":2,\"entries\":[]}", "version");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":[]}", "no tensors");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":{}}", "must be an array");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":[{\"file\":\"x.safetensors\"}]}",
                        "entry 0 needs");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":[{\"file\":\"x.safetensors\","
                        "\"dtype\":\"F32\",\"shape\":[2,2,2]}]}",
                        "\"tensor\" is required");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":[{\"file\":\"x.safetensors\","
                        "\"tensor\":\"nope\",\"dtype\":\"F32\",\"shape\":[2,2,2]}]}",
                        "tensor 'nope' not found");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":[{\"file\":\"x.safetensors\","
                        "\"tensor\":\"layer.b\",\"dtype\":\"F32\",\"shape\":[2,4]}]}",
                        "do not match");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":[{\"file\":\"x.safetensors\","
                        "\"tensor\":\"layer.b\",\"dtype\":\"F16\",\"shape\":[2,2,2]}]}",
                        "do not match");
    expect_bad_manifest("{\"format\":\"colscope-activations\",\"version\":1,\"entries\":[{\"file\":\"gone.npy\","
                        "\"dtype\":\"F32\",\"shape\":[2]}]}",
                        "cannot open");
}

Test(manifest, directory_without_manifest_lists_files)
{
    char *st = two_tensor_file();
    free(st);
    uint64_t shape[1] = {4};
    float d[4] = {0};
    char *np = cs_test_path(dir, "a.npy");
    cs_test_write_npy(np, "<f4", false, shape, 1, d, sizeof d, 1);
    free(np);
    write_text("notes.txt", "ignored");
    cs_tensor_list l = {0};
    cs_error err;
    cr_assert_eq(cs_tensor_list_add_input(&l, dir, NULL, &err), CS_OK, "%s", err.msg);
    cr_assert_eq(l.count, 3); /* a.npy, then the two tensors of x.safetensors */
    cr_assert(strstr(l.items[0].file, "a.npy"));
    cs_tensor_list_free(&l);
    char *sub = cs_test_path(dir, "emptydir");
    mkdir(sub, 0755);
    cr_assert_eq(cs_tensor_list_add_input(&l, sub, NULL, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "emptydir") && strstr(err.msg, "holds no"));
    free(sub);
    cr_assert_eq(cs_tensor_list_add_input(&l, "/nonexistent/x.bin", NULL, &err), CS_EINPUT);
    write_text("odd.bin", "hello");
    char *odd = cs_test_path(dir, "odd.bin");
    cr_assert_eq(cs_tensor_list_add_input(&l, odd, NULL, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "unknown file type"));
    free(odd);
    cs_tensor_list_free(&l);
}
