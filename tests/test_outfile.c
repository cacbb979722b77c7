/* Output files appear only when complete. */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(outfile, commit_renames_abort_removes)
{
    char *dir = cs_test_mkdtemp();
    char *p = cs_test_path(dir, "out.json");
    cs_outfile o;
    cs_error err;
    cr_assert_eq(cs_outfile_open(&o, p, &err), CS_OK);
    fputs("{\"x\": 1}\n", o.fp);
    cr_assert(!cs_test_exists(p), "final name must not exist before commit");
    cr_assert_eq(cs_test_count_entries(dir), 1);
    cr_assert_eq(cs_outfile_commit(&o, &err), CS_OK);
    size_t n;
    char *s = cs_test_read(p, &n);
    cr_assert_str_eq(s, "{\"x\": 1}\n");
    free(s);

    cs_outfile o2;
    char *q = cs_test_path(dir, "other.csv");
    cr_assert_eq(cs_outfile_open(&o2, q, &err), CS_OK);
    fputs("partial", o2.fp);
    cs_outfile_abort(&o2);
    cr_assert(!cs_test_exists(q));
    cr_assert_eq(cs_test_count_entries(dir), 1, "aborted temp file must be gone");
    free(q);
    free(p);
    cs_test_rmdir(dir);
    free(dir);
}

Test(outfile, commit_keeps_previous_file_until_done)
{
    char *dir = cs_test_mkdtemp();
    char *p = cs_test_path(dir, "r.csv");
    cs_test_write(p, "old\n", 4);
    cs_outfile o;
    cs_error err;
    cr_assert_eq(cs_outfile_open(&o, p, &err), CS_OK);
    fputs("new\n", o.fp);
    char *s = cs_test_read(p, NULL);
    cr_assert_str_eq(s, "old\n");
    free(s);
    cs_outfile_abort(&o);
    s = cs_test_read(p, NULL);
    cr_assert_str_eq(s, "old\n", "abort must leave the previous file untouched");
    free(s);
    free(p);
    cs_test_rmdir(dir);
    free(dir);
}

Test(outfile, missing_directory_is_input_error)
{
    cs_outfile o;
    cs_error err;
    cr_assert_eq(cs_outfile_open(&o, "/nonexistent-dir-cs/x.json", &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "/nonexistent-dir-cs/x.json") != NULL);
}

Test(outfile, full_disk_fails_commit_and_leaves_nothing)
{
    /* /dev/full accepts the open of a temp file beside it? No: /dev is not
     * writable as a directory for temp files in general; use the real file
     * system and a FILE* whose buffer is forced to fail by closing the fd. */
    char *dir = cs_test_mkdtemp();
    char *p = cs_test_path(dir, "x.json");
    cs_outfile o;
    cs_error err;
    cr_assert_eq(cs_outfile_open(&o, p, &err), CS_OK);
    fputs("data", o.fp);
    close(fileno(o.fp)); /* the flush at commit now fails like a full disk would */
    cr_assert_eq(cs_outfile_commit(&o, &err), CS_ERUNTIME);
    cr_assert(!cs_test_exists(p));
    cr_assert_eq(cs_test_count_entries(dir), 0);
    free(p);
    cs_test_rmdir(dir);
    free(dir);
}

Test(parse, numbers_and_lists)
{
    double d;
    uint64_t u;
    int64_t i;
    cr_assert(cs_parse_double("0.05", &d) && d == 0.05);
    cr_assert(!cs_parse_double("0.05x", &d));
    cr_assert(!cs_parse_double("", &d));
    cr_assert(cs_parse_u64("128", &u) && u == 128);
    cr_assert(!cs_parse_u64("-1", &u));
    cr_assert(!cs_parse_u64("1e3", &u));
    cr_assert(cs_parse_i64("-2", &i) && i == -2);
    size_t n;
    cs_error err;
    double *v = cs_parse_double_list("0.001,0.01,0.1", &n, "--thresholds", &err);
    cr_assert(v && n == 3 && v[2] == 0.1);
    free(v);
    cr_assert_null(cs_parse_double_list("0.1,abc", &n, "--thresholds", &err));
    cr_assert(strstr(err.msg, "--thresholds") && strstr(err.msg, "abc"));
    cr_assert_null(cs_parse_u64_list("", &n, "--tile-rows", &err));
}
