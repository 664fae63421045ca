/* cat_dcatap: the DCAT-AP 3.0.1 context as tables (see cat_dcatap.c), used by
 * the JSON-LD expander for documents that name that context. */
#ifndef TG_CAT_DCATAP_H
#define TG_CAT_DCATAP_H

#include <stddef.h>

/* One term of a class's type-scoped context. */
struct tg__cat_dterm {
  const char *name; /* the term */
  const char *iri;  /* what it expands to */
  const char *type; /* NULL, "@id" or a datatype IRI (type coercion) */
};

/* A class name of the context and its type-scoped terms. */
struct tg__cat_dclass {
  const char *name;
  const char *iri;
  const struct tg__cat_dterm *terms; /* NULL when the class has none */
  size_t nterms;
};

extern const struct tg__cat_dclass tg__cat_dcatap_classes[];
extern const size_t tg__cat_dcatap_nclasses;

#endif
