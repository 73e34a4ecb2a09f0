/* Fixed-bucket latency histogram: 100 ns buckets up to 1 s, one overflow bucket above. */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>

#define BUCKET_SECONDS 1e-7
#define BUCKETS 10000000u

struct histogram {
    uint64_t count;
    uint32_t *buckets; /* BUCKETS + 1 overflow */
};

struct histogram *histogram_new(void)
{
    struct histogram *h = xcalloc(1, sizeof *h);
    h->buckets = xcalloc(BUCKETS + 1, sizeof *h->buckets);
    return h;
}

void histogram_add(struct histogram *h, double seconds)
{
    double b = seconds / BUCKET_SECONDS;
    uint32_t i = b < 0 ? 0 : b >= BUCKETS ? BUCKETS : (uint32_t)b;
    h->buckets[i]++;
    h->count++;
}

uint64_t histogram_count(const struct histogram *h) { return h->count; }

/* Upper edge of the bucket holding the pct-th percentile, in microseconds. */
double histogram_percentile_us(const struct histogram *h, double pct)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)((pct / 100.0) * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i <= BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen > rank)
            return (double)(i + 1) * BUCKET_SECONDS * 1e6;
    }
    return (double)BUCKETS * BUCKET_SECONDS * 1e6;
}

/* Non-empty buckets as `index count` lines (100 ns each), so the runs of several loadgen
 * processes can be merged into one distribution. */
void histogram_write(const struct histogram *h, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("fopen histogram file");
    for (uint32_t i = 0; i <= BUCKETS; i++)
        if (h->buckets[i] && fprintf(f, "%u %u\n", i, h->buckets[i]) < 0)
            die("write histogram file");
    if (fclose(f) != 0)
        die("close histogram file");
}
