/* tg_conf_check: the node configuration's schema: every section and key
 * tsunagud and the CLI read, so that a typo ([lgo], workrs = 4) is refused
 * with its file and line and a likely intended name instead of being
 * ignored. Values are checked where they are read (tg_settings.c). */
#ifndef TG_CONF_CHECK_H
#define TG_CONF_CHECK_H

struct tg_conf;
struct tg_err;

/* Checks that every section and key of CONF (read from PATH, borrowed; PATH
 * only names the file in errors) is one the node knows. Returns 0, or
 * TG_EINVAL with "PATH:LINE: unknown key 'workrs' in [http] (did you mean
 * 'workers'?)" in ERR, for the first unknown one. */
int tg_conf_check(const struct tg_conf *conf, const char *path, struct tg_err *err);

#endif
