// `npm run temporal:cli`: prints the path of the Temporal CLI, building it into the cache when needed.
import { findTemporalCli } from '../dist/src/io/temporal-cli.js';

try {
  console.log(await findTemporalCli());
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
