/* make_jpeg_seeds.c: writes the JPEG fixtures of tests/fuzz/seeds/fuzz_jpeg/ with libjpeg(-turbo)
   and tests/c/jpeg_ref.h, libjpeg's own decoding of them (islow IDCT, no fancy upsampling: the
   same pixel replication as core/jpeg.c), so test_kg checks core/jpeg.c against an independent
   decoder. Not part of the build (it needs libjpeg-dev); run from the repo root:
     gcc tests/fuzz/seeds/make_jpeg_seeds.c -ljpeg -o /tmp/mk && /tmp/mk */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */

typedef struct {
    const char *name;
    int w, h, comps, hs, vs, progressive, restart_rows, quality;
} Spec;

static const Spec specs[] = {
    {"gray", 16, 16, 1, 1, 1, 0, 0, 90},        {"rgb444_restart", 24, 16, 3, 1, 1, 0, 1, 85},
    {"rgb420_odd", 33, 17, 3, 2, 2, 0, 0, 75},  {"rgb422", 32, 16, 3, 2, 1, 0, 0, 95},
    {"progressive", 16, 16, 3, 2, 2, 1, 0, 80},
};

static void encode(const Spec *s, unsigned char **out, unsigned long *n) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, out, n);
    c.image_width = (JDIMENSION)s->w, c.image_height = (JDIMENSION)s->h, c.input_components = s->comps;
    c.in_color_space = s->comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, s->quality, TRUE);
    c.optimize_coding = FALSE;
    if (s->comps == 3) c.comp_info[0].h_samp_factor = s->hs, c.comp_info[0].v_samp_factor = s->vs;
    if (s->progressive) jpeg_simple_progression(&c);
    c.restart_in_rows = s->restart_rows;
    c.write_JFIF_header = TRUE;
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)s->w * s->comps);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < s->w; x++) {
            int d = (x - s->w / 2) * (x - s->w / 2) + (y - s->h / 2) * (y - s->h / 2);
            unsigned char px[3] = {(unsigned char)(x * 255 / s->w), (unsigned char)(y * 255 / s->h),
                                   (unsigned char)(d < s->w * s->h / 8 ? 230 : (x * y) & 63)};
            for (int k = 0; k < s->comps; k++) row[x * s->comps + k] = s->comps == 1 ? (unsigned char)((px[0] + px[2]) / 2) : px[k];
        }
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
}

int main(void) {
    FILE *h = fopen("tests/c/jpeg_ref.h", "w");
    fprintf(h, "/* jpeg_ref.h: made by tests/fuzz/seeds/make_jpeg_seeds.c (libjpeg's decoding of the fixtures). */\n");
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        const Spec *s = &specs[i];
        unsigned char *buf = NULL;
        unsigned long n = 0;
        encode(s, &buf, &n);
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/seeds/fuzz_jpeg/%s.jpg", s->name);
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        if (s->progressive) {
            free(buf);
            continue;
        }
        struct jpeg_decompress_struct d;
        struct jpeg_error_mgr e;
        d.err = jpeg_std_error(&e);
        jpeg_create_decompress(&d);
        jpeg_mem_src(&d, buf, n);
        jpeg_read_header(&d, TRUE);
        d.do_fancy_upsampling = FALSE;
        d.dct_method = JDCT_ISLOW;
        jpeg_start_decompress(&d);
        int rs = (int)d.output_width * d.output_components;
        unsigned char *px = malloc((size_t)rs * d.output_height);
        while (d.output_scanline < d.output_height) {
            JSAMPROW r = px + (size_t)d.output_scanline * rs;
            jpeg_read_scanlines(&d, &r, 1);
        }
        fprintf(h, "static const unsigned char ref_%s[%d] = {", s->name, rs * s->h);
        for (int k = 0; k < rs * s->h; k++) fprintf(h, "%s%d,", k % 32 ? "" : "\n    ", px[k]);
        fprintf(h, "};\n");
        jpeg_finish_decompress(&d);
        jpeg_destroy_decompress(&d);
        free(px);
        free(buf);
    }
    fclose(h);
    return 0;
}
