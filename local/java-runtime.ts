// Finds a Java runtime and checks it is new enough to run Google's emulator JARs.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './executable-lookup.js';

const execFileAsync = promisify(execFile);

export interface JavaRuntime {
  readonly command: string;
  readonly majorVersion: number;
}

const installHint = 'Install one with `apt-get install openjdk-17-jre-headless` (or newer), or set JAVA_HOME.';

/** Reads the major version from `java -version` output: "17.0.15" → 17, legacy "1.8.0_392" → 8. */
export function parseJavaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** JAVA_HOME wins over PATH, as in Google's own emulator scripts. Throws with an install hint. */
export async function findJavaRuntime(
  env: Readonly<Record<string, string | undefined>>,
  minimumMajorVersion: number,
): Promise<JavaRuntime> {
  const fromHome = env.JAVA_HOME ? await findExecutable(join(env.JAVA_HOME, 'bin', 'java'), undefined) : undefined;
  const command = fromHome ?? (await findExecutable('java', env.PATH));
  if (command === undefined) {
    throw new Error(
      `Java ${minimumMajorVersion}+ is needed to run the Firestore emulator, but no \`java\` was found ` +
        `(JAVA_HOME ${env.JAVA_HOME ? `= ${env.JAVA_HOME} has no bin/java` : 'is unset'}, and none on PATH). ${installHint}`,
    );
  }
  let output: string;
  try {
    // `java -version` writes to stderr by long tradition.
    const { stdout, stderr } = await execFileAsync(command, ['-version'], { timeout: 30_000 });
    output = `${stderr}${stdout}`;
  } catch (error) {
    throw new Error(`Could not run \`${command} -version\`. ${installHint}`, { cause: error });
  }
  const majorVersion = parseJavaMajorVersion(output);
  if (majorVersion === undefined) {
    throw new Error(`Could not read the Java version from \`${command} -version\`: ${output.trim().split('\n')[0]}`);
  }
  if (majorVersion < minimumMajorVersion) {
    throw new Error(
      `The Firestore emulator needs Java ${minimumMajorVersion} or newer, but ${command} is Java ${majorVersion}. ${installHint}`,
    );
  }
  return { command, majorVersion };
}
