/* tg_util: small helpers shared by every module: randomness, hex, files,
 * node-id syntax, clocks. */
#ifndef TG_UTIL_H
#define TG_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct tg_err;

/* Fills BUF with N cryptographically secure random bytes; 0 or TG_EIO. */
int tg_random_bytes(void *buf, size_t n);
/* Writes 2*N lowercase hex digits and a NUL into OUT (size >= 2*N+1). */
void tg_hex(const void *in, size_t n, char *out);
/* Returns 1 if S is a valid node id: a DNS label (1-63 of a-z 0-9 '-', not
 * starting or ending with '-'), else 0. */
int tg_node_id_valid(const char *s);
/* Syncs the directory that holds PATH (after renames into it); 0 or TG_EIO. */
int tg_file_sync_dir(const char *path);
/* Writes LEN bytes to PATH atomically (temp file, fsync, rename, fsync dir)
 * with permission MODE. Fails with TG_EEXIST if EXCL and PATH exists. */
int tg_file_write(const char *path, const void *data, size_t len, int mode, int excl,
                  struct tg_err *err);
/* Reads a whole file (at most MAX bytes) into a new NUL-terminated heap
 * string the caller frees; *LEN gets its length if LEN is not NULL. */
int tg_file_read(const char *path, size_t max, char **out, size_t *len, struct tg_err *err);
/* Joins DIR and NAME into OUT (size N); TG_ETOOBIG if it does not fit. */
int tg_path_join(char *out, size_t n, const char *dir, const char *name);
/* Monotonic milliseconds. */
uint64_t tg_now_ms(void);
/* FNV-1a of the NUL-terminated S continued from H (start with
 * TG_HASH_INIT): for in-memory tables, not for anything an attacker
 * chooses the layout of unboundedly. */
#define TG_HASH_INIT 1469598103934665603ull
uint64_t tg_hash_str(uint64_t h, const char *s);
/* Wall-clock seconds since the epoch. */
int64_t tg_time_now(void);
/* Parses a decimal unsigned integer (no sign, no spaces) no larger than MAX;
 * 0 or TG_EINVAL. */
int tg_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Parses a duration like "30", "30s", "5m", "24h", "7d" into seconds. */
int tg_parse_duration(const char *s, uint64_t *seconds);
/* Constant-time comparison of two N-byte buffers: 1 if equal. */
int tg_ct_equal(const void *a, const void *b, size_t n);

#endif
