// Fresh values shaped like every kind of secret the broker handles, for tests of the log redaction.
import { randomBytes } from 'node:crypto';

export function credentialSamples() {
  return {
    slackBot: `xoxb-${'1234567890'}-${'0987654321'}-${randomBytes(12).toString('hex')}`,
    slackRefresh: `xoxe-1-${randomBytes(30).toString('base64url')}`,
    googleAccess: `ya29.${randomBytes(40).toString('base64url')}`,
    googleRefresh: `1//0${randomBytes(40).toString('base64url')}`,
    github: `ghu_${randomBytes(18).toString('hex').slice(0, 36)}`,
    jwt: `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"sub":"a"}').toString('base64url')}.${randomBytes(64).toString('base64url')}`,
    opaque: randomBytes(32).toString('base64url'),
    trello: randomBytes(32).toString('hex'),
    code: `4/0A${randomBytes(24).toString('base64url')}`,
    state: randomBytes(32).toString('base64url'),
    verifier: randomBytes(48).toString('base64url'),
    dataKey: randomBytes(32).toString('base64'),
  };
}
