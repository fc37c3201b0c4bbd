# The broker's functions and who may do what, as data: every other file iterates over these maps.
locals {
  # What each function is given — environment, provider credentials, KMS role, invokers, memory, timeout and
  # instances — is functions/manifest.json, the one list the local stack (npm start) reads as well.
  functions = jsondecode(file("${path.module}/../functions/manifest.json")).functions

  # Every value a function may be given, by variable name; each function gets exactly the names its manifest entry
  # lists (a name missing here fails the plan). ID_TOKEN_AUDIENCES is each function's own URL, set below.
  environment_values = {
    GOOGLE_CLOUD_PROJECT      = var.project_id
    FIRESTORE_DATABASE_ID     = google_firestore_database.broker.name
    KMS_KEY_NAME              = google_kms_crypto_key.token_sealing.id
    LOG_LEVEL                 = var.log_level
    EVENTS_TOPIC              = google_pubsub_topic.connection_events.id
    BROKER_CALLBACK_URL       = local.redirect_uri
    RETURN_URL_ALLOWLIST      = join(",", var.return_url_allowlist)
    CALLER_POLICY             = jsonencode(var.caller_policy)
    CALLER_QUOTAS             = jsonencode(var.caller_quotas)
    OIDC_PROVIDERS            = jsonencode(var.oidc_providers)
    OAUTH2_PROVIDERS          = jsonencode(var.oauth2_providers)
    ADMIN_ALLOWLIST           = join(",", local.admin_allowlist)
    SCHEDULER_SERVICE_ACCOUNT = google_service_account.scheduler.email
    # Unset ("") unless IAP fronts the admin function; then its signed header is verified against this audience.
    IAP_AUDIENCE = var.iap_audience
    # "Refresh all" starts the deployed refresh job instead of sweeping inside the admin function.
    SCHEDULER_REFRESH_JOB = local.scheduler_job_names["refresh"]
    # Cloud Scheduler's token reaches the sweeps with its signature removed by Cloud Run: they accept it only after
    # proving that IAM guards them (sweep_self_check.tf grants the read). The manifest gives it to the sweeps only.
    CLOUD_RUN_IAM_VERIFIED_CALLERS = "scheduler"
    CLOUD_RUN_REGION               = var.region
    # Where caller-chosen endpoints may lead (SMART FHIR servers): client secrets go to the servers listed here only.
    PROVIDER_ENDPOINT_ALLOWLIST = jsonencode(var.provider_endpoint_allowlist)
    # Whose connect grants wait for the product to confirm its user; "none" for an empty list (unset means every tenant).
    CONNECT_CONFIRMATION_TENANTS = length(var.connect_confirmation_tenants) == 0 ? "none" : join(",", var.connect_confirmation_tenants)
  }

  # Each function's environment: its manifest's names with their values, and the client ids where it reads them.
  function_environment = {
    for name, fn in local.functions : name => merge(
      { for variable in fn.environment : variable => merge(local.environment_values, { ID_TOKEN_AUDIENCES = local.function_urls[name] })[variable] },
      fn.providerCredentials == "none" ? {} : local.provider_client_id_environment,
    )
  }

  # The functions that trust Cloud Run's IAM check for the scheduler's token, and so read their own service.
  cloud_run_iam_verified_functions = sort([for name, fn in local.functions : name if contains(fn.environment, "CLOUD_RUN_IAM_VERIFIED_CALLERS")])

  # The functions that publish connection events (they are given the topic).
  publishing_functions = { for name, fn in local.functions : name => fn if contains(fn.environment, "EVENTS_TOPIC") }

  # Warm instances: the manifest's, except where a variable overrides them.
  min_instances = { for name, fn in local.functions : name => name == "token" ? var.token_min_instances : fn.minInstances }

  # Full job names, known before the jobs exist (the admin function is told one; a check in scheduler.tf compares).
  scheduler_job_names = { for name, _ in local.scheduled : name => "projects/${var.project_id}/locations/${var.region}/jobs/${var.name_prefix}-${name}" }

  kms_roles = {
    encrypt         = "roles/cloudkms.cryptoKeyEncrypter"
    encrypt_decrypt = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  }

  # Gen2 functions answer on this stable URL as well as their run.app URL; it is known before the
  # functions exist, so the functions can be told their own addresses without a dependency cycle.
  function_urls = { for name, _ in local.functions : name => "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name_prefix}-${name}" }

  # Whether the public connect pages sit behind the load balancer and Cloud Armor policy of edge.tf.
  edge_enabled = var.edge != null

  # Where browsers reach the callback function: the edge's domain when there is one (the function then refuses other
  # traffic), else the function's own URL.
  callback_public_url = local.edge_enabled ? "https://${var.edge.domain}" : local.function_urls["callback"]

  # The OAuth redirect URI to register at every provider, and the browser start step beside it.
  redirect_uri   = local.callback_public_url
  start_base_url = "${local.callback_public_url}/start"

  caller_members = concat(
    [for email in var.token_caller_service_accounts : "serviceAccount:${email}"],
    [for id, account in google_service_account.example_caller : account.member],
  )

  # Who may invoke each function, by the manifest's invokers: only the browser-facing callback is public.
  invoker_members = {
    public           = ["allUsers"]
    product_backends = [for email in var.product_backend_service_accounts : "serviceAccount:${email}"]
    token_callers    = local.caller_members
    operators        = local.operator_invokers
    scheduler        = [google_service_account.scheduler.member]
  }
  invokers = { for name, fn in local.functions : name => local.invoker_members[fn.invokers] }

  invoker_bindings = merge([
    for name, members in local.invokers : { for member in members : "${name} ${member}" => { function = name, member = member } }
  ]...)

  enabled_providers = sort([for name, enabled in var.providers_enabled : name if enabled])

  # The client ids of enabled providers, as config.ts reads them (PROVIDER_<ID>_CLIENT_ID); not secret.
  provider_client_id_environment = {
    for name in local.enabled_providers : "PROVIDER_${upper(name)}_CLIENT_ID" => lookup(var.provider_client_ids, name, "")
  }

  # Runtime × enabled provider pairs that read a client secret.
  secret_readers = {
    for pair in setproduct([for name, fn in local.functions : name if fn.providerCredentials == "client_ids_and_secrets"], local.enabled_providers) :
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
