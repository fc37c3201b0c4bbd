// The provider catalog folder: plain OAuth 2.0 providers defined as data, one JSON file each, with the documentation
// every fact was checked against (`sources`). A file here is a provider every deployment has; listed below so the
// build ships it, and test/shared/providers/data-providers.test.ts fails when a file in the folder is not listed.
import airtable from './airtable.json' with { type: 'json' };
import amazon from './amazon.json' with { type: 'json' };
import bitbucket from './bitbucket.json' with { type: 'json' };
import box from './box.json' with { type: 'json' };
import calendly from './calendly.json' with { type: 'json' };
import canva from './canva.json' with { type: 'json' };
import clickup from './clickup.json' with { type: 'json' };
import digitalocean from './digitalocean.json' with { type: 'json' };
import discord from './discord.json' with { type: 'json' };
import docusign from './docusign.json' with { type: 'json' };
import eventbrite from './eventbrite.json' with { type: 'json' };
import gitlab from './gitlab.json' with { type: 'json' };
import gusto from './gusto.json' with { type: 'json' };
import helpscout from './helpscout.json' with { type: 'json' };
import intercom from './intercom.json' with { type: 'json' };
import linear from './linear.json' with { type: 'json' };
import linkedin from './linkedin.json' with { type: 'json' };
import miro from './miro.json' with { type: 'json' };
import monday from './monday.json' with { type: 'json' };
import pinterest from './pinterest.json' with { type: 'json' };
import reddit from './reddit.json' with { type: 'json' };
import smartsheet from './smartsheet.json' with { type: 'json' };
import spotify from './spotify.json' with { type: 'json' };
import todoist from './todoist.json' with { type: 'json' };
import webflow from './webflow.json' with { type: 'json' };
import xTwitter from './x_twitter.json' with { type: 'json' };
import xero from './xero.json' with { type: 'json' };

export const catalogFiles: Readonly<Record<string, unknown>> = Object.freeze({
  'airtable.json': airtable,
  'amazon.json': amazon,
  'bitbucket.json': bitbucket,
  'box.json': box,
  'calendly.json': calendly,
  'canva.json': canva,
  'clickup.json': clickup,
  'digitalocean.json': digitalocean,
  'discord.json': discord,
  'docusign.json': docusign,
  'eventbrite.json': eventbrite,
  'gitlab.json': gitlab,
  'gusto.json': gusto,
  'helpscout.json': helpscout,
  'intercom.json': intercom,
  'linear.json': linear,
  'linkedin.json': linkedin,
  'miro.json': miro,
  'monday.json': monday,
  'pinterest.json': pinterest,
  'reddit.json': reddit,
  'smartsheet.json': smartsheet,
  'spotify.json': spotify,
  'todoist.json': todoist,
  'webflow.json': webflow,
  'x_twitter.json': xTwitter,
  'xero.json': xero,
});
