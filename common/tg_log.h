/* tg_log: one-line log records to stderr (journald picks them up). Never pass
 * secrets (tokens, keys) to these functions. */
#ifndef TG_LOG_H
#define TG_LOG_H

enum tg_log_level { TG_LOG_ERROR = 0, TG_LOG_WARN, TG_LOG_INFO, TG_LOG_DEBUG };

/* Sets the most verbose level that is written (default TG_LOG_INFO). */
void tg_log_set_level(enum tg_log_level level);
/* Parses "error"|"warn"|"info"|"debug"; returns 0 or TG_EINVAL. */
int tg_log_parse_level(const char *s, enum tg_log_level *out);
/* Writes one line "LEVEL message" to stderr; newlines in the message are escaped. */
void tg_log(enum tg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tg_log_error(...) tg_log(TG_LOG_ERROR, __VA_ARGS__)
#define tg_log_warn(...) tg_log(TG_LOG_WARN, __VA_ARGS__)
#define tg_log_info(...) tg_log(TG_LOG_INFO, __VA_ARGS__)
#define tg_log_debug(...) tg_log(TG_LOG_DEBUG, __VA_ARGS__)

#endif
