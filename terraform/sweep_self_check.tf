# The sweeps prove that IAM guards them before trusting a token Cloud Run stripped of its signature
# (CLOUD_RUN_IAM_VERIFIED_CALLERS, docs/deployment.md): each runtime may read its own service and that
# service's IAM policy, on that service only.
resource "google_cloud_run_v2_service_iam_member" "sweep_self_check" {
  for_each = toset(local.cloud_run_iam_verified_functions)

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.broker[each.key].name
  role     = "roles/run.viewer"
  member   = google_service_account.runtime[each.key].member
}
