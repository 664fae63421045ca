/* tg_voc_unit: UCUM unit conversion with exact decimal arithmetic. A value is kept
 * as the rational n / (10^e * d) with a big-integer n and a small d, so "1" [in_i]
 * becomes exactly "0.0254" m and nothing passes through floating point. */
#include "tg_voc.h"
#include "tg_voc_int.h"

#include "tg_err.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- the unit table --------------------------------------------------- */

/* base = (v + onum*10^oexp) * fnum*10^fexp / fden, in the dimension's base unit. */
static const struct unit {
  const char *code, *ja, *en, *dim;
  uint32_t fnum;
  int fexp;
  uint32_t fden;
  uint32_t onum;
  int oexp;
} units[] = {
  {"m", "メートル", "metre", "length", 1, 0, 1, 0, 0},
  {"km", "キロメートル", "kilometre", "length", 1, 3, 1, 0, 0},
  {"cm", "センチメートル", "centimetre", "length", 1, -2, 1, 0, 0},
  {"mm", "ミリメートル", "millimetre", "length", 1, -3, 1, 0, 0},
  {"[in_i]", "インチ", "inch", "length", 254, -4, 1, 0, 0},
  {"[ft_i]", "フィート", "foot", "length", 3048, -4, 1, 0, 0},
  {"[yd_i]", "ヤード", "yard", "length", 9144, -4, 1, 0, 0},
  {"[mi_i]", "マイル", "mile", "length", 1609344, -3, 1, 0, 0},
  {"m2", "平方メートル", "square metre", "area", 1, 0, 1, 0, 0},
  {"km2", "平方キロメートル", "square kilometre", "area", 1, 6, 1, 0, 0},
  {"har", "ヘクタール", "hectare", "area", 1, 4, 1, 0, 0},
  {"m3", "立方メートル", "cubic metre", "volume", 1, 0, 1, 0, 0},
  {"L", "リットル", "litre", "volume", 1, -3, 1, 0, 0},
  {"l", "リットル", "litre", "volume", 1, -3, 1, 0, 0},
  {"mL", "ミリリットル", "millilitre", "volume", 1, -6, 1, 0, 0},
  {"m3/s", "立方メートル毎秒", "cubic metre per second", "volume flow", 1, 0, 1, 0, 0},
  {"m3/min", "立方メートル毎分", "cubic metre per minute", "volume flow", 1, 0, 60, 0, 0},
  {"m3/h", "立方メートル毎時", "cubic metre per hour", "volume flow", 1, 0, 3600, 0, 0},
  {"L/s", "リットル毎秒", "litre per second", "volume flow", 1, -3, 1, 0, 0},
  {"L/min", "リットル毎分", "litre per minute", "volume flow", 1, -3, 60, 0, 0},
  {"m/s", "メートル毎秒", "metre per second", "speed", 1, 0, 1, 0, 0},
  {"km/h", "キロメートル毎時", "kilometre per hour", "speed", 1, 3, 3600, 0, 0},
  {"cm/s", "センチメートル毎秒", "centimetre per second", "speed", 1, -2, 1, 0, 0},
  {"mm/h", "ミリメートル毎時", "millimetre per hour", "speed", 1, -3, 3600, 0, 0},
  {"mm/d", "ミリメートル毎日", "millimetre per day", "speed", 1, -3, 86400, 0, 0},
  {"[kn_i]", "ノット", "knot", "speed", 1852, 0, 3600, 0, 0},
  {"s", "秒", "second", "time", 1, 0, 1, 0, 0},
  {"min", "分", "minute", "time", 60, 0, 1, 0, 0},
  {"h", "時間", "hour", "time", 3600, 0, 1, 0, 0},
  {"d", "日", "day", "time", 86400, 0, 1, 0, 0},
  {"K", "ケルビン", "kelvin", "temperature", 1, 0, 1, 0, 0},
  {"Cel", "セルシウス度", "degree Celsius", "temperature", 1, 0, 1, 27315, -2},
  {"[degF]", "華氏度", "degree Fahrenheit", "temperature", 5, 0, 9, 45967, -2},
  {"kg", "キログラム", "kilogram", "mass", 1, 0, 1, 0, 0},
  {"g", "グラム", "gram", "mass", 1, -3, 1, 0, 0},
  {"t", "トン", "tonne", "mass", 1, 3, 1, 0, 0},
  {"Pa", "パスカル", "pascal", "pressure", 1, 0, 1, 0, 0},
  {"hPa", "ヘクトパスカル", "hectopascal", "pressure", 1, 2, 1, 0, 0},
  {"kPa", "キロパスカル", "kilopascal", "pressure", 1, 3, 1, 0, 0},
  {"bar", "バール", "bar", "pressure", 1, 5, 1, 0, 0},
  {"mm[Hg]", "水銀柱ミリメートル", "millimetre of mercury", "pressure", 133322, -3, 1, 0, 0},
  {"%", "パーセント", "percent", "ratio", 1, -2, 1, 0, 0},
  {"1", "無次元", "one", "ratio", 1, 0, 1, 0, 0},
};
enum { N_UNITS = sizeof(units) / sizeof(units[0]) };

static const struct unit *unit_find(const char *code) {
  if (code == NULL)
    return NULL;
  for (size_t i = 0; i < N_UNITS; i++)
    if (strcmp(units[i].code, code) == 0)
      return &units[i];
  return NULL;
}

int tg_voc_unit_known(const char *code) { return unit_find(code) != NULL; }

int tg_voc_unit_compatible(const char *a, const char *b) {
  const struct unit *ua = unit_find(a), *ub = unit_find(b);
  return ua && ub && strcmp(ua->dim, ub->dim) == 0;
}

void tg_voc_unit_each(void (*fn)(const char *, const char *, const char *, const char *, void *),
                      void *ud) {
  for (size_t i = 0; i < N_UNITS; i++)
    fn(units[i].code, units[i].ja, units[i].en, units[i].dim, ud);
}

/* ---- big unsigned integers, base 10^9 --------------------------------- */

enum { BIG_LIMBS = 64, BASE = 1000000000, MAX_SIG = 64, MAX_DIGITS = 128, MAX_EXP = 99, OUT_SIG = 15 };

struct big {
  uint32_t l[BIG_LIMBS]; /* little-endian limbs, each < BASE */
  int n;                 /* limbs in use; 0 means zero */
};

static int big_mul_small(struct big *b, uint32_t m) {
  uint64_t carry = 0;
  for (int i = 0; i < b->n; i++) {
    uint64_t x = (uint64_t)b->l[i] * m + carry;
    b->l[i] = (uint32_t)(x % BASE);
    carry = x / BASE;
  }
  while (carry) {
    if (b->n == BIG_LIMBS)
      return TG_ETOOBIG;
    b->l[b->n++] = (uint32_t)(carry % BASE);
    carry /= BASE;
  }
  if (m == 0)
    b->n = 0;
  return 0;
}

static int big_add_small(struct big *b, uint32_t a) {
  uint64_t carry = a;
  for (int i = 0; carry && i < b->n; i++) {
    uint64_t x = b->l[i] + carry;
    b->l[i] = (uint32_t)(x % BASE);
    carry = x / BASE;
  }
  if (carry) {
    if (b->n == BIG_LIMBS)
      return TG_ETOOBIG;
    b->l[b->n++] = (uint32_t)carry;
  }
  return 0;
}

static int big_mul_pow10(struct big *b, int k) {
  static const uint32_t p10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
  int rc = 0;
  for (; rc == 0 && k >= 9; k -= 9)
    rc = big_mul_small(b, BASE);
  return rc ? rc : big_mul_small(b, p10[k]);
}

static int big_set_u64(struct big *b, uint64_t v) {
  b->n = 0;
  for (; v; v /= BASE)
    b->l[b->n++] = (uint32_t)(v % BASE);
  return 0;
}

static int big_cmp(const struct big *a, const struct big *b) {
  if (a->n != b->n)
    return a->n < b->n ? -1 : 1;
  for (int i = a->n - 1; i >= 0; i--)
    if (a->l[i] != b->l[i])
      return a->l[i] < b->l[i] ? -1 : 1;
  return 0;
}

static int big_add(struct big *a, const struct big *b) {
  uint32_t carry = 0;
  int n = a->n > b->n ? a->n : b->n;
  for (int i = 0; i < n; i++) {
    uint32_t x = (i < a->n ? a->l[i] : 0) + (i < b->n ? b->l[i] : 0) + carry;
    carry = x >= BASE;
    a->l[i] = carry ? x - BASE : x;
  }
  a->n = n;
  if (carry) {
    if (a->n == BIG_LIMBS)
      return TG_ETOOBIG;
    a->l[a->n++] = 1;
  }
  return 0;
}

/* A -= B where A >= B. */
static void big_sub(struct big *a, const struct big *b) {
  int64_t borrow = 0;
  for (int i = 0; i < a->n; i++) {
    int64_t x = (int64_t)a->l[i] - (i < b->n ? b->l[i] : 0) - borrow;
    borrow = x < 0;
    a->l[i] = (uint32_t)(x < 0 ? x + BASE : x);
  }
  while (a->n > 0 && a->l[a->n - 1] == 0)
    a->n--;
}

/* B /= D; returns the remainder. */
static uint64_t big_div_u64(struct big *b, uint64_t d) {
  unsigned __int128 rem = 0;
  for (int i = b->n - 1; i >= 0; i--) {
    unsigned __int128 cur = rem * BASE + b->l[i];
    b->l[i] = (uint32_t)(cur / d);
    rem = cur % d;
  }
  while (b->n > 0 && b->l[b->n - 1] == 0)
    b->n--;
  return (uint64_t)rem;
}

/* Decimal digits of B into OUT (at least 9*BIG_LIMBS+1 bytes); "0" for zero. */
static void big_str(const struct big *b, char *out) {
  if (b->n == 0) {
    out[0] = '0', out[1] = '\0';
    return;
  }
  char top[10];
  int t = 0, w = 0;
  for (uint32_t x = b->l[b->n - 1]; x; x /= 10) /* the top limb without leading zeros */
    top[t++] = (char)('0' + x % 10);
  while (t > 0)
    out[w++] = top[--t];
  for (int i = b->n - 2; i >= 0; i--) {
    uint32_t x = b->l[i];
    for (int k = 8; k >= 0; k--, x /= 10)
      out[w + k] = (char)('0' + x % 10);
    w += 9;
  }
  out[w] = '\0';
}

/* ---- signed rationals n / (10^e * d) ---------------------------------- */

struct rat {
  int neg;
  struct big n;
  int e;      /* >= 0 */
  uint64_t d; /* >= 1, a product of the table's small factors */
};

static int rat_parse(const char *s, struct rat *r, struct tg_err *err) {
  int sig = 0, frac = 0, digits = 0, seen_point = 0, exp = 0;
  memset(r, 0, sizeof(*r));
  r->d = 1;
  if (*s == '+' || *s == '-')
    r->neg = *s++ == '-';
  for (;; s++) {
    if (*s == '.' && !seen_point) {
      seen_point = 1;
    } else if (*s >= '0' && *s <= '9') {
      digits++;
      if (seen_point)
        frac++;
      if (sig > 0 || *s != '0')
        sig++;
      if (sig > MAX_SIG)
        return tg_err_set(err, TG_EINVAL, "more than %d significant digits", MAX_SIG);
      if (big_mul_small(&r->n, 10) || big_add_small(&r->n, (uint32_t)(*s - '0')))
        return tg_err_set(err, TG_EINVAL, "number too large");
    } else {
      break;
    }
  }
  if (digits == 0)
    return tg_err_set(err, TG_EINVAL, "not a decimal number");
  if (digits > MAX_DIGITS)
    return tg_err_set(err, TG_EINVAL, "more than %d digits", MAX_DIGITS);
  if (*s == 'e' || *s == 'E') {
    int eneg = 0, edig = 0;
    s++;
    if (*s == '+' || *s == '-')
      eneg = *s++ == '-';
    for (; *s >= '0' && *s <= '9'; s++, edig++)
      if ((exp = exp * 10 + (*s - '0')) > MAX_EXP)
        return tg_err_set(err, TG_EINVAL, "exponent out of range");
    if (edig == 0)
      return tg_err_set(err, TG_EINVAL, "exponent without digits");
    if (eneg)
      exp = -exp;
  }
  if (*s != '\0')
    return tg_err_set(err, TG_EINVAL, "not a decimal number");
  r->e = frac - exp;
  if (r->e < 0) {
    if (big_mul_pow10(&r->n, -r->e))
      return tg_err_set(err, TG_EINVAL, "number too large");
    r->e = 0;
  }
  if (r->n.n == 0)
    r->neg = 0;
  return 0;
}

/* R *= num * 10^exp10 */
static int rat_mul(struct rat *r, uint32_t num, int exp10) {
  int rc = big_mul_small(&r->n, num);
  if (rc == 0 && exp10 > 0)
    rc = big_mul_pow10(&r->n, exp10);
  else if (exp10 < 0)
    r->e -= exp10;
  return rc;
}

/* R /= den */
static int rat_div(struct rat *r, uint32_t den) {
  if (den == 0 || r->d > UINT64_MAX / den)
    return TG_ETOOBIG;
  r->d *= den;
  return 0;
}

/* R += sign * num * 10^exp10 */
static int rat_add(struct rat *r, int neg, uint32_t num, int exp10) {
  struct big t;
  int rc, k = exp10 + r->e;
  if (num == 0)
    return 0;
  if (k < 0) {
    if ((rc = big_mul_pow10(&r->n, -k)) != 0)
      return rc;
    r->e -= k;
    k = 0;
  }
  big_set_u64(&t, r->d);
  if ((rc = big_mul_small(&t, num)) != 0 || (rc = big_mul_pow10(&t, k)) != 0)
    return rc;
  if (r->neg == neg || r->n.n == 0) {
    r->neg = neg;
    return big_add(&r->n, &t);
  }
  if (big_cmp(&r->n, &t) >= 0) {
    big_sub(&r->n, &t);
  } else {
    big_sub(&t, &r->n);
    r->n = t;
    r->neg = neg;
  }
  if (r->n.n == 0)
    r->neg = 0;
  return 0;
}

/* Writes sign, DIGITS / 10^SCALE as a plain decimal without trailing zeros. */
static int put_scaled(int neg, const char *digits, int scale, char *out, size_t n) {
  size_t len = strlen(digits), w = 0;
  char buf[9 * BIG_LIMBS + 256];
  if (len + (size_t)(scale < 0 ? -scale : scale) + 4 > sizeof(buf))
    return TG_ETOOBIG;
  if (neg && strcmp(digits, "0") != 0)
    buf[w++] = '-';
  if (scale <= 0) {
    memcpy(buf + w, digits, len);
    w += len;
    for (int i = 0; i < -scale && strcmp(digits, "0") != 0; i++)
      buf[w++] = '0';
  } else {
    size_t s = (size_t)scale;
    if (len <= s) {
      buf[w++] = '0', buf[w++] = '.';
      for (size_t i = len; i < s; i++)
        buf[w++] = '0';
      memcpy(buf + w, digits, len);
      w += len;
    } else {
      memcpy(buf + w, digits, len - s);
      w += len - s;
      buf[w++] = '.';
      memcpy(buf + w, digits + len - s, s);
      w += s;
    }
    while (buf[w - 1] == '0') /* stops at the point or a non-zero digit */
      w--;
    if (buf[w - 1] == '.')
      w--;
  }
  if (w >= n)
    return TG_ETOOBIG;
  memcpy(out, buf, w);
  out[w] = '\0';
  return 0;
}

/* Rounds the non-terminating value R to OUT_SIG significant digits. */
static int rat_round(struct rat *r, char *out, size_t n) {
  char ns[9 * BIG_LIMBS + 16], qs[9 * BIG_LIMBS + 16], ds[32];
  struct big q = r->n;
  big_str(&r->n, ns);
  snprintf(ds, sizeof(ds), "%llu", (unsigned long long)r->d);
  int k = OUT_SIG + 2 + (int)strlen(ds) - (int)strlen(ns);
  if (k < 0)
    k = 0;
  if (big_mul_pow10(&q, k) != 0)
    return TG_ETOOBIG;
  big_div_u64(&q, r->d);
  big_str(&q, qs);
  int len = (int)strlen(qs), drop = len - OUT_SIG;
  if (drop > 0) {
    int up = qs[OUT_SIG] >= '5'; /* never a tie: the exact value does not terminate */
    qs[OUT_SIG] = '\0';
    for (int i = OUT_SIG - 1; up && i >= 0; i--) {
      if (qs[i] == '9') {
        qs[i] = '0';
      } else {
        qs[i]++;
        up = 0;
      }
    }
    if (up) { /* 999… rounded to 1000… */
      memmove(qs + 1, qs, OUT_SIG + 1);
      qs[0] = '1';
      qs[OUT_SIG] = '\0';
      drop++;
    }
  } else {
    drop = 0;
  }
  return put_scaled(r->neg, qs, r->e + k - drop, out, n);
}

/* Writes R exactly if its expansion terminates, else rounded (*INEXACT = 1). */
static int rat_format(struct rat *r, char *out, size_t n, int *inexact) {
  char digits[9 * BIG_LIMBS + 16];
  uint64_t d = r->d, rest;
  int a = 0, b = 0, m;
  while (d % 2 == 0)
    d /= 2, a++;
  while (d % 5 == 0)
    d /= 5, b++;
  rest = d;
  *inexact = 0;
  if (rest > 1) {
    struct big q = r->n;
    if (big_div_u64(&q, rest) != 0) {
      *inexact = 1;
      return rat_round(r, out, n);
    }
    r->n = q;
  }
  m = a > b ? a : b;
  for (int i = a; i < m; i++)
    if (big_mul_small(&r->n, 2))
      return TG_ETOOBIG;
  for (int i = b; i < m; i++)
    if (big_mul_small(&r->n, 5))
      return TG_ETOOBIG;
  big_str(&r->n, digits);
  return put_scaled(r->neg, digits, r->e + m, out, n);
}

/* Units related by a power of ten (cm -> m, L/s -> m3/s) need no arithmetic: the decimal
 * point moves. Returns 1 when V (plain digits with an optional sign and point, at most
 * 60 digits) was written to OUT with *RC set, 0 to leave it to the general path. */
static int shift_decimal(const char *v, int shift, char *out, size_t n, int *rc) {
  char d[64];
  int nd = 0, point = -1, neg = 0, lead = 0;
  const char *p = v;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  for (; *p; p++) {
    if (*p == '.' && point < 0)
      point = nd;
    else if (*p >= '0' && *p <= '9' && nd < 60)
      d[nd++] = *p;
    else
      return 0;
  }
  if (nd == 0)
    return 0;
  if (point < 0)
    point = nd;
  point += shift;
  while (lead < nd && d[lead] == '0') /* leading zeros */
    lead++, point--;
  while (nd > lead && nd - lead > point && d[nd - 1] == '0') /* zeros after the point */
    nd--;
  char buf[200];
  size_t w = 0;
  if (nd == lead) {
    buf[w++] = '0';
  } else {
    if (neg)
      buf[w++] = '-';
    if (point <= 0) {
      buf[w++] = '0', buf[w++] = '.';
      for (int k = 0; k < -point; k++)
        buf[w++] = '0';
      for (int k = lead; k < nd; k++)
        buf[w++] = d[k];
    } else {
      for (int k = 0; k < point; k++)
        buf[w++] = lead + k < nd ? d[lead + k] : '0';
      if (lead + point < nd) {
        buf[w++] = '.';
        for (int k = lead + point; k < nd; k++)
          buf[w++] = d[k];
      }
    }
  }
  *rc = 0;
  if (w >= n) {
    *rc = TG_ETOOBIG;
    return 1;
  }
  memcpy(out, buf, w);
  out[w] = '\0';
  return 1;
}

int tg__voc_unit_index(const char *code) {
  const struct unit *u = unit_find(code);
  return u ? (int)(u - units) : -1;
}

int tg_voc_unit_convert(const char *value, const char *from, const char *to, char *out,
                        size_t n, int *inexact, struct tg_err *err) {
  const struct unit *uf = unit_find(from), *ut = unit_find(to);
  if (uf == NULL || ut == NULL)
    return tg_err_set(err, TG_ENOENT, "unknown unit '%s'", uf == NULL ? from : to);
  return tg__voc_unit_convert_ix(value, (int)(uf - units), (int)(ut - units), out, n, inexact,
                                 err);
}

int tg__voc_unit_convert_ix(const char *value, int from, int to, char *out, size_t n,
                            int *inexact, struct tg_err *err) {
  const struct unit *uf = &units[from], *ut = &units[to];
  struct rat r;
  int rc, dummy;
  if (inexact == NULL)
    inexact = &dummy;
  if (uf->dim != ut->dim && strcmp(uf->dim, ut->dim) != 0)
    return tg_err_set(err, TG_EINVAL, "cannot convert %s (%s) to %s (%s)", uf->code, uf->dim,
                      ut->code, ut->dim);
  if (value != NULL && uf->fnum == 1 && uf->fden == 1 && uf->onum == 0 && ut->fnum == 1 &&
      ut->fden == 1 && ut->onum == 0 && shift_decimal(value, uf->fexp - ut->fexp, out, n, &rc)) {
    *inexact = 0;
    return rc ? tg_err_set(err, rc, "result does not fit the output buffer") : 0;
  }
  if (value == NULL || (rc = rat_parse(value, &r, err)) != 0)
    return value == NULL ? tg_err_set(err, TG_EINVAL, "no value") : rc;
  /* To the base unit: (v + offset) * factor; then back: base / factor - offset. */
  if ((rc = rat_add(&r, 0, uf->onum, uf->oexp)) != 0 ||
      (rc = rat_mul(&r, uf->fnum, uf->fexp)) != 0 || (rc = rat_div(&r, uf->fden)) != 0 ||
      (rc = rat_mul(&r, ut->fden, -ut->fexp)) != 0 || (rc = rat_div(&r, ut->fnum)) != 0 ||
      (rc = rat_add(&r, 1, ut->onum, ut->oexp)) != 0)
    return tg_err_set(err, TG_EINVAL, "number out of range for conversion");
  if ((rc = rat_format(&r, out, n, inexact)) != 0)
    return tg_err_set(err, rc, "result does not fit the output buffer");
  return 0;
}
