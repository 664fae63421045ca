/* tg_voc_conv: the streaming converter. A small scanner finds record boundaries in a
 * top-level array, a sequence of JSON values or NDJSON lines (tracking strings,
 * escapes and depth), so only one record is held at a time; each record is parsed,
 * converted with the profile and written out. Also the JSON writer it uses. */
#include "tg_voc_conv.h"
#include "tg_voc_int.h"
#include "tg_voc_prof.h"

#include "tg_buf.h"
#include "tg_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  S_START,      /* before the first value */
  S_ARR_FIRST,  /* after '[': an element or ']' */
  S_ARR_NEXT,   /* after ',': an element */
  S_ARR_AFTER,  /* after an element: ',' or ']' */
  S_SEQ,        /* between values of a sequence */
  S_VALUE,      /* inside a record */
  S_LINE,       /* NDJSON: inside a line */
  S_DONE,       /* after the closing ']' */
  S_BROKEN      /* fatal error seen */
};

enum { OUT_FLUSH = 64 * 1024, DEFAULT_MAX_RECORD = 1024 * 1024 };

struct tg_voc_conv {
  const struct tg_voc_profile *p; /* borrowed */
  int format, state, in_array;
  size_t max_record;
  tg_voc_conv_write_cb write;
  tg_voc_conv_report_cb report;
  void *ud;
  struct tg_buf rec;  /* the current record's bytes */
  struct tg_buf out;  /* output not yet written */
  struct tg_buf scratch; /* the fast path's generated values */
  int depth, in_str, esc, scalar, too_big;
  int wrote_elem;     /* array output: an element was written */
  int werr;           /* the write callback's error, once it failed */
  int bom;            /* bytes of a leading UTF-8 byte-order mark seen; 3 once decided */
  struct tg_voc_conv_stats st;
};

/* ---- JSON writer ------------------------------------------------------ */

int tg__voc_json_string(struct tg_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t start = 0, i = 0;
  /* The common case, nothing to escape: one reservation, one copy. Non-ASCII
   * bytes are copied as they are. */
  for (const char *p = s, *end = s + n;;) {
    p = tg__voc_json_plain_run(p, end);
    if (p < end && (unsigned char)*p >= 0x80) {
      p++;
      continue;
    }
    i = (size_t)(p - s);
    break;
  }
  if (i == n) {
    if (tg_buf_reserve(b, n + 2))
      return TG_ENOMEM;
    b->data[b->len] = '"';
    memcpy(b->data + b->len + 1, s, n);
    b->data[b->len + n + 1] = '"';
    b->len += n + 2;
    b->data[b->len] = '\0';
    return 0;
  }
  if (tg_buf_append(b, "\"", 1))
    return TG_ENOMEM;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    if (c == '"')
      esc = "\\\"";
    else if (c == '\\')
      esc = "\\\\";
    else if (c == '\n')
      esc = "\\n";
    else if (c == '\r')
      esc = "\\r";
    else if (c == '\t')
      esc = "\\t";
    else if (c < 0x20) {
      u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15];
      u[6] = '\0';
      esc = u;
    }
    if (esc == NULL)
      continue;
    if (tg_buf_append(b, s + start, i - start) || tg_buf_puts(b, esc))
      return TG_ENOMEM;
    start = i + 1;
  }
  if (tg_buf_append(b, s + start, n - start) || tg_buf_append(b, "\"", 1))
    return TG_ENOMEM;
  return 0;
}

static int write_real(struct tg_buf *b, double d) {
  char t[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(t, sizeof(t), "%.*g", prec, d);
    if (strtod(t, NULL) == d)
      break;
  }
  /* Keep it a real for readers that care: 3.0 stays "3.0". */
  size_t n = strlen(t);
  if (tg_buf_append(b, t, n))
    return TG_ENOMEM;
  return strspn(t, "-0123456789") == n ? tg_buf_puts(b, ".0") : 0;
}

int tg_voc_json_write(struct tg_buf *b, const json_t *v) {
  const char *k;
  json_t *x;
  size_t i;
  int first = 1;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    if (tg_buf_append(b, "{", 1))
      return TG_ENOMEM;
    json_object_foreach((json_t *)v, k, x) {
      if ((!first && tg_buf_append(b, ",", 1)) || tg__voc_json_string(b, k, strlen(k)) ||
          tg_buf_append(b, ":", 1) || tg_voc_json_write(b, x))
        return TG_ENOMEM;
      first = 0;
    }
    return tg_buf_append(b, "}", 1);
  case JSON_ARRAY:
    if (tg_buf_append(b, "[", 1))
      return TG_ENOMEM;
    json_array_foreach(v, i, x) {
      if ((i && tg_buf_append(b, ",", 1)) || tg_voc_json_write(b, x))
        return TG_ENOMEM;
    }
    return tg_buf_append(b, "]", 1);
  case JSON_STRING:
    return tg__voc_json_string(b, json_string_value(v), json_string_length(v));
  case JSON_INTEGER:
    return tg_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  case JSON_REAL:
    return write_real(b, json_real_value(v));
  case JSON_TRUE:
    return tg_buf_puts(b, "true");
  case JSON_FALSE:
    return tg_buf_puts(b, "false");
  default:
    return tg_buf_puts(b, "null");
  }
}

/* ---- output ----------------------------------------------------------- */

static int flush(struct tg_voc_conv *c) {
  if (c->werr)
    return c->werr;
  if (c->out.len == 0)
    return 0;
  int rc = c->write(c->ud, c->out.data, c->out.len);
  tg_buf_reset(&c->out);
  if (rc != 0)
    c->werr = rc < 0 ? rc : TG_EIO;
  return c->werr;
}

static void issue(struct tg_voc_conv *c, const char *reason) {
  char ptr[32];
  snprintf(ptr, sizeof(ptr), "/%zu", c->st.records);
  struct tg_voc_conv_issue is = {c->st.records, ptr, "", reason, 1};
  c->st.issues++;
  c->st.skipped++;
  if (c->report)
    c->report(c->ud, &is);
}

/* Issues from the profile get the record index put in front of their pointer. */
struct relay {
  struct tg_voc_conv *c;
};

static void relay_issue(void *ud, const struct tg_voc_conv_issue *is) {
  struct tg_voc_conv *c = ((struct relay *)ud)->c;
  char ptr[640];
  struct tg_voc_conv_issue copy = *is;
  snprintf(ptr, sizeof(ptr), "/%zu%s", c->st.records, is->pointer);
  copy.pointer = ptr;
  c->st.issues++;
  if (c->report)
    c->report(c->ud, &copy);
}

/* What goes before and after each record written: separators, counters, flushing. */
static int out_begin(struct tg_voc_conv *c) {
  return c->in_array && tg_buf_puts(&c->out, c->wrote_elem ? ",\n" : "\n") ? TG_ENOMEM : 0;
}

static int out_end(struct tg_voc_conv *c) {
  if (!c->in_array && tg_buf_append(&c->out, "\n", 1))
    return TG_ENOMEM;
  c->wrote_elem = 1;
  c->st.written++;
  return c->out.len >= OUT_FLUSH ? flush(c) : 0;
}

static int emit(struct tg_voc_conv *c, const json_t *v) {
  if (out_begin(c) || tg_voc_json_write(&c->out, v))
    return TG_ENOMEM;
  return out_end(c);
}

/* One complete record of LEN bytes at TEXT (the record buffer, or the caller's input
 * when a whole line arrived in one piece): parse, convert, write. */
static int record_text(struct tg_voc_conv *c, const char *text, size_t len) {
  json_error_t je;
  json_t *in, *out = NULL;
  char why[300];
  int rc = 0;
  if (!c->too_big && c->p->fast) {
    struct relay r = {c};
    size_t mark = c->out.len;
    if (out_begin(c))
      return TG_ENOMEM;
    int fr = tg__voc_fast_apply(c->p, text, len, c->st.records, &c->out, &c->scratch,
                                relay_issue, &r);
    if (fr == 0) {
      rc = out_end(c);
      goto done;
    }
    c->out.len = mark; /* nothing of this record stays */
    if (c->out.data)
      c->out.data[mark] = '\0';
    if (fr == TG_ENOMEM)
      return TG_ENOMEM;
    if (fr != TG__VOC_FALLBACK) {
      c->st.skipped++;
      goto done;
    }
  }
  if (c->too_big) {
    snprintf(why, sizeof(why), "record larger than %zu bytes", c->max_record);
    issue(c, why);
  } else if ((in = json_loadb(text, len, JSON_DECODE_ANY, &je)) == NULL) {
    snprintf(why, sizeof(why), "invalid JSON: %s", je.text);
    issue(c, why);
  } else if (!json_is_object(in)) {
    issue(c, "record is not a JSON object");
    json_decref(in);
  } else {
    struct relay r = {c};
    int ar = tg__voc_profile_apply_take(c->p, in, c->st.records, &out, relay_issue, &r);
    json_decref(in);
    if (ar == TG_ENOMEM) {
      rc = TG_ENOMEM;
    } else if (ar != 0) {
      c->st.skipped++;
    } else {
      rc = emit(c, out);
      json_decref(out);
    }
  }
done:
  c->st.records++;
  tg_buf_reset(&c->rec);
  c->depth = c->in_str = c->esc = c->scalar = c->too_big = 0;
  return rc;
}

static int record_done(struct tg_voc_conv *c) {
  return record_text(c, c->rec.data ? c->rec.data : "", c->rec.len);
}

static int rec_add(struct tg_voc_conv *c, const char *p, size_t n) {
  if (c->too_big)
    return 0;
  if (c->rec.len + n > c->max_record) {
    c->too_big = 1;
    tg_buf_reset(&c->rec);
    return 0;
  }
  return tg_buf_append(&c->rec, p, n);
}

static int is_ws(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

/* Scans a record from D[*I]; stops after its last byte (or at the end of D). Returns 1
 * when the record is complete, 0 when more input is needed, <0 on error. */
static int scan_value(struct tg_voc_conv *c, const char *d, size_t n, size_t *i) {
  size_t start = *i, k = *i;
  int done = 0;
  for (; k < n && !done; k++) {
    char ch = d[k];
    if (c->in_str) {
      if (c->esc)
        c->esc = 0;
      else if (ch == '\\')
        c->esc = 1;
      else if (ch == '"') {
        c->in_str = 0;
        done = c->depth == 0;
      }
    } else if (c->scalar) {
      /* A bare scalar ends at white space or a delimiter, which is not part of it. */
      if (is_ws(ch) || ch == ',' || ch == ']' || ch == '[' || ch == '{' || ch == '"') {
        done = 1;
        k--; /* reprocess the delimiter; the loop's k++ brings us back to it */
      }
    } else if (ch == '"') {
      c->in_str = 1;
    } else if (ch == '{' || ch == '[') {
      c->depth++;
    } else if (ch == '}' || ch == ']') {
      if (--c->depth <= 0)
        done = 1;
    } else if (c->depth == 0) {
      c->scalar = 1;
    }
  }
  if (rec_add(c, d + start, k - start) != 0)
    return TG_ENOMEM;
  *i = k;
  return done;
}

static int fatal(struct tg_voc_conv *c, struct tg_err *err, const char *what) {
  /* Records already converted (and counted as written) still go out. */
  flush(c);
  c->state = S_BROKEN;
  return tg_err_set(err, TG_EINVAL, "input record %zu: %s", c->st.records, what);
}

static int feed_ndjson(struct tg_voc_conv *c, const char *d, size_t n) {
  size_t i = 0;
  while (i < n) {
    const char *nl = memchr(d + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - d) : n;
    if (nl != NULL && c->rec.len == 0 && !c->too_big && end - i <= c->max_record) {
      /* The whole line is here: convert it in place, without copying. */
      const char *a = d + i, *b = d + end;
      while (a < b && is_ws(*a))
        a++;
      i = end + 1;
      if (a == b)
        continue;
      int rc = record_text(c, a, (size_t)(b - a));
      if (rc != 0)
        return rc;
      continue;
    }
    if (rec_add(c, d + i, end - i) != 0)
      return TG_ENOMEM;
    i = end;
    if (nl == NULL)
      break;
    i++;
    /* Blank lines are not records. */
    size_t len = c->rec.len;
    while (len > 0 && is_ws(c->rec.data[len - 1]))
      len--;
    size_t lead = 0;
    while (lead < len && is_ws(c->rec.data[lead]))
      lead++;
    if (len == lead && !c->too_big) {
      tg_buf_reset(&c->rec);
      continue;
    }
    int rc = record_done(c);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int tg_voc_conv_feed(struct tg_voc_conv *c, const void *data, size_t len, struct tg_err *err) {
  const char *d = data;
  size_t i = 0;
  int rc;
  if (c->state == S_BROKEN)
    return tg_err_set(err, TG_EINVAL, "converter stopped after an earlier error");
  if (c->werr)
    return c->werr;
  /* Files saved by some editors start with a byte-order mark; skip it, split or not. */
  while (c->bom < 3 && len > 0) {
    static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
    if (*d == bom[c->bom]) {
      c->bom++, d++, len--;
    } else if (c->bom > 0) {
      return fatal(c, err, "input starts with a broken byte-order mark");
    } else {
      c->bom = 3;
    }
  }
  if (c->format == TG_VOC_FMT_NDJSON) {
    rc = feed_ndjson(c, d, len);
    return rc ? rc : c->werr;
  }
  while (i < len) {
    char ch = d[i];
    switch (c->state) {
    case S_START:
    case S_SEQ:
    case S_ARR_FIRST:
    case S_ARR_NEXT:
    case S_ARR_AFTER:
    case S_DONE:
      if (is_ws(ch)) {
        i++;
        continue;
      }
      if (c->state == S_START && ch == '[') {
        c->in_array = 1;
        c->state = S_ARR_FIRST;
        if (tg_buf_append(&c->out, "[", 1))
          return TG_ENOMEM;
        i++;
        continue;
      }
      if (c->state == S_DONE)
        return fatal(c, err, "data after the end of the array");
      if (c->state == S_ARR_AFTER || (c->state == S_ARR_FIRST && ch == ']')) {
        if (ch == ',' && c->state == S_ARR_AFTER)
          c->state = S_ARR_NEXT;
        else if (ch == ']')
          c->state = S_DONE;
        else
          return fatal(c, err, "expected ',' or ']' after an array element");
        i++;
        continue;
      }
      if (ch == ',' || ch == ']' || ch == '}')
        return fatal(c, err, "unexpected delimiter where a record should start");
      c->state = S_VALUE;
      break;
    case S_VALUE:
      if ((rc = scan_value(c, d, len, &i)) < 0)
        return rc;
      if (rc == 1) {
        if (c->depth < 0)
          return fatal(c, err, "unbalanced brackets");
        if ((rc = record_done(c)) != 0)
          return rc;
        c->state = c->in_array ? S_ARR_AFTER : S_SEQ;
      }
      break;
    default:
      return fatal(c, err, "converter in a bad state");
    }
  }
  return c->out.len >= OUT_FLUSH ? flush(c) : c->werr;
}

int tg_voc_conv_finish(struct tg_voc_conv *c, struct tg_err *err) {
  int rc = 0;
  if (c->state == S_BROKEN)
    return tg_err_set(err, TG_EINVAL, "converter stopped after an earlier error");
  if (c->format == TG_VOC_FMT_NDJSON) {
    if (c->rec.len > 0 || c->too_big) {
      size_t len = c->rec.len;
      while (len > 0 && is_ws(c->rec.data[len - 1]))
        len--;
      if (len > 0 || c->too_big)
        rc = record_done(c);
    }
  } else if (c->state == S_VALUE && c->scalar && !c->in_str) {
    rc = record_done(c); /* a bare scalar ends with the input */
    c->state = c->in_array ? S_ARR_AFTER : S_SEQ;
  }
  if (rc != 0)
    return rc;
  if (c->format != TG_VOC_FMT_NDJSON) {
    if (c->state == S_VALUE) {
      issue(c, "input ends inside this record");
      c->st.records++;
      c->state = S_BROKEN;
      flush(c);
      return tg_err_set(err, TG_EINVAL, "input ends inside record %zu", c->st.records - 1);
    }
    if (c->in_array && c->state != S_DONE) {
      c->state = S_BROKEN;
      flush(c);
      return tg_err_set(err, TG_EINVAL, "input ends before the array's ']'");
    }
    if (c->in_array && tg_buf_puts(&c->out, c->wrote_elem ? "\n]\n" : "]\n"))
      return TG_ENOMEM;
  }
  return flush(c);
}

int tg_voc_conv_new(const struct tg_voc_profile *p, int format, size_t max_record,
                    tg_voc_conv_write_cb write, tg_voc_conv_report_cb report, void *ud,
                    struct tg_voc_conv **out, struct tg_err *err) {
  struct tg_voc_conv *c;
  *out = NULL;
  if (p == NULL || write == NULL || (format != TG_VOC_FMT_AUTO && format != TG_VOC_FMT_NDJSON))
    return tg_err_set(err, TG_EINVAL, "converter needs a profile, a writer and a known format");
  if ((c = calloc(1, sizeof(*c))) == NULL)
    return tg_err_set(err, TG_ENOMEM, "out of memory");
  c->p = p;
  c->format = format;
  c->state = S_START;
  c->max_record = max_record ? max_record : DEFAULT_MAX_RECORD;
  c->write = write;
  c->report = report;
  c->ud = ud;
  tg_buf_init(&c->rec);
  tg_buf_init(&c->out);
  tg_buf_init(&c->scratch);
  *out = c;
  return 0;
}

void tg_voc_conv_stats(const struct tg_voc_conv *c, struct tg_voc_conv_stats *s) { *s = c->st; }

void tg_voc_conv_free(struct tg_voc_conv *c) {
  if (c == NULL)
    return;
  tg_buf_close(&c->rec);
  tg_buf_close(&c->out);
  tg_buf_close(&c->scratch);
  free(c);
}
