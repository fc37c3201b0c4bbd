# The broker's functions and who may do what, as data: every other file iterates over these maps.
locals {
  # One entry per entry point exported by dist/functions/index.js (functions/names.ts is the list).
  # sealing: the KMS role the runtime needs; provider_secrets: whether it talks to OAuth providers.
  functions = {
    authorize = {
      description      = "Starts a connect flow for a product backend: records the flow, returns the single-use start URL."
      memory           = "256Mi"
      timeout_seconds  = 30
      min_instances    = 0
      max_instances    = 20
      sealing          = "encrypt"
      provider_secrets = false
      publishes_events = false
    }
    callback = {
      description      = "Browser-facing: the /start step binds the flow to the browser; the root is the OAuth redirect URI."
      memory           = "512Mi"
      timeout_seconds  = 60
      min_instances    = 0
      max_instances    = 20
      sealing          = "encrypt_decrypt"
      provider_secrets = true
      publishes_events = true
    }
    connections = {
      description      = "Product backends list and disconnect users' connections and create app-only and API-key connections."
      memory           = "256Mi"
      timeout_seconds  = 60
      min_instances    = 0
      max_instances    = 20
      sealing          = "encrypt_decrypt"
      provider_secrets = true
      publishes_events = true
    }
    token = {
      description      = "Hands a fresh access token to an allowed internal caller, refreshing under the lease if needed."
      memory           = "512Mi"
      timeout_seconds  = 60
      min_instances    = var.token_min_instances
      max_instances    = 50
      sealing          = "encrypt_decrypt"
      provider_secrets = true
      publishes_events = true
    }
    admin = {
      description      = "Operator JSON API and dashboard: stats, connections, health, manual refresh, revoke, key re-wrap."
      memory           = "512Mi"
      timeout_seconds  = 300
      min_instances    = 0
      max_instances    = 5
      sealing          = "encrypt_decrypt"
      provider_secrets = true
      publishes_events = true
    }
    refresh = {
      description      = "Scheduled sweep refreshing connections about to expire, within its time budget."
      memory           = "512Mi"
      timeout_seconds  = 540
      min_instances    = 0
      max_instances    = 2
      sealing          = "encrypt_decrypt"
      provider_secrets = true
      publishes_events = true
    }
    health = {
      description      = "Scheduled sweep calling each connection's identity endpoint and moving its health state."
      memory           = "512Mi"
      timeout_seconds  = 540
      min_instances    = 0
      max_instances    = 2
      sealing          = "encrypt_decrypt"
      provider_secrets = true
      publishes_events = true
    }
  }

  # Variables only some functions read, merged over the shared environment in functions.tf (every function has an entry).
  function_environment = {
    authorize   = {}
    callback    = {}
    connections = {}
    token       = {}
    admin = {
      # Unset ("") unless IAP fronts the admin function; then its signed header is verified against this audience.
      IAP_AUDIENCE = var.iap_audience
      # "Refresh all" starts the deployed refresh job instead of sweeping inside the admin function.
      SCHEDULER_REFRESH_JOB = local.scheduler_job_names["refresh"]
    }
    # Cloud Scheduler's token reaches the sweeps with its signature removed by Cloud Run: they accept it only after
    # proving that IAM guards them (sweep_self_check.tf grants the read). loadConfig refuses this on other functions.
    refresh = { CLOUD_RUN_IAM_VERIFIED_CALLERS = "scheduler", CLOUD_RUN_REGION = var.region }
    health  = { CLOUD_RUN_IAM_VERIFIED_CALLERS = "scheduler", CLOUD_RUN_REGION = var.region }
  }

  # The functions that trust Cloud Run's IAM check for the scheduler's token, and so read their own service.
  cloud_run_iam_verified_functions = sort([for name, environment in local.function_environment : name if contains(keys(environment), "CLOUD_RUN_IAM_VERIFIED_CALLERS")])

  # Full job names, known before the jobs exist (the admin function is told one; a check in scheduler.tf compares).
  scheduler_job_names = { for name, _ in local.scheduled : name => "projects/${var.project_id}/locations/${var.region}/jobs/${var.name_prefix}-${name}" }

  kms_roles = {
    encrypt         = "roles/cloudkms.cryptoKeyEncrypter"
    encrypt_decrypt = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  }

  # Gen2 functions answer on this stable URL as well as their run.app URL; it is known before the
  # functions exist, so the functions can be told their own addresses without a dependency cycle.
  function_urls = { for name, _ in local.functions : name => "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name_prefix}-${name}" }

  # The OAuth redirect URI to register at every provider, and the browser start step beside it.
  redirect_uri   = local.function_urls["callback"]
  start_base_url = "${local.function_urls["callback"]}/start"

  caller_members = concat(
    [for email in var.token_caller_service_accounts : "serviceAccount:${email}"],
    [for id, account in google_service_account.example_caller : account.member],
  )

  # Which principals may invoke each function. Only callback is public: a browser must reach it.
  invokers = {
    authorize   = [for email in var.product_backend_service_accounts : "serviceAccount:${email}"]
    connections = [for email in var.product_backend_service_accounts : "serviceAccount:${email}"]
    callback    = ["allUsers"]
    token       = local.caller_members
    admin       = var.operator_members
    refresh     = [google_service_account.scheduler.member]
    health      = [google_service_account.scheduler.member]
  }

  invoker_bindings = merge([
    for name, members in local.invokers : { for member in members : "${name} ${member}" => { function = name, member = member } }
  ]...)

  enabled_providers = sort([for name, enabled in var.providers_enabled : name if enabled])

  # The client ids of enabled providers, as config.ts reads them beside the secrets (PROVIDER_<ID>_CLIENT_ID).
  provider_client_id_environment = {
    for name in local.enabled_providers : "PROVIDER_${upper(name)}_CLIENT_ID" => lookup(var.provider_client_ids, name, "")
  }

  # Runtime × enabled provider pairs that read a client secret.
  secret_readers = {
    for pair in setproduct([for name, fn in local.functions : name if fn.provider_secrets], local.enabled_providers) :
    "${pair[0]} ${pair[1]}" => { function = pair[0], provider = pair[1] }
  }

  source_dir = var.source_dir != "" ? var.source_dir : abspath("${path.module}/..")

  # Firestore: the one definition of indexes and field overrides (TTL policies) is firestore.indexes.json.
  firestore_definition = jsondecode(file("${path.module}/../firestore.indexes.json"))
  firestore_indexes = {
    for index in local.firestore_definition.indexes :
    "${index.collectionGroup} ${lookup(index, "queryScope", "COLLECTION")} ${join(",", [for field in index.fields : "${field.fieldPath}:${lookup(field, "order", lookup(field, "arrayConfig", ""))}"])}" => index
  }
  firestore_field_overrides = {
    for override in local.firestore_definition.fieldOverrides : "${override.collectionGroup} ${override.fieldPath}" => override
  }

  # Stable event names written by the functions' logger; the log-based metrics count them.
  log_events = {
    refresh_succeeded    = "refresh.succeeded"
    refresh_failed       = "refresh.failed"
    callback_failed      = "callback.failed"
    revocation_abandoned = "revocation.abandoned"
  }
  broker_services_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^${var.name_prefix}-(${join("|", keys(local.functions))})$\""
}
