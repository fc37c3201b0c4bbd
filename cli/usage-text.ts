// What `oauth-broker --help` prints: every command, every option, and how to authenticate.

export const USAGE = `Usage: oauth-broker <command> [options]

Operate an oauth-broker deployment through its admin function. Never prints a secret.

Commands:
  stats                                 connections by provider and status, and their health
  list [filters] [--all]                connections, newest first
      --tenant ID --user ID --provider NAME
      --status active|refreshing|needs_reauth|error|revoked
      --health unknown|healthy|unhealthy
      --limit N       page size, 1..200 (default 50; 200 with --all)
      --all           follow the cursor through every page
      --cursor C      start at a page's nextCursor
  inspect <connectionId>                one connection and its audit trail
  refresh <connectionId> | --all-expiring
                                        refresh one connection now, or run the refresh sweep
  health <connectionId> | --all         check one connection at its provider, or run the health sweep
  revoke <connectionId> [--yes]         revoke at the provider and destroy the credentials; asks first on a
                                        terminal, needs --yes otherwise
  rewrap [--resume JOB_ID] [--batch-size N]
                                        re-wrap every data key under the KMS key's primary version (after a
                                        rotation), with a progress bar; Ctrl-C stops after the current batch,
                                        and --resume JOB_ID carries on where it stopped

Options:
  --url URL          the admin function's URL (or ${'$'}OAUTH_BROKER_ADMIN_URL)
  --impersonate-service-account SA
                     send SA's ID token, minted for your Application Default Credentials (which need Token
                     Creator on SA); SA is Terraform's operator_service_account output
                     (or ${'$'}OAUTH_BROKER_IMPERSONATE_SERVICE_ACCOUNT)
  --id-token TOKEN   a Google ID token to send; by default one comes from Application Default Credentials
                     (a service account key, impersonation or the metadata server)
  --audience AUD     the ID-token audience the function accepts (default: the URL)
  --json             machine-readable JSON on stdout only; progress and errors go to stderr
  -h, --help         this text

Authentication: the function takes a Google ID token (sent in Authorization and X-Serverless-Authorization)
whose email is on its ADMIN_ALLOWLIST.
  As an operator:          gcloud auth application-default login
                           oauth-broker stats --url https://... --impersonate-service-account SA
                           (or --id-token "$(gcloud auth print-identity-token --impersonate-service-account=SA \\
                             --audiences=https://... --include-email)")
  With a service account:  GOOGLE_APPLICATION_CREDENTIALS=key.json oauth-broker stats --url https://...
  Against npm start:       URL=$(node -p "require('./.local/stack.json').functions.admin")
                           ADMIN=$(node -p "require('./.local/stack.json').adminUser")
                           oauth-broker stats --url "$URL" \\
                             --id-token "$(npm run -s local:id-token -- --email "$ADMIN" --audience "$URL")"

Exit codes: 0 done; 1 failed (the function's problem code is printed); 2 usage error; 130 interrupted.
`;

