'use strict';

// Starts @20minutes/s3rver 4.0.4 for t/s3/presign-check.sh:
//
//   CXB_S3_ACCESS_KEY=... CXB_S3_SECRET_KEY=... node t/s3/s3rver.js DIR BUCKET
//
// Listens on 127.0.0.1, port $CXB_S3_PORT (default 0: any free port), with
// BUCKET created in the data directory DIR, and prints "ready PORT" once it
// accepts connections.  s3rver only knows one built-in key pair
// (S3RVER/S3RVER) and has no option for others, so the built-in pair is
// revoked and ours registered on its account model; signatures are checked
// (allowMismatchedSignatures stays false).  Requests without any signature
// are still served as anonymous, like a public bucket.
//
// One shim: s3rver's router (path-to-regexp "/:bucket/:key*") cannot match
// an empty path segment, so keys such as "a//b" answer 404 before any
// signature check, although S3 allows them.  Each empty segment is rewritten
// to "%00" before routing and the NUL removed from the decoded key param
// again, so the signature is checked over the true key ("/bucket/a//b").
// Its filesystem store still maps "a//b" and "a/b" to one file.
//
// The package is looked up in $CXB_S3RVER_DIR, else in .deps/s3rver of the
// repository (npm install --prefix .deps/s3rver @20minutes/s3rver@4.0.4).

const path = require('path');

const pkg =
  process.env.CXB_S3RVER_DIR ||
  path.join(__dirname, '../../.deps/s3rver/node_modules/@20minutes/s3rver');

const S3rver = require(pkg);
const AWSAccount = require(path.join(pkg, 'lib/models/account'));

const [directory, bucket] = process.argv.slice(2);
const accessKey = process.env.CXB_S3_ACCESS_KEY;
const secretKey = process.env.CXB_S3_SECRET_KEY;

if (!directory || !bucket || !accessKey || !secretKey) {
  console.error(
    'usage: CXB_S3_ACCESS_KEY=.. CXB_S3_SECRET_KEY=.. s3rver.js DIR BUCKET',
  );
  process.exit(2);
}

AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

const router = require(path.join(pkg, 'lib/routes'));

router.param('key', (key, ctx, next) => {
  ctx.params.key = key.replace(/\0/g, '');
  return next();
});

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(process.env.CXB_S3_PORT || 0),
  directory,
  silent: !process.env.CXB_S3_VERBOSE,
  serviceEndpoint: 'localhost',
  allowMismatchedSignatures: false,
  configureBuckets: [{ name: bucket }],
});

server.middleware.unshift((ctx, next) => {
  const [bucketPart, ...rest] = ctx.path.slice(1).split('/');
  const key = rest.join('/');
  if (key.includes('//') || key.startsWith('/')) {
    // empty segments before the last one: "a//b", "/x"
    const last = rest.pop();
    ctx.path =
      '/' +
      [bucketPart, ...rest.map((seg) => seg || '%00'), last].join('/');
  }
  return next();
});

server.run().then(
  (address) => {
    process.stdout.write(`ready ${address.port}\n`);
  },
  (err) => {
    console.error(`s3rver: ${err.message}`);
    process.exit(1);
  },
);

// exit with the check script even when it dies without cleaning up
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) {
    process.exit(0);
  }
}, 500).unref();

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  });
}
