/* tg_conf: the node's INI configuration ([section], key = value, # comments). */
#ifndef TG_CONF_H
#define TG_CONF_H

#include <stddef.h>
#include <stdint.h>

struct tg_err;
struct tg_conf;

/* Parses TEXT (LEN bytes) into a new config the caller frees with
 * tg_conf_free(). Errors name the line. */
int tg_conf_parse(const char *text, size_t len, struct tg_conf **out, struct tg_err *err);
/* Reads and parses the file at PATH. */
int tg_conf_load(const char *path, struct tg_conf **out, struct tg_err *err);
/* Frees CONF; NULL is a no-op. */
void tg_conf_free(struct tg_conf *conf);
/* Returns the value of SECTION.KEY (borrowed, lives as long as CONF) or NULL. */
const char *tg_conf_get(const struct tg_conf *conf, const char *section, const char *key);
/* Calls FN(UD, section, key, value) for every entry (not the section
 * headers) in file order (strings
 * borrowed for the call); stops at and returns FN's first non-zero result. */
int tg_conf_each(const struct tg_conf *conf,
                 int (*fn)(void *ud, const char *section, const char *key, const char *value),
                 void *ud);
/* Calls FN(UD, section, key, value, line) for every section header (KEY and
 * VALUE NULL) and entry in file order (strings borrowed for the call); stops
 * at and returns FN's first non-zero result. */
int tg_conf_walk(const struct tg_conf *conf,
                 int (*fn)(void *ud, const char *section, const char *key, const char *value,
                           int line),
                 void *ud);
/* The line of the assignment to SECTION.KEY that counts (the last), or 0. */
int tg_conf_line(const struct tg_conf *conf, const char *section, const char *key);
/* Calls CB(UD, key, value) for each entry of SECTION in file order (strings
 * borrowed for the call); a nonzero return stops the walk and is returned. */
int tg_conf_each_in(const struct tg_conf *conf, const char *section,
                    int (*cb)(void *ud, const char *key, const char *value), void *ud);
/* Gets an unsigned integer in [MIN, MAX]; DEF if absent. TG_EINVAL names the key. */
int tg_conf_get_u64(const struct tg_conf *conf, const char *section, const char *key,
                    uint64_t def, uint64_t min, uint64_t max, uint64_t *out, struct tg_err *err);
/* Gets a duration ("30s", "5m", "250ms" is not allowed) in milliseconds; DEF if absent. */
int tg_conf_get_ms(const struct tg_conf *conf, const char *section, const char *key,
                   uint64_t def_ms, uint64_t *out_ms, struct tg_err *err);
/* Gets a byte size ("16384", "16k", "1m", "2g"); DEF if absent. */
int tg_conf_get_size(const struct tg_conf *conf, const char *section, const char *key,
                     uint64_t def, uint64_t *out, struct tg_err *err);

#endif
