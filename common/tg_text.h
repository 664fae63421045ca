/* tg_text: the node's one text folding for search (catalog and vocabularies):
 * Unicode NFKC_Casefold by utf8proc, which also makes half-width katakana
 * full-width with their voiced marks joined (ｶﾞ -> ガ) and full-width ASCII
 * plain; and the UTF-8 helpers the layers above share. */
#ifndef TG_TEXT_H
#define TG_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct tg_buf;

/* Decodes the code point at S[*POS] (S holds LEN bytes) and moves *POS past
 * it. Returns the code point, or -1 at the end or for a byte that does not
 * start a well-formed sequence (no overlongs, surrogates or values past
 * U+10FFFF); *POS is not moved then. */
int32_t tg_utf8_next(const char *s, size_t len, size_t *pos);
/* Appends code point CP (at most U+10FFFF) to B as UTF-8; 0 or TG_ENOMEM. */
int tg_utf8_put(struct tg_buf *b, uint32_t cp);
/* 1 if S[0..LEN) is well-formed UTF-8 (NUL bytes allowed), else 0. */
int tg_utf8_valid(const char *s, size_t len);
/* Replaces, in the NUL-terminated S, each byte that does not start a
 * well-formed UTF-8 sequence with '?': a message cut by a byte count
 * ("%.80s") in the middle of a character becomes valid text (jansson
 * refuses a string that is not, and the message was lost). */
void tg_utf8_scrub(char *s);

/* Folds UTF-8 text S (LEN bytes) for matching: NFKC_Casefold (compatibility
 * forms, width, case, default ignorables dropped) applied per extended
 * grapheme cluster, which is what NFKC of the whole text gives except for
 * runs of more than 32 combining marks, folded 32 at a time. Each byte that
 * is not part of well-formed UTF-8 becomes one U+FFFD (so broken text still
 * separates words and never matches real text).
 * Writes the folded code points to *CPS (from malloc, the caller frees) and
 * their count to *N. When STARTS / ENDS are not NULL, *STARTS and *ENDS (from
 * malloc) get for each folded code point the byte range of S it came from
 * (code points from one cluster share that cluster's range).
 * Returns 0 or TG_ENOMEM (then nothing is allocated). */
int tg_text_fold(const char *s, size_t len, uint32_t **cps, size_t **starts, size_t **ends,
                 size_t *n);

/* Appends to OUT the folded form of S (tg_text_fold) as UTF-8 with runs of
 * white space (space, tab, CR, LF, FF, VT after folding, so U+3000 and
 * U+00A0 too) made one space and none at either end: the key that keywords
 * and labels are compared by. OUT stays NUL-terminated, also when the key
 * is empty. Returns 0 or TG_ENOMEM. */
int tg_text_fold_key(const char *s, size_t len, struct tg_buf *out);

/* Folds one code point for parsers of numbers, dates and codes: a
 * full-width or half-width form (U+FF01-FFEE, U+3000: what Unicode marks
 * <wide> or <narrow>) becomes its plain one, ASCII letters become lower
 * case; anything else is returned as it is. */
uint32_t tg_text_fold_width(uint32_t cp);

/* Edit distance (Levenshtein, in code points) between the folded forms of A
 * and B: "LOG" and "log" are 0 apart, "ÀLTO" and "àlto" too. For short
 * strings (names, labels): O(len(A) * len(B)) time; bytes that are not UTF-8
 * count as U+FFFD (tg_text_fold). (size_t)-1 when memory runs out. */
size_t tg_text_distance(const char *a, const char *b);

#endif
