/* cat_obs_model: what an accumulated record must hold: an entity id, an
 * ISO 8601 observation time, and for datasets that declare a Smart Data
 * Model (dct:conformsTo) its required properties and basic types. The facts
 * are taken from catalog/models/<Model>/schema.json (CC BY 4.0, see
 * catalog/models/LICENSE.md); only required properties and declared
 * number / string / date-time types are checked. */
#include "cat_obs.h"
#include "tg_buf.h"
#include "tg_err.h"
#include "tg_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum ptype { P_NUM, P_STR, P_TIME, P_OBJ };

struct prop {
  const char *name;
  enum ptype type;
};

struct model {
  const char *name;
  const char *const *required; /* NULL-terminated */
  const struct prop *props;    /* {NULL} terminated */
  const char *const *time_keys; /* observation time, first present wins */
};

static const char *const req_water[] = {"id", "type", "location", "dateObserved", NULL};
static const char *const req_weather[] = {"id", "type", "dateObserved", "location", NULL};
static const char *const req_flood[] = {"id", "type", NULL};
static const char *const time_date[] = {"dateObserved", NULL};
static const char *const time_any[] = {"dateObserved", "observedAt", "observationDateTime", NULL};
static const char *const time_default[] = {"dateObserved", "observedAt", NULL};

static const struct prop props_water[] = {
    {"type", P_STR}, {"location", P_OBJ}, {"dateObserved", P_TIME}, {"dateObservedFrom", P_TIME},
    {"dateObservedTo", P_TIME}, {"flow", P_NUM}, {"height", P_NUM}, {"swellHeight", P_NUM},
    {"swellPeriod", P_NUM}, {"swellDirection", P_NUM}, {"waveLength", P_NUM},
    {"measuredArea", P_NUM}, {"objectArea", P_NUM}, {"objectHeightAverage", P_NUM},
    {"objectHeightMax", P_NUM}, {"objectVolume", P_NUM}, {"waterLevel", P_NUM},
    {"waterDischarge", P_NUM}, {NULL, P_NUM}};
static const struct prop props_weather[] = {
    {"type", P_STR}, {"location", P_OBJ}, {"dateObserved", P_TIME}, {"precipitation", P_NUM},
    {"solarRadiation", P_NUM}, {"directIrradiation", P_NUM}, {"diffuseIrradiation", P_NUM},
    {"dewPoint", P_NUM}, {"streamGauge", P_NUM}, {"snowHeight", P_NUM}, {"uVIndexMax", P_NUM},
    {"airTemperatureForecast", P_NUM}, {"precipitationForecast", P_NUM},
    {"airQualityIndex", P_NUM}, {"relativeHumidityForecast", P_NUM},
    {"airQualityIndexForecast", P_NUM}, {"aqiMajorPollutant", P_STR},
    {"aqiMajorPollutantForecast", P_STR}, {"airTemperatureTSA", P_OBJ}, {NULL, P_NUM}};
static const struct prop props_flood[] = {
    {"type", P_STR}, {"alertLevel", P_NUM}, {"currentLevel", P_NUM}, {"dangerLevel", P_NUM},
    {"measuredDistance", P_NUM}, {"referenceLevel", P_NUM}, {"floodLevelStatus", P_STR},
    {"stationID", P_STR}, {"observationDateTime", P_TIME}, {NULL, P_NUM}};
static const struct prop props_none[] = {{NULL, P_NUM}};
static const char *const req_none[] = {"id", NULL};

static const struct model models[] = {
    [TG_OBS_MODEL_NONE] = {NULL, req_none, props_none, time_default},
    [TG_OBS_MODEL_WATER_OBSERVED] = {"WaterObserved", req_water, props_water, time_date},
    [TG_OBS_MODEL_WEATHER_OBSERVED] = {"WeatherObserved", req_weather, props_weather, time_date},
    [TG_OBS_MODEL_FLOOD_MONITORING] = {"FloodMonitoring", req_flood, props_flood, time_any},
};

const char *tg_cat_obs_model_name(enum tg_cat_obs_model m) {
  return (unsigned)m < sizeof(models) / sizeof(models[0]) ? models[m].name : NULL;
}

/* --- the dataset document --- */

/* The IRI a conformsTo value names ({"@id": ...} or a string), or NULL. */
static const char *iri_of(const json_t *v) {
  if (json_is_string(v))
    return json_string_value(v);
  return json_string_value(json_object_get(v, "@id"));
}

/* The model an IRI names: a Smart Data Models IRI with the model's name as a
 * path segment, e.g. https://smart-data-models.github.io/
 * dataModel.Environment/WaterObserved/schema.json. */
static enum tg_cat_obs_model model_of_iri(const char *iri) {
  static const char *const hosts[] = {"https://smart-data-models.github.io/",
                                      "https://github.com/smart-data-models/",
                                      "https://raw.githubusercontent.com/smart-data-models/", NULL};
  int ok = 0;
  for (const char *const *h = hosts; *h && !ok; h++)
    ok = strncmp(iri, *h, strlen(*h)) == 0;
  if (!ok)
    return TG_OBS_MODEL_NONE;
  for (int m = 1; m < (int)(sizeof(models) / sizeof(models[0])); m++) {
    size_t n = strlen(models[m].name);
    for (const char *p = strstr(iri, models[m].name); p; p = strstr(p + 1, models[m].name))
      if (p[-1] == '/' && (p[n] == '/' || p[n] == '\0' || p[n] == '#'))
        return (enum tg_cat_obs_model)m;
  }
  return TG_OBS_MODEL_NONE;
}

static enum tg_cat_obs_model model_in(const json_t *node) {
  const json_t *v = json_object_get(node, "dct:conformsTo");
  if (!json_is_array(v))
    return iri_of(v) ? model_of_iri(iri_of(v)) : TG_OBS_MODEL_NONE;
  size_t i;
  const json_t *it;
  json_array_foreach(v, i, it) {
    if (iri_of(it) && model_of_iri(iri_of(it)) != TG_OBS_MODEL_NONE)
      return model_of_iri(iri_of(it));
  }
  return TG_OBS_MODEL_NONE;
}

/* The distributions of DOC as an array (a lone object is wrapped). */
static const json_t *dist_at(const json_t *doc, size_t i) {
  const json_t *d = json_object_get(doc, "dcat:distribution");
  if (json_is_array(d))
    return json_array_get(d, i);
  return i == 0 ? d : NULL;
}

enum tg_cat_obs_model tg_cat_obs_model_of(const json_t *doc) {
  enum tg_cat_obs_model m = model_in(doc);
  for (size_t i = 0; m == TG_OBS_MODEL_NONE && dist_at(doc, i); i++)
    m = model_in(dist_at(doc, i));
  return m;
}

/* The value of a literal that may be {"@value": ...}, an array of one, or bare. */
static const char *lit(const json_t *v) {
  if (json_is_array(v))
    v = json_array_get(v, 0);
  if (json_is_object(v))
    v = json_object_get(v, "@value");
  return json_string_value(v);
}

int tg_cat_obs_is_accumulated(const json_t *doc) {
  for (size_t i = 0; dist_at(doc, i); i++) {
    const char *m = lit(json_object_get(dist_at(doc, i), "tsunagu:mode"));
    if (m && strcmp(m, "accumulated") == 0)
      return 1;
  }
  return 0;
}

/* --- time --- */

/* N digits at *P into *OUT; advances P. 0 or TG_EINVAL. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return TG_EINVAL;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int parse_zone(const char *p, int64_t *off_ms) {
  int hh, mm;
  *off_ms = 0;
  if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')
    return 0;
  if ((p[0] != '+' && p[0] != '-') || strlen(p) != 6 || p[3] != ':')
    return TG_EINVAL;
  const char *q = p + 1;
  if (digits(&q, 2, &hh) || *q++ != ':' || digits(&q, 2, &mm) || hh > 23 || mm > 59)
    return TG_EINVAL;
  *off_ms = ((int64_t)hh * 60 + mm) * 60000 * (p[0] == '-' ? -1 : 1);
  return 0;
}

int tg_cat_obs_parse_time(const char *s, int64_t *ms) {
  int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
  const char *p = s;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d) ||
      !tg_time_date_valid(y, mo, d))
    return TG_EINVAL;
  int64_t off = 0;
  if (*p != '\0') {
    if ((*p != 'T' && *p != 't' && *p != ' ') || (p++, digits(&p, 2, &h)) || *p++ != ':' ||
        digits(&p, 2, &mi))
      return TG_EINVAL;
    if (*p == ':' && (p++, digits(&p, 2, &se)))
      return TG_EINVAL;
    if (*p == '.' || *p == ',') {
      int n = 0, dg;
      for (p++; *p >= '0' && *p <= '9'; p++, n++)
        if (n < 3)
          frac = frac * 10 + (*p - '0');
      if (n == 0)
        return TG_EINVAL;
      for (dg = n; dg < 3; dg++)
        frac *= 10;
    }
    if (h > 23 || mi > 59 || se > 60 || parse_zone(p, &off))
      return TG_EINVAL;
  }
  int64_t days = tg_time_days_from_civil(y, mo, d);
  *ms = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + frac - off;
  return 0;
}

/* --- records --- */

static void problem(json_t *errors, const char *prefix, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(json_t *errors, const char *prefix, const char *key, const char *fmt, ...) {
  char ptr[600], detail[600];
  /* RFC 6901: '~' and '/' in a key are escaped */
  struct tg_buf b;
  tg_buf_init(&b);
  tg_buf_puts(&b, prefix);
  if (key != NULL) {
    tg_buf_puts(&b, "/");
    for (const char *k = key; *k; k++)
      tg_buf_puts(&b, *k == '~' ? "~0" : *k == '/' ? "~1" : (char[2]){*k, 0});
  }
  snprintf(ptr, sizeof(ptr), "%s", b.data ? b.data : "");
  tg_buf_close(&b);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", ptr, "detail", detail));
}

static int check_type(const json_t *v, enum ptype t) {
  int64_t ms;
  switch (t) {
  case P_NUM: return json_is_number(v);
  case P_STR: return json_is_string(v);
  case P_OBJ: return json_is_object(v);
  default: return json_is_string(v) && tg_cat_obs_parse_time(json_string_value(v), &ms) == 0;
  }
}

static const char *type_word(enum ptype t) {
  switch (t) {
  case P_NUM: return "a number";
  case P_STR: return "a string";
  case P_OBJ: return "an object";
  default: return "an ISO 8601 date-time such as 2026-05-01T09:00:00Z";
  }
}

static int is_time_key(const struct model *m, const char *k) {
  for (const char *const *t = m->time_keys; *t; t++)
    if (strcmp(*t, k) == 0)
      return 1;
  return 0;
}

/* M's required properties and types; time keys only when TIMES (a bad or
 * missing time was reported already). */
static int check_model(const json_t *rec, const struct model *m, const char *prefix,
                       json_t *errors, int times) {
  int n = 0;
  for (const char *const *r = m->required; *r; r++)
    if (json_object_get(rec, *r) == NULL && strcmp(*r, "id") != 0 &&
        (times || !is_time_key(m, *r))) {
      problem(errors, prefix, *r, "required by %s", m->name ? m->name : "the node");
      n++;
    }
  for (const struct prop *p = m->props; p->name; p++) {
    const json_t *v = json_object_get(rec, p->name);
    if (v != NULL && !check_type(v, p->type) && (times || !is_time_key(m, p->name))) {
      problem(errors, prefix, p->name, "must be %s (%s)", type_word(p->type), m->name);
      n++;
    }
  }
  const char *ty = json_string_value(json_object_get(rec, "type"));
  if (m->name && ty && strcmp(ty, m->name) != 0) {
    problem(errors, prefix, "type", "must be \"%s\"", m->name);
    n++;
  }
  return n;
}

/* The observation time: the first of M's time keys present. */
static int check_time(const json_t *rec, const struct model *m, const char *prefix, json_t *errors,
                      int64_t *ms) {
  for (const char *const *k = m->time_keys; *k; k++) {
    const json_t *v = json_object_get(rec, *k);
    if (v == NULL)
      continue;
    if (json_is_string(v) && tg_cat_obs_parse_time(json_string_value(v), ms) == 0)
      return 0;
    problem(errors, prefix, *k, "%s", "must be an ISO 8601 date-time such as 2026-05-01T09:00:00Z");
    return 1;
  }
  problem(errors, prefix, m->time_keys[0], "%s",
          m->time_keys[1] ? "an observation time (dateObserved or observedAt) is required"
                          : "an observation time is required");
  return 1;
}

int tg_cat_obs_check(const json_t *rec, enum tg_cat_obs_model model, const char *prefix,
                     json_t *errors, const char **entity, int64_t *ms) {
  const struct model *m = &models[model];
  if (!json_is_object(rec)) {
    problem(errors, prefix, NULL, "%s", "a record must be a JSON object");
    return 1;
  }
  int n = 0;
  const json_t *id = json_object_get(rec, "id");
  const char *e = json_string_value(id);
  if (e == NULL || *e == '\0' || strlen(e) > TG_OBS_MAX_ENTITY) {
    problem(errors, prefix, "id", "%s",
            "every record needs an entity id: a string of 1 to 256 bytes");
    n++;
  }
  int tn = check_time(rec, m, prefix, errors, ms);
  n += tn + check_model(rec, m, prefix, errors, tn == 0);
  if (n == 0)
    *entity = e;
  return n;
}
