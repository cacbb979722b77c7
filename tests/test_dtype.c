/* Element types: exact fp16/bf16 conversions and the threshold bit patterns
 * that make |x| < t an integer compare. */
#include "colscope/profile.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

Test(dtype, sizes_and_names)
{
    cr_assert_eq(cs_dtype_size(CS_DTYPE_F16), 2);
    cr_assert_eq(cs_dtype_size(CS_DTYPE_BF16), 2);
    cr_assert_eq(cs_dtype_size(CS_DTYPE_F32), 4);
    cr_assert_eq(cs_dtype_size(CS_DTYPE_F64), 8);
    cs_dtype dt;
    cr_assert(cs_dtype_from_name("BF16", &dt) && dt == CS_DTYPE_BF16);
    cr_assert(cs_dtype_from_name("float16", &dt) && dt == CS_DTYPE_F16);
    cr_assert(!cs_dtype_from_name("I64", &dt));
    cr_assert_str_eq(cs_dtype_name(CS_DTYPE_F32), "F32");
}

Test(dtype, f16_known_values)
{
    cr_assert_eq(cs_f16_to_double(0x3c00), 1.0);
    cr_assert_eq(cs_f16_to_double(0xc000), -2.0);
    cr_assert_eq(cs_f16_to_double(0x7bff), 65504.0);
    cr_assert_eq(cs_f16_to_double(0x0001), ldexp(1.0, -24));
    cr_assert_eq(cs_f16_to_double(0x0400), ldexp(1.0, -14));
    cr_assert(isinf(cs_f16_to_double(0x7c00)));
    cr_assert(isnan(cs_f16_to_double(0x7e00)));
    cr_assert(signbit(cs_f16_to_double(0x8000)));
    cr_assert_eq(cs_bf16_to_double(0x3f80), 1.0);
    cr_assert_eq(cs_bf16_to_double(0x0001), ldexp(1.0, -133));
}

Test(dtype, f16_bf16_round_trip_every_pattern)
{
    for (uint32_t b = 0; b < 65536; b++) {
        double v = cs_f16_to_double((uint16_t)b);
        if (isnan(v))
            cr_assert(isnan(cs_f16_to_double(cs_double_to_f16(v))));
        else
            cr_assert_eq(cs_double_to_f16(v), b, "f16 pattern %#x", b);
        double w = cs_bf16_to_double((uint16_t)b);
        if (!isnan(w))
            cr_assert_eq(cs_double_to_bf16(w), b, "bf16 pattern %#x", b);
    }
}

Test(dtype, rounding_to_nearest_even)
{
    /* 1 + 2^-11 is halfway between 1 and the next fp16: ties to even (1.0). */
    cr_assert_eq(cs_double_to_f16(1.0 + ldexp(1.0, -11)), 0x3c00);
    cr_assert_eq(cs_double_to_f16(1.0 + 3 * ldexp(1.0, -11)), 0x3c02);
    cr_assert_eq(cs_double_to_f16(65520.0), 0x7c00); /* rounds to inf */
    cr_assert_eq(cs_double_to_f16(65519.0), 0x7bff);
    cr_assert_eq(cs_double_to_f16(ldexp(1.0, -25)), 0x0000); /* tie to even zero */
    cr_assert_eq(cs_double_to_f16(ldexp(1.5, -25)), 0x0001);
    cr_assert_eq(cs_double_to_bf16(1.0 + ldexp(1.0, -8)), 0x3f80);
}

/* For every pattern and a set of thresholds, the bit compare used by the
 * kernels equals the value compare |x| < t. */
static void check_threshold_bits(cs_dtype dt, double (*val)(uint16_t))
{
    const double ts[] = {0.0, 1e-9, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 3.0, 65504.0, 1e6, INFINITY};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        uint64_t k = cs_threshold_bits(dt, ts[i]);
        for (uint32_t b = 0; b < 65536; b++) {
            double v = val((uint16_t)b);
            bool want = fabs(v) < ts[i];
            bool got = (b & 0x7fff) < k;
            cr_assert_eq(got, want, "%s pattern %#x threshold %g", cs_dtype_name(dt), b, ts[i]);
        }
    }
}

Test(dtype, threshold_bits_f16_exhaustive) { check_threshold_bits(CS_DTYPE_F16, cs_f16_to_double); }
Test(dtype, threshold_bits_bf16_exhaustive) { check_threshold_bits(CS_DTYPE_BF16, cs_bf16_to_double); }

Test(dtype, threshold_bits_f32_f64)
{
    uint64_t st = 7;
    const double ts[] = {0.001, 0.01, 0.1, 1e-30, 1e30};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        uint64_t k32 = cs_threshold_bits(CS_DTYPE_F32, ts[i]);
        uint64_t k64 = cs_threshold_bits(CS_DTYPE_F64, ts[i]);
        for (int n = 0; n < 200000; n++) {
            uint32_t b = (uint32_t)cs_test_rand(&st);
            float f;
            memcpy(&f, &b, 4);
            cr_assert_eq((b & 0x7fffffffu) < k32, fabs((double)f) < ts[i]);
            uint64_t b64 = cs_test_rand(&st);
            double d;
            memcpy(&d, &b64, 8);
            cr_assert_eq((b64 & 0x7fffffffffffffffull) < k64, fabs(d) < ts[i]);
        }
        /* The threshold itself is not below itself, its predecessor is. */
        float tf = (float)ts[i];
        if ((double)tf == ts[i]) {
            uint32_t tb;
            memcpy(&tb, &tf, 4);
            cr_assert_eq(k32, tb);
        }
    }
}
