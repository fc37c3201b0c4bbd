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
    timeout_seconds                  = each.value.timeout_seconds
    min_instance_count               = each.value.min_instances
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = 20
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true

    environment_variables = {
      GOOGLE_CLOUD_PROJECT  = var.project_id
      FIRESTORE_DATABASE_ID = google_firestore_database.broker.name
      KMS_KEY_NAME          = google_kms_crypto_key.token_sealing.id
      LOG_LEVEL             = var.log_level
      EVENTS_TOPIC          = google_pubsub_topic.connection_events.id
      FUNCTION_URL          = local.function_urls[each.key]
      BROKER_CALLBACK_URL   = local.redirect_uri
      RETURN_URL_ALLOWLIST  = join(",", var.return_url_allowlist)
    }

    dynamic "secret_environment_variables" {
      for_each = each.value.provider_secrets ? local.enabled_providers : []
      content {
        key        = "OAUTH_CLIENT_SECRET_${upper(replace(secret_environment_variables.value, "-", "_"))}"
        project_id = var.project_id
        secret     = google_secret_manager_secret.client_secret[secret_environment_variables.value].secret_id
        version    = "latest"
      }
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
