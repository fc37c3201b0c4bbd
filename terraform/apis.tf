# The Google APIs the broker uses, enabled on the project; disabling them on destroy is left to people.
locals {
  required_apis = toset(concat([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    # firestore.rules is released through the Firebase Rules API (firestore.tf).
    "firebaserules.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    # Operators impersonate the operator account (operators.tf): generateIdToken is an IAM Credentials call.
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    ],
    # The optional edge's load balancer and Cloud Armor policy (edge.tf) are Compute Engine resources.
    local.edge_enabled ? ["compute.googleapis.com"] : [],
  ))
}

resource "google_project_service" "required" {
  for_each = local.required_apis

  project = var.project_id
  service = each.value

  # Other workloads in the project may rely on these APIs too.
  disable_on_destroy = false
}
