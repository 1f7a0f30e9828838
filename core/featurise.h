/* featurise.h: literal featurisers for knowledge graphs, run once when a KG is prepared.

   Every literal node of a KG (kg.h) is put in one modality by its datatype (ft_modality)
   and gets a fixed-size float vector:
   - FT_TEXT   (xsd:string, plain, @lang, anyURI, "none", unknown datatypes): hashed TF-IDF
               of lower-cased words and character trigrams, `text_dim` buckets (FNV-1a 32,
               so identical on every platform), smooth idf = ln((1+N)/(1+df)) + 1 over the
               KG's text literals, rows L2-normalised.
   - FT_NUMBER (xsd numeric types, boolean): [z-score over the KG's numbers, clipped to
               +-5; sign(x) log1p(|x|) / 10].
   - FT_DATE   (gYear, gYearMonth, date, dateTime): [(year - 2000) / 100; position in the
               year 0..1].
   - FT_WKT    (geosparql wktLiteral: POINT, LINESTRING, POLYGON, MULTIPOINT,
               MULTILINESTRING, MULTIPOLYGON, optional <crs> prefix and Z/M): [centroid x,
               centroid y (z-scored over the KG); log1p(area); log1p(vertex count)]. The
               area of polygons is exact (shoelace, holes subtracted), the centroid is
               area-weighted (vertex mean for points and lines).
   - FT_IMAGE  (kgbench base64Image: URL-safe or standard base64 of a JPEG or PNG): an 8x8
               RGB thumbnail (box average, 0..1) then an 8-bin histogram per channel
               (fractions), 8*8*3 + 24 = 216 values.
   IRIs and blank nodes have no features (FT_NONE).

   A literal that cannot be parsed or decoded (a bad number, a broken polygon, a truncated
   or progressive JPEG) gets a zero vector and is counted in the report with the first
   message of its modality: preparation never aborts on a bad literal. Everything is
   deterministic (fixed order, no randomness). kg_featurise fails (-1, err.h) only when
   memory runs out or text_dim is out of range. */
#ifndef NL_FEATURISE_H
#define NL_FEATURISE_H

#include "kg.h"

#include <stddef.h>
#include <stdint.h>

enum { FT_NONE = 0, FT_TEXT, FT_NUMBER, FT_DATE, FT_WKT, FT_IMAGE, FT_N };
#define FT_THUMB 8
#define FT_BINS 8
#define FT_IMAGE_DIM (FT_THUMB * FT_THUMB * 3 + 3 * FT_BINS)
#define FT_MAX_TEXT_DIM 65536

typedef struct {
    int n_lit[FT_N]; /* literals per modality (FT_NONE: IRIs and blank nodes) */
    int n_bad[FT_N]; /* of which undecodable (zero vector) */
    char first_bad[FT_N][200];
    double seconds;  /* not set by kg_featurise (clock() is the caller's business) */
} FtReport;

typedef struct {
    int dim[FT_N];
    int n[FT_N];     /* rows per modality */
    int *node[FT_N]; /* node id of each row, ascending */
    float *x[FT_N];  /* n[m] x dim[m], row-major */
    FtReport rep;
} KgFeatures;

int ft_modality(const char *dtype);
const char *ft_modality_name(int m);

/* ---- per-literal primitives (also used by the tests) */
uint32_t ft_hash(const char *s, size_t n);
/* adds the raw counts of s's hashed words and trigrams to tf[dim] */
void ft_text_counts(const char *s, size_t n, int dim, float *tf);
int ft_number(const char *s, double *v); /* 0 ok, -1 not a number; booleans 1/0 */
int ft_date(const char *s, double *year, double *frac); /* year (may be negative), 0..1 position in the year */
double ft_year_scale(double year);
typedef struct {
    double cx, cy, area;
    int nvert, type; /* type: 1 point, 2 line, 3 polygon (multi-types too) */
} FtGeom;
int ft_wkt(const char *s, FtGeom *g); /* -1 with a message (what = "WKT") */
/* base64 (either alphabet, padding optional, whitespace skipped) into a malloc'd buffer */
int ft_base64(const char *s, size_t n, uint8_t **out, size_t *out_len);
/* decodes a base64 JPEG/PNG literal into out[FT_IMAGE_DIM]; -1 with a message */
int ft_image(const char *b64, size_t n, const char *what, float *out);

/* ---- the whole KG */
int kg_featurise(const KG *g, int text_dim, KgFeatures *f);
void kg_features_free(KgFeatures *f);
/* a few lines: literals per modality, undecodable counts and the first message of each */
void ft_report_text(const FtReport *r, char *buf, size_t cap);

#endif
