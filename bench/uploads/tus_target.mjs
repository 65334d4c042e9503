// The reference: @tus/server with its FileStore (the tus project's Node
// server), in its own process so its RSS is its own. usage: node
// tus_target.mjs PORT DIR — prints "listening PORT" when ready.
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const [port, dir] = process.argv.slice(2);
const server = new Server({ path: '/files', datastore: new FileStore({ directory: dir }) });
const s = server.listen({ host: '127.0.0.1', port: Number(port) }, () => {
  process.stdout.write(`listening ${s.address().port}\n`);
});
