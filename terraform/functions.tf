# The seven Cloud Functions (gen2), all from one source archive; FUNCTION_TARGET picks the entry point.
resource "google_cloudfunctions2_function" "broker" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-${each.key}"
  description = each.value.description

  build_config {
    runtime         = "nodejs22"
    entry_point     = each.key
    service_account = google_service_account.build.id

    # dist/ is built before upload; the buildpack must not run `npm run build` (no TypeScript there).
    environment_variables = {
      GOOGLE_NODE_RUN_SCRIPTS = ""
    }

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime[each.key].email
    available_memory                 = each.value.memory
    available_cpu                    = "1"
    timeout_seconds                  = each.value.timeoutSeconds
    min_instance_count               = local.min_instances[each.key]
    max_instance_count               = each.value.maxInstances
    max_instance_request_concurrency = each.value.concurrency
    # Behind the edge (edge.tf) the public callback takes traffic only through the load balancer, so its Cloud Armor
    # policy cannot be gone around; every other function is reached directly, IAM deciding who may call it.
    ingress_settings               = each.key == "callback" && local.edge_enabled ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_ALL"
    all_traffic_on_latest_revision = true

    # Exactly what functions/manifest.json gives this function (test/functions/function-manifest.test.ts compares it
    # with what the code reads).
    environment_variables = local.function_environment[each.key]

    dynamic "secret_environment_variables" {
      for_each = each.value.providerCredentials == "client_ids_and_secrets" ? local.enabled_providers : []
      content {
        key        = "PROVIDER_${upper(secret_environment_variables.value)}_CLIENT_SECRET"
        project_id = var.project_id
        secret     = google_secret_manager_secret.client_secret[secret_environment_variables.value].secret_id
        version    = "latest"
      }
    }
  }

  lifecycle {
    # loadConfig refuses a client secret without its client id, so a function would fail at start-up.
    precondition {
      condition     = alltrue([for name in local.enabled_providers : contains(keys(var.provider_client_ids), name)])
      error_message = "Every provider enabled in providers_enabled needs its OAuth client id in provider_client_ids."
    }
  }

  # A function deploys only once its identity can use what it needs at start-up.
  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.runtime_firestore,
    google_kms_crypto_key_iam_member.runtime,
    google_secret_manager_secret_iam_member.client_secret_reader,
  ]
}

# Invoking a gen2 function is Cloud Run's run.invoker on the service behind it.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = local.invoker_bindings

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.broker[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

# The stable URLs the functions are told about must be the ones Google assigns.
check "function_urls" {
  assert {
    condition     = alltrue([for name, fn in google_cloudfunctions2_function.broker : fn.url == local.function_urls[name]])
    error_message = "A function's URL differs from the one computed in locals.function_urls; the redirect URI and OIDC audiences would be wrong."
  }
}
