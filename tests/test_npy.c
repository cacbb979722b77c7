/* .npy header reader: valid files of every supported kind, and every way a
 * header can be malformed, each with a one-line error naming the file. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static void setup(void) { dir = cs_test_mkdtemp(); }
static void teardown(void)
{
    cs_test_rmdir(dir);
    free(dir);
}
TestSuite(npy, .init = setup, .fini = teardown);

static cs_status open_npy(const char *name, bool u2bf16, cs_tensor *t, cs_error *err)
{
    char *p = cs_test_path(dir, name);
    cs_open_options o = {.u2_as_bf16 = u2bf16};
    cs_status st = cs_npy_read_header(p, &o, t, err);
    free(p);
    return st;
}

/* Writes raw bytes as dir/name. */
static void raw(const char *name, const void *data, size_t n)
{
    char *p = cs_test_path(dir, name);
    cs_test_write(p, data, n);
    free(p);
}

static void write_header_text(const char *name, const char *dict, size_t data_bytes)
{
    size_t dl = strlen(dict);
    size_t total = 10 + dl + 1 + data_bytes;
    unsigned char *b = calloc(1, total);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)((dl + 1) & 0xff);
    b[9] = (unsigned char)((dl + 1) >> 8);
    memcpy(b + 10, dict, dl);
    b[10 + dl] = '\n';
    raw(name, b, total);
    free(b);
}

Test(npy, versions_and_dtypes)
{
    const char *descr[] = {"<f2", "<f4", "<f8"};
    const cs_dtype want[] = {CS_DTYPE_F16, CS_DTYPE_F32, CS_DTYPE_F64};
    uint64_t shape[3] = {2, 3, 5};
    unsigned char data[240] = {0};
    for (int v = 1; v <= 3; v++)
        for (int d = 0; d < 3; d++) {
            char *p = cs_test_path(dir, "a.npy");
            size_t es = cs_dtype_size(want[d]);
            cs_test_write_npy(p, descr[d], false, shape, 3, data, 30 * es, v);
            cs_tensor t;
            cs_error err;
            cr_assert_eq(cs_npy_read_header(p, NULL, &t, &err), CS_OK, "%s", err.msg);
            cr_assert_eq(t.dtype, want[d]);
            cr_assert_eq(t.ndim, 3);
            cr_assert_eq(t.shape[2], 5);
            cr_assert_eq(t.data_bytes, 30 * es);
            cr_assert_eq(t.data_offset % 64, 0);
            cr_assert_str_eq(t.name, "");
            cs_tensor_free(&t);
            free(p);
        }
}

Test(npy, fortran_flag_and_one_dim)
{
    uint64_t shape[2] = {4, 2};
    float data[8] = {0};
    char *p = cs_test_path(dir, "f.npy");
    cs_test_write_npy(p, "<f4", true, shape, 2, data, sizeof data, 1);
    cs_tensor t;
    cs_error err;
    cr_assert_eq(cs_npy_read_header(p, NULL, &t, &err), CS_OK);
    cr_assert(t.fortran_order);
    cs_tensor_free(&t);
    uint64_t one[1] = {8};
    cs_test_write_npy(p, "<f4", false, one, 1, data, sizeof data, 1);
    cr_assert_eq(cs_npy_read_header(p, NULL, &t, &err), CS_OK);
    cr_assert_eq(t.ndim, 1);
    cs_tensor_free(&t);
    free(p);
}

Test(npy, u2_needs_bf16_option)
{
    uint64_t shape[1] = {4};
    uint16_t data[4] = {0x3f80, 0, 0, 0};
    char *p = cs_test_path(dir, "b.npy");
    cs_test_write_npy(p, "<u2", false, shape, 1, data, sizeof data, 1);
    free(p);
    cs_tensor t;
    cs_error err;
    cr_assert_eq(open_npy("b.npy", false, &t, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "b.npy") && strstr(err.msg, "--u2-bf16"), "%s", err.msg);
    cr_assert_eq(open_npy("b.npy", true, &t, &err), CS_OK);
    cr_assert_eq(t.dtype, CS_DTYPE_BF16);
    cs_tensor_free(&t);
}

/* Each malformed input must fail with CS_EINPUT and a message naming the
 * file and containing the expected phrase, on one line. */
static void expect_bad(const char *name, const char *phrase)
{
    cs_tensor t;
    cs_error err;
    cr_assert_eq(open_npy(name, false, &t, &err), CS_EINPUT, "%s should be rejected", name);
    cr_assert(strstr(err.msg, name) != NULL, "message '%s' must name the file", err.msg);
    cr_assert(strstr(err.msg, phrase) != NULL, "message '%s' should say '%s'", err.msg, phrase);
    cr_assert(strchr(err.msg, '\n') == NULL);
}

Test(npy, malformed_inputs)
{
    raw("empty.npy", "", 0);
    expect_bad("empty.npy", "empty file");
    raw("magic.npy", "NOTNUMPY\x01\x00", 10);
    expect_bad("magic.npy", "not a .npy file");
    raw("short.npy", "\x93NUM", 4);
    expect_bad("short.npy", "not a .npy file");
    raw("ver.npy", "\x93NUMPY\x04\x00\x10\x00", 10);
    expect_bad("ver.npy", "version 4.0");
    raw("trunchdr.npy", "\x93NUMPY\x01\x00\x40\x00{'descr'", 18);
    expect_bad("trunchdr.npy", "truncated .npy header");
    write_header_text("notdict.npy", "descr: <f4", 0);
    expect_bad("notdict.npy", "malformed .npy header");
    write_header_text("nokey.npy", "{'descr': '<f4', 'shape': (2,), }", 8);
    expect_bad("nokey.npy", "missing");
    write_header_text("extra.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8);
    expect_bad("extra.npy", "unexpected or repeated key 'x'");
    write_header_text("dup.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8);
    expect_bad("dup.npy", "repeated key 'descr'");
    write_header_text("order.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8);
    expect_bad("order.npy", "fortran_order");
    write_header_text("shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 8);
    expect_bad("shape.npy", "shape");
    write_header_text("shape2.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", 24);
    expect_bad("shape2.npy", "shape");
    write_header_text("struct.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8);
    expect_bad("struct.npy", "structured");
    write_header_text("be.npy", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8);
    expect_bad("be.npy", "big-endian");
    write_header_text("i8.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16);
    expect_bad("i8.npy", "unsupported dtype '<i8'");
    write_header_text("scalar.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4);
    expect_bad("scalar.npy", "scalar");
    write_header_text("trunc.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", 60);
    expect_bad("trunc.npy", "truncated data");
    write_header_text("long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 20);
    expect_bad("long.npy", "size mismatch");
    write_header_text("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", 8);
    expect_bad("huge.npy", "too large");
    write_header_text("trail.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8);
    expect_bad("trail.npy", "trailing characters");
    write_header_text("unterminated.npy", "{'descr': '<f4", 0);
    expect_bad("unterminated.npy", "malformed");
    unsigned char nul[] = "\x93NUMPY\x01\x00\x04\x00{\0}\n";
    raw("nul.npy", nul, 14);
    expect_bad("nul.npy", "NUL");
}

Test(npy, missing_file)
{
    cs_tensor t;
    cs_error err;
    cr_assert_eq(open_npy("nope.npy", false, &t, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "nope.npy") && strstr(err.msg, "cannot open"));
}

/* Every truncation of a valid file is rejected (never accepted, never a crash). */
Test(npy, every_truncation_rejected)
{
    uint64_t shape[2] = {3, 4};
    float data[12] = {1, 2, 3};
    char *p = cs_test_path(dir, "full.npy");
    cs_test_write_npy(p, "<f4", false, shape, 2, data, sizeof data, 2);
    size_t n;
    char *bytes = cs_test_read(p, &n);
    for (size_t len = 0; len < n; len++) {
        raw("cut.npy", bytes, len);
        cs_tensor t;
        cs_error err;
        cr_assert_eq(open_npy("cut.npy", false, &t, &err), CS_EINPUT, "truncated to %zu bytes", len);
    }
    free(bytes);
    free(p);
}
