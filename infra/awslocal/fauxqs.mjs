// Starts the fauxqs SQS emulator for raprov's tests, bound to 127.0.0.1 only.
//
// fauxqs's own entry points (cli.js, startFauxqs) always listen on 0.0.0.0;
// this launcher builds the same Fastify app through fauxqs's programmatic
// API (buildApp) and listens on loopback itself. The port is FAUXQS_PORT,
// or a free one when it is unset or 0. Once listening it prints one line,
// "FAUXQS_LISTENING <url>", and it exits when its standard input closes, so
// it never outlives the Go process that started it.
//
// fauxqs's S3 (path-style, on the same endpoint) ignores the conditional
// headers of writes. The launcher adds S3's rules for them, checked and
// applied in one turn of the event loop (so concurrent writes cannot both
// pass): PutObject and CopyObject with If-None-Match: * (412 when the key
// exists) or If-Match: <etag> (404 when it does not, 412 when it differs),
// CopyObject with x-amz-copy-source-if-match (412), and DeleteObject with
// If-Match (404 when missing, 412 when it differs). It imports fauxqs's
// S3Store by path (the package exports only buildApp) from the pinned
// version in this launcher's node_modules.
import { buildApp } from "fauxqs";
import { S3Store } from "./node_modules/fauxqs/dist/s3/s3Store.js";

const port = Number.parseInt(process.env.FAUXQS_PORT ?? "0", 10) || 0;
const s3Store = new S3Store();
const app = buildApp({ logger: process.env.FAUXQS_LOGGER === "true", stores: { s3Store } });

const unquote = (etag) => String(etag ?? "").trim().replace(/^W\//, "").replaceAll('"', "");

function s3Object(bucket, key) {
  try {
    return s3Store.headObject(bucket, key);
  } catch {
    return undefined; // no such key (or bucket: the handler says which)
  }
}

// conditionFailure returns S3's answer to a conditional write that must
// not happen, or undefined.
function conditionFailure(request) {
  if (request.routeOptions?.url !== "/:bucket/*") return undefined;
  const method = request.method;
  if (method !== "PUT" && method !== "DELETE") return undefined;
  const bucket = request.params.bucket;
  const key = request.params["*"] ?? "";
  const query = request.query ?? {};
  if (!key || "renameObject" in query || "uploadId" in query || "lifecycle" in query) return undefined;
  const h = request.headers;
  const obj = s3Object(bucket, key);
  if (method === "PUT" && h["x-amz-copy-source-if-match"] !== undefined) {
    const raw = decodeURIComponent(String(h["x-amz-copy-source"] ?? "")).replace(/^\//, "");
    const slash = raw.indexOf("/");
    const src = slash < 0 ? undefined : s3Object(raw.slice(0, slash), raw.slice(slash + 1).split("?")[0]);
    if (src && unquote(src.etag) !== unquote(h["x-amz-copy-source-if-match"])) {
      return [412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"];
    }
  }
  if (method === "PUT" && h["if-none-match"] !== undefined) {
    if (String(h["if-none-match"]).trim() !== "*") {
      return [501, "NotImplemented", "If-None-Match accepts only *"];
    }
    if (obj) return [412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"];
  }
  if (h["if-match"] !== undefined) {
    if (!obj) return [404, "NoSuchKey", "The specified key does not exist."];
    const want = String(h["if-match"]).trim();
    if (want !== "*" && unquote(obj.etag) !== unquote(want)) {
      return [412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"];
    }
  }
  return undefined;
}

// Synchronous: the check and the route's handler (synchronous too) run in
// one turn of the event loop.
app.addHook("preHandler", (request, reply, done) => {
  const failure = conditionFailure(request);
  if (!failure) {
    done();
    return;
  }
  const [status, code, message] = failure;
  reply
    .code(status)
    .header("content-type", "application/xml")
    .send(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><HostId>fauxqs</HostId></Error>`);
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await app.close();
  } finally {
    process.exit(0);
  }
}
process.stdin.on("end", stop);
process.stdin.on("error", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

const address = await app.listen({ port, host: "127.0.0.1" });
process.stdout.write(`FAUXQS_LISTENING ${address}\n`);
