/* tg_voc_int: helpers shared inside vocab/ (not part of the public API): UTF-8
 * decoding and the label normalisation used by search and the date parsers. */
#ifndef TG_VOC_INT_H
#define TG_VOC_INT_H

#include <stddef.h>
#include <stdint.h>

struct tg_buf;
struct json_t;
struct tg_voc_conv_issue;

/* Decodes the UTF-8 sequence at S[*POS] (LEN bytes in all), advances *POS past it and
 * returns the code point, or -1 for an invalid, overlong or truncated sequence. */
int32_t tg__voc_utf8_next(const char *s, size_t len, size_t *pos);

/* Appends code point CP as UTF-8 to B; 0 or TG_ENOMEM. */
int tg__voc_utf8_put(struct tg_buf *b, uint32_t cp);

/* Folds one code point the NFKC-ish way: full-width ASCII (U+FF01-FF5E) to ASCII,
 * ideographic space to space, ASCII upper case to lower case. */
uint32_t tg__voc_fold(uint32_t cp);

/* Appends the folded form of S (LEN bytes of UTF-8) to OUT, collapsing runs of
 * white space to one space and trimming both ends. Invalid UTF-8 bytes become
 * U+FFFD. Returns 0 or TG_ENOMEM. */
int tg__voc_normalize(const char *s, size_t len, struct tg_buf *out);

/* For the streaming converter: converts REC (still the caller's to release, but
 * modified and possibly shared with the output) with profile P into *OUT (new
 * reference). Returns 0, TG_EINVAL if the record is
 * refused, or TG_ENOMEM. */
struct tg_voc_profile;
int tg__voc_profile_apply_take(const struct tg_voc_profile *p, struct json_t *rec,
                               size_t record, struct json_t **out,
                               void (*report)(void *, const struct tg_voc_conv_issue *),
                               void *ud);

#endif
