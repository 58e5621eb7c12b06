// Starts the fauxqs SQS emulator for raprov's tests, bound to 127.0.0.1 only.
//
// fauxqs's own entry points (cli.js, startFauxqs) always listen on 0.0.0.0;
// this launcher builds the same Fastify app through fauxqs's programmatic
// API (buildApp) and listens on loopback itself. The port is FAUXQS_PORT,
// or a free one when it is unset or 0. Once listening it prints one line,
// "FAUXQS_LISTENING <url>", and it exits when its standard input closes, so
// it never outlives the Go process that started it.
import { buildApp } from "fauxqs";

const port = Number.parseInt(process.env.FAUXQS_PORT ?? "0", 10) || 0;
const app = buildApp({ logger: process.env.FAUXQS_LOGGER === "true" });

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
