/* tg_problem: members of RFC 9457 problems that route handlers share: the
 * list of field-level errors, capped so that a refusal stays small. */
#ifndef TG_PROBLEM_H
#define TG_PROBLEM_H

#include <jansson.h>

#define TG_PROBLEM_MAX_ERRORS 100 /* entries of a problem's "errors" array */

/* Caps EXTRA's "errors" array (EXTRA borrowed, changed in place; NULL and
 * objects without one are left alone) at TG_PROBLEM_MAX_ERRORS entries and
 * then sets "errors_omitted" to the number left out. Returns EXTRA. */
json_t *tg_problem_errors_cap(json_t *extra);

#endif
