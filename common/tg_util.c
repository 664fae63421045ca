/* tg_util: randomness, hex, atomic file writes, node ids, clocks, number parsing. */
#include "tg_util.h"
#include "tg_err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tg_random_bytes(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t r = getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return TG_EIO;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

void tg_hex(const void *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = in;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

int tg_node_id_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return 0;
  }
  return 1;
}

int tg_path_join(char *out, size_t n, const char *dir, const char *name) {
  int w = snprintf(out, n, "%s/%s", dir, name);
  return (w < 0 || (size_t)w >= n) ? TG_ETOOBIG : 0;
}

static int tg__fsync_dir(const char *path) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s", path);
  int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return TG_EIO;
  int rc = fsync(fd), e = errno;
  close(fd);
  errno = e; /* for the caller's message */
  return rc ? TG_EIO : 0;
}

int tg_file_sync_dir(const char *path) { return tg__fsync_dir(path); }

int tg_file_write(const char *path, const void *data, size_t len, int mode, int excl,
                  struct tg_err *err) {
  char tmp[PATH_MAX];
  unsigned char rnd[6];
  char rhex[13];
  struct stat st;

  if (excl && stat(path, &st) == 0)
    return tg_err_set(err, TG_EEXIST, "%s already exists", path);
  if (tg_random_bytes(rnd, sizeof(rnd)))
    return tg_err_set(err, TG_EIO, "no randomness");
  tg_hex(rnd, sizeof(rnd), rhex);
  if (snprintf(tmp, sizeof(tmp), "%s.%s.tmp", path, rhex) >= (int)sizeof(tmp))
    return tg_err_set(err, TG_ETOOBIG, "path too long: %s", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return tg_err_set(err, TG_EIO, "cannot create %s: %s", tmp, strerror(errno));
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return tg_err_set(err, TG_EIO, "cannot write %s: %s", tmp, strerror(e));
    }
    p += w;
    left -= (size_t)w;
  }
  if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return tg_err_set(err, TG_EIO, "cannot sync %s: %s", tmp, strerror(e));
  }
  close(fd);
  if (excl ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    if (e == EEXIST)
      return tg_err_set(err, TG_EEXIST, "%s already exists", path);
    return tg_err_set(err, TG_EIO, "cannot create %s: %s", path, strerror(e));
  }
  if (excl)
    unlink(tmp);
  return tg__fsync_dir(path)
             ? tg_err_set(err, TG_EIO, "cannot sync the directory of %s: %s", path, strerror(errno))
             : 0;
}

int tg_file_read(const char *path, size_t max, char **out, size_t *len, struct tg_err *err) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return tg_err_set(err, errno == ENOENT ? TG_ENOENT : TG_EIO, "cannot open %s: %s", path,
                      strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    fclose(f);
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  }
  for (;;) {
    if (n + 1 >= cap) {
      if (cap > max + 1) {
        free(buf);
        fclose(f);
        return tg_err_set(err, TG_ETOOBIG, "%s is larger than %zu bytes", path, max);
      }
      char *nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        fclose(f);
        return tg_err_set(err, TG_ENOMEM, "out of memory");
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if (r == 0)
      break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad || n > max) {
    free(buf);
    return tg_err_set(err, bad ? TG_EIO : TG_ETOOBIG, "cannot read %s", path);
  }
  buf[n] = '\0';
  *out = buf;
  if (len)
    *len = n;
  return 0;
}

uint64_t tg_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t tg_time_now(void) { return (int64_t)time(NULL); }

int tg_parse_u64(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == '\0')
    return TG_EINVAL;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return TG_EINVAL;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10)
      return TG_EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int tg_parse_duration(const char *s, uint64_t *seconds) {
  char num[32];
  size_t n = strlen(s);
  uint64_t mult = 1, v;
  if (n == 0 || n >= sizeof(num))
    return TG_EINVAL;
  memcpy(num, s, n + 1);
  switch (num[n - 1]) {
  case 's': mult = 1; num[n - 1] = '\0'; break;
  case 'm': mult = 60; num[n - 1] = '\0'; break;
  case 'h': mult = 3600; num[n - 1] = '\0'; break;
  case 'd': mult = 86400; num[n - 1] = '\0'; break;
  default: break;
  }
  if (tg_parse_u64(num, UINT64_MAX / 86400, &v))
    return TG_EINVAL;
  *seconds = v * mult;
  return 0;
}

int tg_ct_equal(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  unsigned char d = 0;
  for (size_t i = 0; i < n; i++)
    d |= (unsigned char)(x[i] ^ y[i]);
  return d == 0;
}

uint64_t tg_hash_str(uint64_t h, const char *s) {
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}
