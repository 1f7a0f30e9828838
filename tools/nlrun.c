/* nlrun.c: the native engine driver. Runs one config through the same C API as
   the WASM build and prints JSON lines (progress, epochs, result) on stdout, for
   `noisylab train --engine native` and the benchmarks.

   usage: nlrun "<config>" [train.shard test.shard]
          nlrun "<config>" ind.cora.x ind.cora.y ... (graph datasets: the eight
          Planetoid files, in any order; the core tells them apart by name)
          nlrun "<config>" aifb_stripped.nt.gz trainingSet.tsv testSet.tsv (knowledge
          graphs: their raw files, likewise by name; a kgbench folder's 5 or 6 CSVs) */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "noisylab.h"

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: nlrun \"<config>\" [train.shard test.shard | graph files...]\n");
        return 2;
    }
    NlRun *r = nl_run_new(argv[1]);
    if (!r) {
        fprintf(stderr, "%s\n", nl_last_error());
        return 2;
    }
    /* two files: the train and test shards of an image dataset; any other
       number: graph files, all handed over as split 0 */
    int nfiles = argc - 2;
    for (int i = 0; i < nfiles; i++) {
        int split = nfiles == 2 ? i : 0;
        size_t len;
        unsigned char *buf = slurp(argv[2 + i], &len);
        if (!buf) {
            fprintf(stderr, "cannot read %s. Hint: run `npm run prepare-data`, or check the path.\n", argv[2 + i]);
            return 1;
        }
        int rc = nl_run_add_shard(r, split, buf, (uint32_t)len, argv[2 + i]);
        free(buf);
        if (rc < 0) {
            fprintf(stderr, "%s\n", nl_last_error());
            return 1;
        }
    }
    double t0 = now();
    if (nl_run_start(r) < 0) {
        fprintf(stderr, "%s\n", nl_last_error());
        return 1;
    }
    printf("{\"type\":\"start\",\"isa\":\"%s\",\"progress\":%s}\n", nl_isa(), nl_run_progress_json(r));
    int st;
    do {
        st = nl_run_step(r, 10);
        if (st < 0) {
            fprintf(stderr, "%s\n", nl_last_error());
            return 1;
        }
        printf("{\"type\":\"progress\",\"seconds\":%.3f,\"progress\":%s}\n", now() - t0, nl_run_progress_json(r));
        if (st != NL_TRAINING) printf("{\"type\":\"epoch\",\"seconds\":%.3f,\"epoch\":%s}\n", now() - t0, nl_run_epoch_json(r, -1));
        fflush(stdout);
    } while (st != NL_DONE && st != NL_DIVERGED);
    printf("{\"type\":\"result\",\"seconds\":%.3f,\"result\":%s}\n", now() - t0, nl_run_result_json(r));
    nl_run_free(r);
    return 0;
}
