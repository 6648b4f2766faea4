// `npm run temporal:server`: prints the directory of the real Temporal server build (temporal-server,
// temporal-sql-tool, schema/), building it into the cache when needed (progress on stderr).
import path from 'node:path';
import { findTemporalServer } from '../dist/src/io/temporal-server.js';

try {
  console.log(path.dirname((await findTemporalServer()).server));
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
