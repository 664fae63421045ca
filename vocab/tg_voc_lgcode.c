/* tg_voc_lgcode: 全国地方公共団体コード (JIS X 0402): check digits of the six-digit
 * local government codes. Rule checked against real codes, e.g. 131016 千代田区,
 * 011002 札幌市, 011011 札幌市中央区 (remainder 0 -> 1), 131130 渋谷区 (remainder 1 -> 0). */
#include "tg_voc.h"
#include "tg_voc_int.h"

#include "tg_err.h"
#include "tg_text.h"

#include <stdint.h>

int tg_voc_lgcode_check_digit(const char *s) {
  static const int w[5] = {6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 5; i++) {
    if (s[i] < '0' || s[i] > '9')
      return TG_EINVAL;
    sum += (s[i] - '0') * w[i];
  }
  return (11 - sum % 11) % 10;
}

int tg_voc_lgcode_normalize(const char *s, size_t len, char out[7], struct tg_err *err) {
  uint32_t c[8];
  char d[8];
  size_t pos = 0, n = 0, a = 0;
  while (pos < len) {
    int32_t cp = tg_utf8_next(s, len, &pos);
    if (cp < 0)
      return tg_err_set(err, TG_EINVAL, "invalid UTF-8 in code");
    uint32_t f = tg_text_fold_width((uint32_t)cp);
    if (n == 0 && (f == ' ' || f == '\t'))
      continue; /* leading space */
    if (n == sizeof(c) / sizeof(c[0]))
      return tg_err_set(err, TG_EINVAL, "local government code longer than six digits");
    c[n++] = f;
  }
  while (n > 0 && (c[n - 1] == ' ' || c[n - 1] == '\t'))
    n--;
  for (a = 0; a < n; a++) {
    if (c[a] < '0' || c[a] > '9')
      return tg_err_set(err, TG_EINVAL, "local government code has a non-digit");
    d[a] = (char)c[a];
  }
  if (n != 5 && n != 6)
    return tg_err_set(err, TG_EINVAL, "local government code needs five or six digits, not %zu",
                      n);
  int check = tg_voc_lgcode_check_digit(d);
  if (n == 6 && d[5] - '0' != check)
    return tg_err_set(err, TG_EINVAL, "check digit of %.6s should be %d", d, check);
  for (int i = 0; i < 5; i++)
    out[i] = d[i];
  out[5] = (char)('0' + check);
  out[6] = '\0';
  return 0;
}
