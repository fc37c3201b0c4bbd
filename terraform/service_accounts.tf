# One identity per role: each function's runtime, the build, the scheduler, and example token callers (operators: operators.tf).
resource "google_service_account" "runtime" {
  for_each = local.functions

  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "oauth-broker ${each.key} runtime"
  description  = each.value.description

  # name_prefix's validation leaves room for the longest function name today; a longer one fails here, at plan.
  lifecycle {
    precondition {
      condition     = can(regex("^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$", "${var.name_prefix}-${each.key}"))
      error_message = "\"${var.name_prefix}-${each.key}\" is not a valid service account id (6-30 characters): shorten name_prefix or the function's name."
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "oauth-broker function builds"
  description  = "Builds the functions' container images from the uploaded source."

  depends_on = [google_project_service.required]
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "oauth-broker scheduler invoker"
  description  = "Signs the OIDC tokens Cloud Scheduler sends to refresh and health; may invoke nothing else."

  depends_on = [google_project_service.required]
}

resource "google_service_account" "example_caller" {
  for_each = toset(var.example_caller_account_ids)

  project      = var.project_id
  account_id   = each.value
  display_name = "oauth-broker token caller ${each.value}"
  description  = "An internal service allowed to invoke token; its caller policy decides what it may read."

  depends_on = [google_project_service.required]
}

# Every runtime reads and writes the broker's documents; Firestore IAM has no per-collection roles.
resource "google_project_iam_member" "runtime_firestore" {
  for_each = local.functions

  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.runtime[each.key].member
}

# The roles Google documents for a user-specified function build account: write build logs, push the
# image, and read the uploaded source (which Cloud Functions stages in its own gcf-v2-* buckets).
resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/artifactregistry.writer",
    "roles/logging.logWriter",
    "roles/storage.objectAdmin",
  ])

  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}
