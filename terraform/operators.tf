# How operators get into the admin function without a load balancer: they impersonate one service account.
# A person's own gcloud identity token names gcloud's OAuth client as its audience, never the admin URL; a
# service account's ID token (IAM Credentials generateIdToken) can name any audience and carries its email.
resource "google_service_account" "operator" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-operator"
  display_name = "oauth-broker operator"
  description  = "Impersonated by operator_members to call the admin function; may invoke admin and nothing else."

  depends_on = [google_project_service.required]
}

# Token Creator on this one account, not on the project: gcloud's impersonation mints an access token for the
# account as well as the ID token, and the account can do nothing but invoke admin, so that grants no more.
# Cloud Audit Logs (IAM Credentials data access) name the person behind each token; the broker's own audit log
# names the operator account.
resource "google_service_account_iam_member" "operator_token_creator" {
  for_each = toset(var.operator_members)

  service_account_id = google_service_account.operator.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = each.value
}

locals {
  # Who may invoke admin (local.invokers.admin): the operator account only; people come in through it.
  operator_invokers = [google_service_account.operator.member]

  # ADMIN_ALLOWLIST: the admin function matches the verified ID token's email, which is the operator account's.
  admin_allowlist = concat([google_service_account.operator.email], var.admin_allowlist)
}
