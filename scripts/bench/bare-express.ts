/**
 * The baseline of the single-send benchmark: a bare Express 5 app that parses the same JSON body as
 * POST /v1/messages and answers 202, with no Redis. Prints its port on stdout.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';

const app = express();
app.use(express.json({ limit: '64kb' }));
let n = 0;
app.post('/v1/messages', (req, res) => {
  n++;
  res.status(202).json({ id: `msg_${n}`, status: 'queued', from: (req.body as { from?: number }).from ?? null });
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
