# Inputs of the broker's deployment. Everything security-relevant defaults to the closed position.

variable "project_id" {
  description = "Google Cloud project that hosts the broker."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "region" {
  description = "Region for the functions, the scheduler jobs, the KMS key ring and the source bucket."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name_prefix" {
  description = "Prefix of every name the broker's resources get (functions, service accounts, secrets, the source bucket, the key ring, scheduler jobs, metrics): 3-18 characters."
  type        = string
  default     = "oauth-broker"

  # The tightest name derived from it is a service account id (6-30 characters, ^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$),
  # and the longest of those is "<prefix>-connections", 12 characters more: so 18. Everything else (Cloud Run
  # service names up to 49, secret ids, the bucket "<project>-<prefix>-source" up to 63) has room to spare;
  # test/terraform/name-prefix.test.ts evaluates every derived name at the longest prefix allowed here.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,16}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-18 characters (at most 18, so that \"<prefix>-connections\" fits the 30 characters of a service account id): lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }

  # Cloud Storage refuses bucket names containing "google", and the source bucket's name carries the prefix.
  validation {
    condition     = !strcontains(var.name_prefix, "google")
    error_message = "name_prefix must not contain \"google\": the source bucket's name carries it, and Cloud Storage refuses such names."
  }
}

variable "firestore_location" {
  description = "Firestore location (a multi-region like eur3/nam5 or a region). Cannot change after creation."
  type        = string
  default     = "eur3"
}

variable "firestore_database_id" {
  description = "Firestore database id. \"(default)\" unless the project already uses its default database for something else."
  type        = string
  default     = "(default)"

  validation {
    condition     = var.firestore_database_id == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.firestore_database_id))
    error_message = "firestore_database_id must be \"(default)\" or 4-63 lowercase letters, digits and hyphens."
  }
}

variable "kms_key_rotation_days" {
  description = "Days between automatic rotations of the token-sealing key. New seals use the new primary version at once; re-wrap moves old records."
  type        = number
  default     = 90

  validation {
    condition     = var.kms_key_rotation_days >= 1 && var.kms_key_rotation_days <= 365 && floor(var.kms_key_rotation_days) == var.kms_key_rotation_days
    error_message = "kms_key_rotation_days must be a whole number of days between 1 and 365."
  }
}

variable "kms_protection_level" {
  description = "SOFTWARE or HSM for the token-sealing key's versions."
  type        = string
  default     = "SOFTWARE"

  validation {
    condition     = contains(["SOFTWARE", "HSM"], var.kms_protection_level)
    error_message = "kms_protection_level must be SOFTWARE or HSM."
  }
}

variable "providers_enabled" {
  description = <<-EOT
    OAuth providers by name (e.g. slack, google, microsoft). Terraform creates a Secret Manager secret for
    each one's client secret; the functions read it only once the value is true. Add a provider with false,
    apply, add a secret version, then set it to true and apply again: a function cannot deploy against a
    secret that has no version yet.
  EOT
  type        = map(bool)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.providers_enabled) : can(regex("^[a-z][a-z0-9_]{1,39}$", name))])
    error_message = "provider names must be provider ids as the broker knows them: 2-40 lowercase letters, digits and underscores, starting with a letter."
  }
}

variable "provider_client_ids" {
  description = "The OAuth client id of each provider in providers_enabled (not a secret; the secret goes to Secret Manager)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.provider_client_ids) : length(trimspace(id)) > 0])
    error_message = "provider_client_ids values must not be empty."
  }
}

variable "caller_policy" {
  description = <<-EOT
    Which caller service accounts may do what (CALLER_POLICY): a list of rules
    { serviceAccount = "…@….iam.gserviceaccount.com", tenants = "*" or [...], providers = "*" or [...],
    actions = [any of "connect", "manage_connections", "read_token", "call_api"], api = { <provider> = ["GET /path/*", ...] } }
    (api with call_api only: the provider API calls the proxy may make, see docs/proxy.md). Deny by default: IAM lets a
    caller reach a function, this policy decides what it may do there. The functions validate it again at start-up.
  EOT
  # `any`: tenants and providers are "*" in one rule and a list in another, which no single object type allows.
  type    = any
  default = []

  validation {
    condition = can([
      for rule in var.caller_policy : regex("^[^@\\s]+@[^@\\s]+$", rule.serviceAccount)
      ]) && alltrue([
      for rule in var.caller_policy : can(rule.actions) && alltrue([for action in rule.actions : contains(["connect", "manage_connections", "read_token", "call_api"], action)])
    ])
    error_message = "caller_policy must be a list of rules with a serviceAccount email and actions among connect, manage_connections, read_token and call_api."
  }
}

variable "caller_quotas" {
  description = <<-EOT
    Request quotas on authorize, token and connections (CALLER_QUOTAS; see docs/deployment.md, "Quotas"), counted per
    function instance: per function { perCaller = { requests, perSeconds }, perTenant = { requests, perSeconds } },
    plus callers = { "<service account email>" = "unlimited" or per-function rates } and tenants = { "<tenant id>" =
    per-function rates }. Over a quota a request gets 429 with Retry-After. Empty: no quotas.
  EOT
  # `any`: a caller is "unlimited" in one entry and an object of rates in another, which no single object type allows.
  type    = any
  default = {}

  validation {
    condition     = can(keys(var.caller_quotas)) && alltrue([for key in keys(var.caller_quotas) : contains(["authorize", "token", "connections", "callers", "tenants"], key)])
    error_message = "caller_quotas must be an object with any of authorize, token, connections (each { perCaller, perTenant }), callers and tenants."
  }
}

variable "oidc_providers" {
  description = <<-EOT
    Standards-compliant OpenID providers added from their issuer alone (OIDC_PROVIDERS, see docs/providers.md):
    a list of { id, displayName, issuer, scopes (optional), clientAuthentication (optional) }. Enable each one in
    providers_enabled and give its client id in provider_client_ids like any other provider.
  EOT
  type        = any
  default     = []
}

variable "oauth2_providers" {
  description = <<-EOT
    Plain OAuth 2.0 providers defined entirely as data (OAUTH2_PROVIDERS, see docs/providers.md, "Plain OAuth 2.0
    providers as data"): a list of { id, displayName, authorizationUrl, tokenUrl, scopes, pkce, clientAuthentication,
    tokenRequest, authorizationParams, refresh, whenNoExpiresIn, revocation, identity }, validated by the functions at
    start. Enable each one in providers_enabled and give its client id in provider_client_ids like any other provider.
  EOT
  type        = any
  default     = []
}

variable "provider_endpoint_allowlist" {
  description = <<-EOT
    Per client registration, where connections may point the broker (PROVIDER_ENDPOINT_ALLOWLIST): a map of provider
    id to { issuers = exact FHIR base URLs / issuers a connection may name, origins = further https origins their
    discovered endpoints may sit on }. SMART on FHIR needs its servers here: a fhirBaseUrl not listed is refused
    before any request, so the client secret only ever reaches servers the client is registered with.
  EOT
  type = map(object({
    issuers = optional(list(string), [])
    origins = optional(list(string), [])
  }))
  default = {}

  validation {
    condition = alltrue(flatten([
      for id, entry in var.provider_endpoint_allowlist : concat(
        [can(regex("^[a-z][a-z0-9_]{1,39}$", id))],
        [for issuer in entry.issuers : can(regex("^https://[^/?#@\\s]+(/[^?#\\s]*[^/?#\\s])?$", issuer))],
        [for origin in entry.origins : can(regex("^https://[^/?#@\\s]+$", origin))],
      )
    ]))
    error_message = "provider_endpoint_allowlist keys must be provider ids; issuers https URLs without query, fragment or trailing slash; origins https origins."
  }
}

variable "admin_allowlist" {
  description = "Operator emails the admin function accepts (ADMIN_ALLOWLIST) besides the operator service account, which is always on it; for people signing in through IAP. Empty: only the operator service account."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.admin_allowlist : can(regex("^[^@\\s,]+@[^@\\s,]+\\.[^@\\s,]+$", email))])
    error_message = "admin_allowlist entries must be email addresses."
  }
}

variable "iap_audience" {
  description = <<-EOT
    The audience of Identity-Aware Proxy's signed header when IAP fronts the admin function (IAP_AUDIENCE):
    /projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID for a load balancer's backend service (see the
    backend service's IAP page, "Get JWT audience code"). Empty: no IAP, operators call admin with IAM, and
    IAP assertions are refused.
  EOT
  type        = string
  default     = ""

  validation {
    condition     = var.iap_audience == "" || can(regex("^/projects/[0-9]+/(global/backendServices/[0-9]+|apps/[a-z][a-z0-9-]{4,28}[a-z0-9])$", var.iap_audience))
    error_message = "iap_audience must be empty or /projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID (or /projects/PROJECT_NUMBER/apps/PROJECT_ID)."
  }
}

variable "edge" {
  description = <<-EOT
    An optional edge in front of the public connect pages (the start step and the OAuth callback): an external HTTPS
    load balancer on `domain` (a Google-managed certificate; point the domain's A record at the edge_ip_address output),
    whose backend is the callback function through a serverless NEG, with a Cloud Armor policy that limits each client
    IP to requests_per_minute_per_ip and answers the rest with 429 (throttle), or, with ban_seconds above 0, bans an IP
    over the limit for that long (rate-based ban; a rule cannot go back from ban to throttle in place). The callback then
    accepts traffic only through the load balancer, and the redirect URI becomes https://<domain>. null: no edge.
    See docs/deployment.md, "Rate limits at the edge".
  EOT
  type = object({
    domain                     = string
    requests_per_minute_per_ip = optional(number, 60)
    ban_seconds                = optional(number, 0)
  })
  default = null

  validation {
    condition     = var.edge == null ? true : can(regex("^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.edge.domain))
    error_message = "edge.domain must be a lowercase DNS name such as connect.example.com."
  }

  validation {
    condition     = var.edge == null ? true : var.edge.requests_per_minute_per_ip >= 1 && var.edge.requests_per_minute_per_ip <= 10000 && floor(var.edge.requests_per_minute_per_ip) == var.edge.requests_per_minute_per_ip
    error_message = "edge.requests_per_minute_per_ip must be a whole number between 1 and 10000 (Cloud Armor's limit for a rate-based ban)."
  }

  validation {
    condition     = var.edge == null ? true : var.edge.ban_seconds >= 0 && var.edge.ban_seconds <= 86400 && floor(var.edge.ban_seconds) == var.edge.ban_seconds
    error_message = "edge.ban_seconds must be a whole number of seconds between 0 (throttle, no ban) and 86400."
  }
}

variable "product_backend_service_accounts" {
  description = "Emails of the product backends' service accounts allowed to call authorize (start a connect flow) and connections (list, disconnect, app-only and API-key connections)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.product_backend_service_accounts : can(regex("^[a-z0-9-]+@[a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", email))])
    error_message = "product_backend_service_accounts must be service account emails (…@….iam.gserviceaccount.com)."
  }
}

variable "return_url_allowlist" {
  description = "Exact URLs (no query or fragment) a connect flow may send the user back to; compared as whole strings."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for url in var.return_url_allowlist : can(regex("^https://[^?#\\s,]+$", url))])
    error_message = "return_url_allowlist entries must be https URLs without query, fragment, spaces or commas."
  }
}

variable "connect_confirmation_tenants" {
  description = "Tenants whose connect flows park the grant until the product backend confirms its signed-in user (POST /confirm on the connections function): [\"*\"] for every tenant, [] for none. The defence against session swap and phishing by link; see docs/connect-confirmation.md before turning it off."
  type        = list(string)
  default     = ["*"]

  validation {
    condition = alltrue([
      for tenant in var.connect_confirmation_tenants :
      tenant == "*" ? length(var.connect_confirmation_tenants) == 1 : can(regex("^[^*,\\s]+$", tenant)) && tenant != "none"
    ])
    error_message = "connect_confirmation_tenants must be [\"*\"], [], or a list of tenant ids (no \"*\", \"none\", commas or spaces in an id)."
  }
}

variable "token_caller_service_accounts" {
  description = "Emails of existing service accounts allowed to call token. The caller policy in Firestore still decides what each may read."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.token_caller_service_accounts : can(regex("^[a-z0-9-]+@[a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", email))])
    error_message = "token_caller_service_accounts must be service account emails (…@….iam.gserviceaccount.com)."
  }
}

variable "example_caller_account_ids" {
  description = "Service accounts to create in this project as token callers (e.g. for a first internal service); each gets token invoke rights."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.example_caller_account_ids : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", id))])
    error_message = "example_caller_account_ids must be service account ids: 6-30 lowercase letters, digits and hyphens."
  }
}

variable "operator_members" {
  description = <<-EOT
    IAM principals who operate the broker, e.g. "group:broker-operators@example.com". Each may impersonate the
    operator service account (roles/iam.serviceAccountTokenCreator on it, operators.tf), whose ID tokens are what
    the admin function admits: a person's own gcloud identity token cannot name the admin URL as its audience.
    See docs/deployment.md, "Operators".
  EOT
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.operator_members : can(regex("^(user|group|serviceAccount|domain):.+$", member))])
    error_message = "operator_members must be IAM principals: user:…, group:…, serviceAccount:… or domain:…."
  }
}

variable "refresh_schedule" {
  description = "Cron schedule of the refresh sweep."
  type        = string
  default     = "*/5 * * * *"
}

variable "health_schedule" {
  description = "Cron schedule of the health sweep."
  type        = string
  default     = "*/30 * * * *"
}

variable "scheduler_time_zone" {
  description = "Time zone of the scheduler jobs' cron schedules."
  type        = string
  default     = "Etc/UTC"
}

variable "token_min_instances" {
  description = "Warm instances kept for token, the latency-sensitive read path (0 to save cost, at the price of cold starts)."
  type        = number
  default     = 0

  validation {
    condition     = var.token_min_instances >= 0 && var.token_min_instances <= 10
    error_message = "token_min_instances must be between 0 and 10."
  }
}

variable "log_level" {
  description = "Minimum severity the functions log: DEBUG, INFO, NOTICE, WARNING or ERROR."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, NOTICE, WARNING or ERROR."
  }
}

variable "alert_notification_channels" {
  description = "Existing Cloud Monitoring notification channel ids (projects/P/notificationChannels/N) the alerts notify."
  type        = list(string)
  default     = []
}

variable "alert_email" {
  description = "If set, an email notification channel for the broker's alerts is created for this address."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an email address or empty."
  }
}

variable "source_dir" {
  description = "Folder holding the built package (package.json, package-lock.json and dist/ from `npm run build`). Defaults to the repository root."
  type        = string
  default     = ""
}

variable "event_subscriber_members" {
  description = "IAM principals (e.g. \"serviceAccount:product-backend@….iam.gserviceaccount.com\") that may attach subscriptions to the connection events topic. Empty: none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.event_subscriber_members : can(regex("^(serviceAccount|group|user):[^\\s]+$", member))])
    error_message = "event_subscriber_members must be IAM principals: serviceAccount:…, group:… or user:…."
  }
}
