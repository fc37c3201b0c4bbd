// Endpoint templates such as `https://{loginHost}/services/oauth2/token`: listing and filling their variables.
import { isHttpsOrLoopbackHttp } from '../config/loopback-url.js';

const placeholder = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** The variable names a template uses, in order of first use. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(placeholder)].map((match) => match[1] as string))];
}

/**
 * Fills a template from per-connection values. A missing variable is a caller mistake (the connection
 * config was validated against the provider's schema before this point), hence a TypeError.
 */
export function expandTemplate(template: string, values: Readonly<Record<string, unknown>>): string {
  return template.replace(placeholder, (_, name: string) => {
    const value = values[name];
    if (typeof value !== 'string' || value === '') {
      throw new TypeError(`template variable {${name}} has no value in the connection config`);
    }
    return value;
  });
}

/**
 * Whether a template, with every variable filled by a harmless stand-in, is an absolute https URL (or an http one on
 * loopback with a fixed host: a provider on this machine, such as a local OpenID peer). A template may start with a variable holding a whole base URL (SMART's `{fhirBaseUrl}`); the connection
 * config schema must then require that value to be an https URL itself.
 */
export function isSecureUrlTemplate(template: string): boolean {
  const sample = template.replace(/^\{[A-Za-z][A-Za-z0-9]*\}/, 'https://base.example').replace(placeholder, 'x');
  if (!URL.canParse(sample)) return false;
  const url = new URL(sample);
  const loopbackHttp = url.protocol === 'http:' && !/^http:\/\/[^/?#]*\{/.test(template);
  return (url.protocol === 'https:' || loopbackHttp) && isHttpsOrLoopbackHttp(url) && url.username === '' && url.password === '' && url.hash === '';
}

/** Where a variable sits in a URL template, which decides what a value may look like there. */
export type TemplatePosition = 'base_url' | 'host' | 'component';

/**
 * Each variable of a URL template with its position: `base_url` when the template opens with it (SMART's
 * `{fhirBaseUrl}/metadata`), `host` inside the authority (`https://{loginHost}/...`), else `component` (a path
 * segment or query value such as Microsoft's `{tenant}`). A variable used in two positions keeps the strictest.
 */
export function templateVariablePositions(template: string): ReadonlyMap<string, TemplatePosition> {
  const positions = new Map<string, TemplatePosition>();
  const opening = /^\{([A-Za-z][A-Za-z0-9]*)\}/.exec(template)?.[1];
  if (opening !== undefined) positions.set(opening, 'base_url');
  const rest = opening === undefined ? template : template.slice(opening.length + 2);
  const authority = opening === undefined ? (/^https:\/\/([^/?#]*)/.exec(rest)?.[1] ?? '') : '';
  for (const name of templateVariables(authority)) if (!positions.has(name)) positions.set(name, 'host');
  for (const name of templateVariables(rest)) if (!positions.has(name)) positions.set(name, 'component');
  return positions;
}
