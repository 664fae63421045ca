/* tg_prov_ref: the text form of an entry reference, NODE:INDEX:SIZE:ROOT
 * (docs/provenance.md "Entry references"), which the CLI takes as an
 * argument and the data path hands from owner to consumer. One spelling per
 * reference: the parser refuses anything the formatter would not write. */
#include "tg_err.h"
#include "tg_prov.h"
#include "tg_util.h"

#include <stdio.h>
#include <string.h>

int tg_prov_ref_format(const struct tg_prov_ref *ref, char out[TG_PROV_REF_TEXT]) {
  char hex[2 * TG_PROV_HASH + 1];
  if (ref->node == NULL || strlen(ref->node) > TG_PROV_MAX_NODE || !tg_node_id_valid(ref->node) ||
      ref->index >= ref->tree_size)
    return TG_EINVAL;
  tg_hex(ref->root, TG_PROV_HASH, hex);
  snprintf(out, TG_PROV_REF_TEXT, "%s:%llu:%llu:%s", ref->node, (unsigned long long)ref->index,
           (unsigned long long)ref->tree_size, hex);
  return 0;
}

/* Copies the field of S up to the next ':' (or the end if LAST) into OUT
 * (size N) and moves *S past it; 0 or TG_EINVAL. */
static int field(const char **s, int last, char *out, size_t n) {
  const char *end = last ? *s + strlen(*s) : strchr(*s, ':');
  if (end == NULL || end == *s || (size_t)(end - *s) >= n)
    return TG_EINVAL;
  memcpy(out, *s, (size_t)(end - *s));
  out[end - *s] = '\0';
  *s = last ? end : end + 1;
  return 0;
}

/* A decimal number as the formatter writes it: no sign, no leading zero. */
static int number(const char *s, uint64_t *v) {
  if (s[0] == '0' && s[1] != '\0')
    return TG_EINVAL;
  return tg_parse_u64(s, UINT64_MAX, v);
}

static int hex_val(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-case hex of exactly 32 bytes. */
static int root_hex(const char *s, uint8_t root[TG_PROV_HASH]) {
  if (strlen(s) != 2 * TG_PROV_HASH)
    return TG_EINVAL;
  for (int i = 0; i < TG_PROV_HASH; i++) {
    int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return TG_EINVAL;
    root[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

int tg_prov_ref_parse(const char *s, struct tg_prov_ref *ref, char node[TG_PROV_MAX_NODE + 1],
                      struct tg_err *err) {
  char idx[24], size[24], root[2 * TG_PROV_HASH + 1];
  memset(ref, 0, sizeof(*ref));
  if (s == NULL || field(&s, 0, node, TG_PROV_MAX_NODE + 1) || !tg_node_id_valid(node))
    return tg_err_set(err, TG_EINVAL, "entry reference: no valid node id before the first ':'");
  if (field(&s, 0, idx, sizeof(idx)) || field(&s, 0, size, sizeof(size)) ||
      number(idx, &ref->index) || number(size, &ref->tree_size))
    return tg_err_set(err, TG_EINVAL, "entry reference: the index and tree size are not numbers");
  if (ref->index >= ref->tree_size)
    return tg_err_set(err, TG_EINVAL, "entry reference: index %llu is not below tree size %llu",
                      (unsigned long long)ref->index, (unsigned long long)ref->tree_size);
  if (field(&s, 1, root, sizeof(root)) || root_hex(root, ref->root))
    return tg_err_set(err, TG_EINVAL, "entry reference: the root is not 64 lower-case hex digits");
  ref->node = node;
  return 0;
}
