/* Element types and exact conversions of the 16-bit float formats. */
#include "colscope/tensor.h"

#include <math.h>
#include <string.h>

size_t cs_dtype_size(cs_dtype dt)
{
    switch (dt) {
    case CS_DTYPE_F16:
    case CS_DTYPE_BF16:
        return 2;
    case CS_DTYPE_F32:
        return 4;
    case CS_DTYPE_F64:
        return 8;
    }
    return 0;
}

const char *cs_dtype_name(cs_dtype dt)
{
    switch (dt) {
    case CS_DTYPE_F16:
        return "F16";
    case CS_DTYPE_BF16:
        return "BF16";
    case CS_DTYPE_F32:
        return "F32";
    case CS_DTYPE_F64:
        return "F64";
    }
    return "?";
}

bool cs_dtype_from_name(const char *name, cs_dtype *out)
{
    static const struct {
        const char *name;
        cs_dtype dt;
    } names[] = {
        {"F16", CS_DTYPE_F16},       {"BF16", CS_DTYPE_BF16},       {"F32", CS_DTYPE_F32},
        {"F64", CS_DTYPE_F64},       {"float16", CS_DTYPE_F16},     {"bfloat16", CS_DTYPE_BF16},
        {"float32", CS_DTYPE_F32},   {"float64", CS_DTYPE_F64},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].dt;
            return true;
        }
    return false;
}

/* Value of a small IEEE-style float with the given field widths. */
static double cs__small_float_value(uint32_t bits, int exp_bits, int man_bits)
{
    uint32_t man = bits & ((1u << man_bits) - 1);
    uint32_t exp = (bits >> man_bits) & ((1u << exp_bits) - 1);
    int sign = (bits >> (man_bits + exp_bits)) & 1;
    int bias = (1 << (exp_bits - 1)) - 1;
    double v;
    if (exp == 0)
        v = ldexp((double)man, 1 - bias - man_bits);
    else if (exp == (1u << exp_bits) - 1)
        v = man ? NAN : INFINITY;
    else
        v = ldexp((double)(man | (1u << man_bits)), (int)exp - bias - man_bits);
    return sign ? -v : v;
}

/* Round-to-nearest-even from double. Every scaling below is by a power of
 * two, so the only rounding is the final nearbyint(). */
static uint32_t cs__small_float_bits(double v, int exp_bits, int man_bits)
{
    uint32_t sign_bit = 1u << (man_bits + exp_bits);
    uint32_t exp_all = (1u << exp_bits) - 1;
    if (isnan(v))
        return (exp_all << man_bits) | (1u << (man_bits - 1));
    uint32_t sign = signbit(v) ? sign_bit : 0;
    if (isinf(v))
        return sign | (exp_all << man_bits);
    double a = fabs(v);
    int bias = (int)exp_all / 2;
    int emin = 1 - bias;
    if (a < ldexp(1.0, emin)) { /* subnormal range; may round up to the smallest normal */
        double m = nearbyint(ldexp(a, man_bits - emin));
        return sign | (uint32_t)m;
    }
    int e;
    frexp(a, &e);
    e -= 1; /* a = mant * 2^e with mant in [1, 2) */
    double m = nearbyint(ldexp(a, man_bits - e)) - ldexp(1.0, man_bits);
    if (m >= ldexp(1.0, man_bits)) {
        m = 0;
        e += 1;
    }
    if (e > bias)
        return sign | (exp_all << man_bits);
    return sign | ((uint32_t)(e + bias) << man_bits) | (uint32_t)m;
}

double cs_f16_to_double(uint16_t bits) { return cs__small_float_value(bits, 5, 10); }
double cs_bf16_to_double(uint16_t bits) { return cs__small_float_value(bits, 8, 7); }
uint16_t cs_double_to_f16(double v) { return (uint16_t)cs__small_float_bits(v, 5, 10); }
uint16_t cs_double_to_bf16(double v) { return (uint16_t)cs__small_float_bits(v, 8, 7); }
