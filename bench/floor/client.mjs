// The floor's client: start the floor workflow and wait for its result, as a fresh process (like the CLI).
// usage: node client.mjs ADDRESS TASK_QUEUE WORKFLOW_ID INPUT_JSON
import process from 'node:process';
import { Client, Connection } from '@temporalio/client';

const [address, taskQueue, workflowId, input] = process.argv.slice(2);
const connection = await Connection.connect({ address });
const client = new Client({ connection });
const result = await client.workflow.execute('floorRedeploy', {
  taskQueue,
  workflowId,
  args: [JSON.parse(input)],
});
await connection.close();
process.stdout.write(`${result}\n`);
