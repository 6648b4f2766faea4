import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findDelivered, sendSlack, slackPlainText, slackTarget } from '../../src/io/slack.js';
import { startSlackStandIn, type SlackStandIn } from '../support/slack-standin.js';

describe('Slack: finding a post that an earlier attempt delivered', () => {
  let slack: SlackStandIn;
  before(async () => {
    slack = await startSlackStandIn();
  });
  after(() => slack.close());

  it('reads the stored form back as sent: links unwrapped, entities decoded', () => {
    assert.equal(
      slackPlainText(
        'Web UI: <http://127.0.0.1:8233/x?a=1&amp;b=2> &amp; pins a&gt;=1,&lt;2 <https://y|label>',
      ),
      'Web UI: http://127.0.0.1:8233/x?a=1&b=2 & pins a>=1,<2 https://y',
    );
  });

  it('finds a failure message (link, range pins) in the channel; not one never sent; not via a webhook', async () => {
    const bot = slackTarget({ SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: slack.channel }, slack.apiUrl);
    const text =
      '[redeploy] redeploy-20261201-abc123 VERIFY failed — rolled back to omninode-claude>=0.3.0,<0.5.0\n' +
      '  Web UI: http://127.0.0.1:8233/namespaces/default/workflows/redeploy-20261201-abc123';
    assert.equal(await findDelivered(bot, text, 0), null, 'nothing posted yet');
    const sent = await sendSlack(bot, { title: 't', text, fields: {} });
    assert.ok(sent.ok);
    assert.deepEqual(await findDelivered(bot, text, 0), { ts: sent.ts });
    assert.equal(await findDelivered(bot, `${text} (another)`, 0), null);
    const webhook = slackTarget({ SLACK_WEBHOOK_URL: slack.webhookUrl });
    assert.equal(await findDelivered(webhook, text, 0), undefined, 'a webhook cannot be asked');
  });
});
