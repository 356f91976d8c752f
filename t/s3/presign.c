/*
 * presign: a tiny command-line front end to cxb_s3_presign() for the live
 * check (t/s3/presign-check.sh).  Prints one presigned URL.
 *
 *   presign [-m METHOD] [-x EXPIRES] [-n NOW] [-V] [-R]
 *           ENDPOINT BUCKET REGION ACCESS_KEY KEY
 *
 * The secret key comes from the environment variable CXB_S3_SECRET_KEY, so
 * it never shows in a process list.  -V signs virtual-host style; -R takes
 * KEY as a recording reference (s3://..., http(s)://..., or a bare key) and
 * resolves it with cxb_s3_ref_to_key() first.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cxb_sigv4.h"


static void
usage(void)
{
    fprintf(stderr, "usage: presign [-m METHOD] [-x EXPIRES] [-n NOW] [-V] "
                    "[-R] ENDPOINT BUCKET REGION ACCESS_KEY KEY\n"
                    "       (secret key in $CXB_S3_SECRET_KEY)\n");
    exit(2);
}


int
main(int argc, char **argv)
{
    int          c, ref, rc;
    long         expires;
    char        *end;
    int64_t      now;
    cxb_buf_t    url, key;
    cxb_s3_t     s3;
    const char  *method, *k;

    method = "GET";
    expires = 3600;
    now = (int64_t) time(NULL);
    ref = 0;

    memset(&s3, 0, sizeof(s3));

    while ((c = getopt(argc, argv, "m:x:n:VR")) != -1) {
        switch (c) {

        case 'm':
            method = optarg;
            break;

        case 'x':
            expires = strtol(optarg, &end, 10);

            if (*optarg == '\0' || *end != '\0') {
                usage();
            }

            break;

        case 'n':
            now = strtoll(optarg, &end, 10);

            if (*optarg == '\0' || *end != '\0') {
                usage();
            }

            break;

        case 'V':
            s3.virtual_style = 1;
            break;

        case 'R':
            ref = 1;
            break;

        default:
            usage();
        }
    }

    if (argc - optind != 5) {
        usage();
    }

    s3.endpoint = argv[optind];
    s3.bucket = argv[optind + 1];
    s3.region = argv[optind + 2];
    s3.access_key = argv[optind + 3];
    s3.secret_key = getenv("CXB_S3_SECRET_KEY");

    if (s3.secret_key == NULL) {
        fprintf(stderr, "presign: CXB_S3_SECRET_KEY is not set\n");
        return 2;
    }

    cxb_buf_init(&url);
    cxb_buf_init(&key);

    k = argv[optind + 4];

    if (ref) {
        if (cxb_s3_ref_to_key(&key, &s3, k, strlen(k)) != 0) {
            fprintf(stderr, "presign: reference not in this bucket\n");
            cxb_buf_free(&key);
            return 1;
        }

        rc = cxb_s3_presign(&url, &s3, method, key.data, key.len, now,
                            expires);

    } else {
        rc = cxb_s3_presign(&url, &s3, method, k, strlen(k), now, expires);
    }

    if (rc != 0 || cxb_buf_cstr(&url) == NULL) {
        fprintf(stderr, "presign: cannot sign\n");
        cxb_buf_free(&url);
        cxb_buf_free(&key);
        return 1;
    }

    printf("%s\n", url.data);

    cxb_buf_free(&url);
    cxb_buf_free(&key);

    return 0;
}
