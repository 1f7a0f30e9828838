/* featurise.c: literal featurisers (see featurise.h for the features and the contract). */
#include "featurise.h"

#include "err.h"
#include "jpeg.h"
#include "readers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- modality of a datatype */

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

int ft_modality(const char *dt) {
    if (!strcmp(dt, "iri") || !strcmp(dt, "blank_node")) return FT_NONE;
    if (ends_with(dt, "base64Image")) return FT_IMAGE;
    if (ends_with(dt, "wktLiteral")) return FT_WKT;
    const char *h = strrchr(dt, '#');
    if (!h || strncmp(dt, "http://www.w3.org/2001/XMLSchema#", 33)) return FT_TEXT;
    h++;
    static const char *num[] = {"integer", "decimal", "double", "float", "int", "long", "short", "byte",
                                "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
                                "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "boolean"};
    for (size_t i = 0; i < sizeof num / sizeof *num; i++)
        if (!strcmp(h, num[i])) return FT_NUMBER;
    if (!strcmp(h, "gYear") || !strcmp(h, "gYearMonth") || !strcmp(h, "date") || !strcmp(h, "dateTime"))
        return FT_DATE;
    return FT_TEXT;
}

const char *ft_modality_name(int m) {
    static const char *n[FT_N] = {"iri/blank", "text", "number", "date", "wkt", "image"};
    return m >= 0 && m < FT_N ? n[m] : "?";
}

/* ---- text: hashed words and character trigrams */

uint32_t ft_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int word_char(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80; }
static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

/* a word is a run of letters/digits (bytes >= 0x80 count as letters); trigrams run over
   each word padded with one space each side, so "ab" gives " ab" and "ab ". Word and
   trigram hashes get different salts so a 3-letter word is not its own trigram. */
void ft_text_counts(const char *s, size_t n, int dim, float *tf) {
    char w[66];
    size_t i = 0;
    while (i < n) {
        while (i < n && !word_char(lower((uint8_t)s[i]))) i++;
        size_t wn = 1;
        w[0] = ' ';
        while (i < n && word_char(lower((uint8_t)s[i]))) {
            if (wn < 64) w[wn++] = (char)lower((uint8_t)s[i]);
            i++;
        }
        if (wn == 1) break;
        w[wn] = ' ';
        uint32_t hw = ft_hash(w + 1, wn - 1) ^ 0x9e3779b9u;
        tf[hw % (uint32_t)dim] += 1;
        for (size_t k = 0; k + 3 <= wn + 1; k++) tf[ft_hash(w + k, 3) % (uint32_t)dim] += 1;
    }
}

/* ---- numbers and dates */

int ft_number(const char *s, double *v) {
    while (*s == ' ') s++;
    if (!strcmp(s, "true")) return *v = 1, 0;
    if (!strcmp(s, "false")) return *v = 0, 0;
    /* strtod also takes "inf", "nan" and hex; XSD numbers are plain decimals */
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9'))) return -1;
    for (const char *q = p; *q; q++)
        if (!strchr("0123456789.eE+- ", *q)) return -1;
    char *end;
    double x = strtod(s, &end);
    while (*end == ' ') end++;
    if (*end || !isfinite(x)) return -1;
    *v = x;
    return 0;
}

static int digits(const char *s, int n, int *v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int ft_date(const char *s, double *year, double *frac) {
    while (*s == ' ') s++;
    int neg = *s == '-';
    if (neg) s++;
    int nd = 0;
    while (s[nd] >= '0' && s[nd] <= '9') nd++;
    if (nd < 1 || nd > 9) return -1; /* XSD wants 4+ digits; real data has "216" */
    int y, mo = 1, d = 1, hh = 0, mi = 0;
    digits(s, nd, &y);
    s += nd;
    *frac = 0;
    if (*s == '-' && s[1] >= '0' && s[1] <= '9') {
        if (digits(s + 1, 2, &mo) || mo < 1 || mo > 12) return -1;
        s += 3;
        if (*s == '-') {
            if (digits(s + 1, 2, &d) || d < 1 || d > 31) return -1;
            s += 3;
            if (*s == 'T') {
                if (digits(s + 1, 2, &hh) || s[3] != ':' || digits(s + 4, 2, &mi) || hh > 24 || mi > 59) return -1;
                s += 6;
                while ((*s >= '0' && *s <= '9') || *s == ':' || *s == '.') s++;
            }
        }
    }
    /* an optional time zone: Z or +hh:mm / -hh:mm */
    if (*s == 'Z') s++;
    else if ((*s == '+' || *s == '-') && strlen(s) >= 6) s += 6;
    while (*s == ' ') s++;
    if (*s) return -1;
    static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    *frac = (cum[mo - 1] + (d - 1) + (hh * 60 + mi) / 1440.0) / 365.0;
    if (*frac > 1) *frac = 1;
    *year = neg ? -(double)y : (double)y;
    return 0;
}

double ft_year_scale(double year) { return (year - 2000.0) / 100.0; }

/* ---- WKT */

static void skip_sp(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') (*p)++;
}

static int wkt_fail(const char *msg) {
    return nl_fail("WKT: %s. Hint: geometry literals should be WKT POINT, LINESTRING, POLYGON or their MULTI forms.",
                   msg);
}

int ft_wkt(const char *s, FtGeom *g) {
    memset(g, 0, sizeof *g);
    const char *p = s;
    skip_sp(&p);
    if (*p == '<') { /* a coordinate reference system IRI first */
        const char *q = strchr(p, '>');
        if (!q) return wkt_fail("an unterminated <crs> IRI");
        p = q + 1;
        skip_sp(&p);
    }
    static const struct {
        const char *name;
        int type, ring_depth;
    } types[] = {{"MULTIPOLYGON", 3, 3}, {"MULTILINESTRING", 2, 0}, {"MULTIPOINT", 1, 0},
                 {"POLYGON", 3, 2},      {"LINESTRING", 2, 0},      {"POINT", 1, 0}};
    int t = -1;
    for (int i = 0; i < 6 && t < 0; i++) {
        size_t n = strlen(types[i].name);
        int ok = 1;
        for (size_t k = 0; k < n && ok; k++) ok = (p[k] & ~32) == types[i].name[k];
        if (ok) t = i, p += n;
    }
    if (t < 0) return wkt_fail("an unknown geometry type");
    g->type = types[t].type;
    int rd = types[t].ring_depth;
    skip_sp(&p);
    if ((*p & ~32) == 'Z' || (*p & ~32) == 'M') {
        p++;
        if ((*p & ~32) == 'M') p++;
        skip_sp(&p);
    }
    if (!strncmp(p, "EMPTY", 5) || !strncmp(p, "empty", 5)) return 0;
    /* rings: signed shoelace area and first moments, relative to the ring's first vertex */
    double A = 0, Mx = 0, My = 0, sx = 0, sy = 0;
    double ra = 0, rmx = 0, rmy = 0, x0 = 0, y0 = 0, px = 0, py = 0;
    int depth = 0, ring_in_poly = 0, rn = 0, closed = 0;
    for (;;) {
        skip_sp(&p);
        if (*p == '(') {
            if (++depth > 3) return wkt_fail("more than 3 levels of parentheses");
            if (depth == rd) ra = rmx = rmy = 0, rn = 0;
            if (depth == rd - 1) ring_in_poly = 0;
            p++;
        } else if (*p == ')') {
            if (depth == rd && rd) { /* close the ring: the edge back to the first vertex (0, 0) adds nothing */
                double a = ra / 2, sign = ring_in_poly == 0 ? 1 : -1; /* outer ring adds, holes subtract */
                if (a < 0) a = -a, rmx = -rmx, rmy = -rmy;
                A += sign * a;
                /* the ring's first moments: (first vertex) * a + (relative moments) / 6 */
                Mx += sign * (rmx / 6 + x0 * a);
                My += sign * (rmy / 6 + y0 * a);
                ring_in_poly++;
            }
            if (--depth < 0) return wkt_fail("a ')' without its '('");
            p++;
            if (depth == 0) {
                closed = 1;
                break;
            }
        } else if (*p == ',') {
            p++;
        } else if ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.') {
            if (depth == 0) return wkt_fail("coordinates outside parentheses");
            char *e;
            double x = strtod(p, &e);
            if (e == p) return wkt_fail("a malformed coordinate");
            p = e;
            skip_sp(&p);
            double y = strtod(p, &e);
            if (e == p) return wkt_fail("a coordinate without its y");
            p = e;
            skip_sp(&p);
            while ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.') { /* z, m */
                strtod(p, &e);
                if (e == p) return wkt_fail("a malformed coordinate");
                p = e;
                skip_sp(&p);
            }
            /* |coordinates| <= 1e15 (any real CRS is far below) keeps every product finite */
            if (!(fabs(x) <= 1e15 && fabs(y) <= 1e15)) return wkt_fail("a coordinate that is not finite or above 1e15");
            if (g->nvert == 1 << 30) return wkt_fail("too many vertices");
            g->nvert++;
            sx += x, sy += y;
            if (depth == rd && rd) {
                if (rn == 0) x0 = x, y0 = y, px = 0, py = 0;
                else {
                    double cx = x - x0, cy = y - y0, cr = px * cy - cx * py;
                    ra += cr;
                    rmx += (px + cx) * cr;
                    rmy += (py + cy) * cr;
                    px = cx, py = cy;
                }
                rn++;
            }
        } else {
            return wkt_fail(*p ? "an unexpected character" : "unbalanced parentheses");
        }
    }
    skip_sp(&p);
    if (!closed || *p) return wkt_fail("text after the geometry");
    if (g->nvert == 0) return wkt_fail("no coordinates");
    g->area = A > 0 ? A : 0; /* holes larger than their polygon: an invalid geometry */
    if (rd && A > 1e-300) g->cx = Mx / A, g->cy = My / A;
    else g->cx = sx / g->nvert, g->cy = sy / g->nvert;
    return 0;
}

/* ---- images */

int ft_base64(const char *s, size_t n, uint8_t **out, size_t *out_len) {
    uint8_t *o = malloc(n / 4 * 3 + 3);
    if (!o) return nl_fail("base64: out of memory. Hint: the literal is too large.");
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (uint8_t)s[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+' || c == '-') v = 62;
        else if (c == '/' || c == '_') v = 63;
        else if (c == '=') break;
        else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        else {
            free(o);
            return nl_fail("base64: an invalid character at offset %zu. Hint: image literals should be base64 "
                           "(URL-safe or standard).",
                           i);
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out = o;
    *out_len = k;
    return 0;
}

int ft_image(const char *b64, size_t n, const char *what, float *out) {
    memset(out, 0, FT_IMAGE_DIM * sizeof *out);
    uint8_t *bytes, *px = NULL;
    size_t len;
    if (ft_base64(b64, n, &bytes, &len)) return -1;
    int w = 0, h = 0, c = 0, rc;
    if (len >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) rc = jpeg_decode(bytes, len, what, &px, &w, &h, &c);
    else if (len >= 8 && bytes[0] == 0x89 && bytes[1] == 'P') rc = png_decode(bytes, len, what, &px, &w, &h, &c);
    else rc = nl_fail("%s: neither JPEG nor PNG after base64 decoding. Hint: image literals should be base64 JPEG "
                      "or PNG.",
                      what);
    free(bytes);
    if (rc) return -1;
    /* thumbnail: the mean of each cell of an 8x8 grid (cells of at least one pixel) */
    for (int ty = 0; ty < FT_THUMB; ty++)
        for (int tx = 0; tx < FT_THUMB; tx++) {
            int x0 = tx * w / FT_THUMB, x1 = (tx + 1) * w / FT_THUMB, y0 = ty * h / FT_THUMB, y1 = (ty + 1) * h / FT_THUMB;
            if (x1 <= x0) x1 = x0 + 1;
            if (y1 <= y0) y1 = y0 + 1;
            double s[3] = {0, 0, 0};
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    for (int k = 0; k < 3; k++) s[k] += px[((size_t)y * w + x) * c + (c == 3 ? k : 0)];
            double cnt = (double)(x1 - x0) * (y1 - y0) * 255.0;
            for (int k = 0; k < 3; k++) out[(ty * FT_THUMB + tx) * 3 + k] = (float)(s[k] / cnt);
        }
    float *hist = out + FT_THUMB * FT_THUMB * 3;
    size_t np = (size_t)w * h;
    for (size_t i = 0; i < np; i++)
        for (int k = 0; k < 3; k++) hist[k * FT_BINS + px[i * c + (c == 3 ? k : 0)] * FT_BINS / 256] += 1;
    for (int k = 0; k < 3 * FT_BINS; k++) hist[k] /= (float)np;
    free(px);
    return 0;
}

/* ---- the whole KG */

void kg_features_free(KgFeatures *f) {
    for (int m = 0; m < FT_N; m++) {
        free(f->node[m]);
        free(f->x[m]);
    }
    memset(f, 0, sizeof *f);
}

static void note_bad(FtReport *r, int m, int node) {
    if (r->n_bad[m]++ == 0) snprintf(r->first_bad[m], sizeof r->first_bad[m], "node %d: %s", node, nl_error());
}

/* z-scores column k of rows that are not bad (std 0 -> 0), clipped to +-5 */
static void zscore(float *x, int n, int dim, int k, const uint8_t *bad) {
    double s = 0, ss = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++)
        if (!bad[i]) s += x[(size_t)i * dim + k], cnt++;
    if (!cnt) return;
    double mu = s / cnt;
    for (int i = 0; i < n; i++)
        if (!bad[i]) ss += (x[(size_t)i * dim + k] - mu) * (x[(size_t)i * dim + k] - mu);
    double sd = sqrt(ss / cnt);
    for (int i = 0; i < n; i++) {
        float *v = &x[(size_t)i * dim + k];
        if (bad[i]) continue;
        double z = sd > 0 ? (*v - mu) / sd : 0;
        *v = (float)(z > 5 ? 5 : z < -5 ? -5 : z);
    }
}

int kg_featurise(const KG *g, int text_dim, KgFeatures *f) {
    memset(f, 0, sizeof *f);
    if (text_dim < 1 || text_dim > FT_MAX_TEXT_DIM)
        return nl_fail("featurise: text_dim %d is not in 1..%d. Hint: use a power of two such as 256.", text_dim,
                       FT_MAX_TEXT_DIM);
    int dims[FT_N] = {0, text_dim, 2, 2, 4, FT_IMAGE_DIM};
    int *mod = malloc(((size_t)g->n_dtypes + 1) * sizeof *mod);
    uint8_t *bad[FT_N] = {0}; /* per modality and row: undecodable */
    float *df = NULL;
    if (!mod) goto oom;
    for (int i = 0; i < g->n_dtypes; i++) mod[i] = ft_modality(g->dtypes[i]);
    for (int i = 0; i < g->n_nodes; i++) {
        int m = g->kind[i] == KG_LITERAL ? mod[g->dtype[i]] : FT_NONE;
        if (m == FT_NONE && g->kind[i] == KG_LITERAL) m = FT_TEXT;
        f->rep.n_lit[m]++;
    }
    for (int m = 1; m < FT_N; m++) {
        f->dim[m] = dims[m];
        f->node[m] = malloc(((size_t)f->rep.n_lit[m] + 1) * sizeof(int));
        f->x[m] = calloc((size_t)f->rep.n_lit[m] * (size_t)dims[m] + 1, sizeof(float));
        bad[m] = calloc((size_t)f->rep.n_lit[m] + 1, 1);
        if (!f->node[m] || !f->x[m] || !bad[m]) goto oom;
    }
    df = calloc((size_t)text_dim, sizeof *df);
    if (!df) goto oom;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->kind[i] != KG_LITERAL) continue;
        int m = mod[g->dtype[i]];
        if (m == FT_NONE) m = FT_TEXT;
        int r = f->n[m]++;
        f->node[m][r] = i;
        float *x = f->x[m] + (size_t)r * dims[m];
        const char *t = kg_text(g, i);
        if (m == FT_TEXT) {
            ft_text_counts(t, strlen(t), text_dim, x);
        } else if (m == FT_NUMBER) {
            double v;
            if (ft_number(t, &v)) {
                nl_fail("'%.40s' is not a number", t);
                note_bad(&f->rep, m, i), bad[m][r] = 1;
            } else {
                x[0] = (float)(fabs(v) > 1e30 ? copysign(1e30, v) : v); /* finite in float, sums finite in double */
                x[1] = (float)((v < 0 ? -1 : 1) * log1p(fabs(v)) / 10);
            }
        } else if (m == FT_DATE) {
            double y, fr;
            if (ft_date(t, &y, &fr)) {
                nl_fail("'%.40s' is not an XSD date or year", t);
                note_bad(&f->rep, m, i), bad[m][r] = 1;
            } else {
                x[0] = (float)ft_year_scale(y);
                x[1] = (float)fr;
            }
        } else if (m == FT_WKT) {
            FtGeom gm;
            if (ft_wkt(t, &gm)) note_bad(&f->rep, m, i), bad[m][r] = 1;
            else {
                x[0] = (float)gm.cx, x[1] = (float)gm.cy;
                x[2] = (float)log1p(gm.area), x[3] = (float)log1p(gm.nvert);
            }
        } else if (m == FT_IMAGE) {
            char what[48];
            snprintf(what, sizeof what, "image of node %d", i);
            if (ft_image(t, strlen(t), what, x)) note_bad(&f->rep, m, i), bad[m][r] = 1;
        }
    }
    /* second pass: z-scores over the decodable rows, then idf for the text */
    zscore(f->x[FT_NUMBER], f->n[FT_NUMBER], 2, 0, bad[FT_NUMBER]);
    zscore(f->x[FT_WKT], f->n[FT_WKT], 4, 0, bad[FT_WKT]);
    zscore(f->x[FT_WKT], f->n[FT_WKT], 4, 1, bad[FT_WKT]);
    int nt = f->n[FT_TEXT];
    for (int r = 0; r < nt; r++)
        for (int k = 0; k < text_dim; k++) df[k] += f->x[FT_TEXT][(size_t)r * text_dim + k] > 0;
    for (int k = 0; k < text_dim; k++) df[k] = (float)(log((1.0 + nt) / (1.0 + df[k])) + 1.0);
    for (int r = 0; r < nt; r++) {
        float *x = f->x[FT_TEXT] + (size_t)r * text_dim;
        double ss = 0;
        for (int k = 0; k < text_dim; k++) x[k] *= df[k], ss += (double)x[k] * x[k];
        if (ss > 0)
            for (int k = 0; k < text_dim; k++) x[k] = (float)(x[k] / sqrt(ss));
    }
    free(mod);
    for (int m = 0; m < FT_N; m++) free(bad[m]);
    free(df);
    nl_clear_error();
    return 0;
oom:
    free(mod);
    for (int m = 0; m < FT_N; m++) free(bad[m]);
    free(df);
    kg_features_free(f);
    return nl_fail("featurise: out of memory. Hint: use a smaller text_dim or a smaller dataset.");
}

void ft_report_text(const FtReport *r, char *buf, size_t cap) {
    size_t n = 0;
    if (cap) buf[0] = 0;
    for (int m = 0; m < FT_N && n < cap; m++) {
        int k = snprintf(buf + n, cap - n, "%-9s %8d literals%s", ft_modality_name(m), r->n_lit[m],
                         m == FT_NONE ? " (IRI and blank nodes: no features)\n" : "");
        if (k < 0) return;
        n += (size_t)k;
        if (m == FT_NONE || n >= cap) continue;
        k = snprintf(buf + n, cap - n, ", %d undecodable (zero vector)%s%s\n", r->n_bad[m], r->n_bad[m] ? "; first: " : "",
                     r->first_bad[m]);
        if (k < 0) return;
        n += (size_t)k;
    }
}
