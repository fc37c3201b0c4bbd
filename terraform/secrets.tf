# Provider client secrets: Terraform creates the secrets, people add the values (never in Terraform state).
resource "google_secret_manager_secret" "client_secret" {
  for_each = var.providers_enabled

  project   = var.project_id
  secret_id = "${var.name_prefix}-${each.key}-client-secret"

  labels = {
    provider = each.key
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.required]
}

# Only runtimes that talk to providers can read the secrets, and only for enabled providers.
resource "google_secret_manager_secret_iam_member" "client_secret_reader" {
  for_each = local.secret_readers

  project   = var.project_id
  secret_id = google_secret_manager_secret.client_secret[each.value.provider].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime[each.value.function].member
}
