/* tg_problem: shared members of RFC 9457 problems (the capped errors list). */
#include "tg_problem.h"

json_t *tg_problem_errors_cap(json_t *extra) {
  json_t *errors = json_object_get(extra, "errors");
  size_t n = json_array_size(errors);
  if (n <= TG_PROBLEM_MAX_ERRORS)
    return extra;
  /* Keep the first ones: validators report in document order, so these
   * point at the start of the document, where a fix usually begins. */
  while (json_array_size(errors) > TG_PROBLEM_MAX_ERRORS)
    json_array_remove(errors, json_array_size(errors) - 1);
  json_object_set_new(extra, "errors_omitted",
                      json_integer((json_int_t)(n - TG_PROBLEM_MAX_ERRORS)));
  return extra;
}
