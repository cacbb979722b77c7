/* INI parsing with line numbers, typed getters and unknown-key reports. */
#include "colscope/ini.h"
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
TestSuite(ini, .init = setup, .fini = teardown);

static char *write_cfg(const char *text)
{
    char *p = cs_test_path(dir, "a.cfg");
    cs_test_write(p, text, strlen(text));
    return p;
}

Test(ini, values_lines_and_unknown_keys)
{
    char *p = write_cfg("[general]\nrun_name = x\n\n[arch]\n# comment\nArrayHeight:    32\nRatio = 0.5\n"
                        "Flag: True\nMode : os\nStray: 1\n");
    cs_ini ini;
    cs_error err;
    cr_assert_eq(cs_ini_load(&ini, p, &err), CS_OK, "%s", err.msg);
    uint64_t h = 0;
    cr_assert_eq(cs_ini_get_u64(&ini, "arch", "arrayheight", true, 1, 1 << 20, &h, &err), CS_OK);
    cr_assert_eq(h, 32);
    double r = 0;
    cr_assert_eq(cs_ini_get_double(&ini, "arch", "Ratio", true, 0, 1, &r, &err), CS_OK);
    cr_assert_eq(r, 0.5);
    bool f = false;
    cr_assert_eq(cs_ini_get_bool(&ini, "arch", "Flag", true, &f, &err), CS_OK);
    cr_assert(f);
    static const char *const modes[] = {"os", "ws", "is"};
    size_t m = 9;
    cr_assert_eq(cs_ini_get_choice(&ini, "arch", "Mode", true, modes, 3, &m, &err), CS_OK);
    cr_assert_eq(m, 0);
    const char *s = NULL;
    cr_assert_eq(cs_ini_get_string(&ini, "general", "run_name", true, &s, &err), CS_OK);
    cr_assert_str_eq(s, "x");
    uint64_t absent = 7;
    cr_assert_eq(cs_ini_get_u64(&ini, "arch", "Nope", false, 0, 10, &absent, &err), CS_OK);
    cr_assert_eq(absent, 7);
    cr_assert_eq(cs_ini_get_u64(&ini, "arch", "Nope", true, 0, 10, &absent, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "[arch] Nope is missing"));
    cr_assert_eq(cs_ini_check_unused(&ini, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "a.cfg:10: unknown key 'Stray' in [arch]"), "%s", err.msg);
    cs_ini_free(&ini);
    free(p);
}

Test(ini, bad_values_name_file_line_field)
{
    char *p = write_cfg("[a]\nx = 12\ny = abc\nz = 5\nm = maybe\nd = 1e999\n");
    cs_ini ini;
    cs_error err;
    cr_assert_eq(cs_ini_load(&ini, p, &err), CS_OK);
    uint64_t v;
    cr_assert_eq(cs_ini_get_u64(&ini, "a", "y", true, 0, 100, &v, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "a.cfg:3: [a] y: 'abc' is not a non-negative integer"), "%s", err.msg);
    cr_assert_eq(cs_ini_get_u64(&ini, "a", "z", true, 10, 100, &v, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "a.cfg:4: [a] z: 5 is outside 10..100"), "%s", err.msg);
    bool b;
    cr_assert_eq(cs_ini_get_bool(&ini, "a", "m", true, &b, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "a.cfg:5:"), "%s", err.msg);
    double d;
    cr_assert_eq(cs_ini_get_double(&ini, "a", "d", true, 0, 1, &d, &err), CS_EINPUT);
    cs_ini_free(&ini);
    free(p);
}

Test(ini, malformed_and_empty)
{
    char *p = write_cfg("[a]\nx = 1\nthis line has no separator\n");
    cs_ini ini;
    cs_error err;
    cr_assert_eq(cs_ini_load(&ini, p, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "a.cfg:3: malformed line"), "%s", err.msg);
    free(p);
    p = write_cfg("");
    cr_assert_eq(cs_ini_load(&ini, p, &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "no settings"));
    free(p);
    cr_assert_eq(cs_ini_load(&ini, "/nonexistent/x.cfg", &err), CS_EINPUT);
    cr_assert(strstr(err.msg, "cannot open"));
    p = write_cfg("[a\nx=1\n");
    cr_assert_eq(cs_ini_load(&ini, p, &err), CS_EINPUT);
    free(p);
}
