# A starting point: copy to terraform.tfvars (git-ignored) and edit.
project_id  = "my-broker-project"
region      = "europe-west1"
name_prefix = "oauth-broker"

# Add a provider with false, apply, add its client secret version, then set true and apply again.
providers_enabled = {
  slack  = false
  google = false
}
# From the OAuth app created at each provider (docs/deployment.md, step 2). Client ids are not secret: they go
# here; the client secrets go to Secret Manager.
provider_client_ids = {
  slack  = "1234567890.1234567890"
  google = "1234567890-abc.apps.googleusercontent.com"
}

# What each caller may do once IAM lets it in (deny by default).
caller_policy = [
  { serviceAccount = "product-backend@my-product-project.iam.gserviceaccount.com", tenants = "*", providers = "*", actions = ["connect", "manage_connections"] },
  { serviceAccount = "mail-sync@my-product-project.iam.gserviceaccount.com", tenants = "*", providers = ["google"], actions = ["read_token"] },
]

# Request quotas on authorize, token and connections, per caller and per tenant (docs/deployment.md, "Quotas").
caller_quotas = {
  token = { perCaller = { requests = 600, perSeconds = 60 } }
}
# A load balancer with a Cloud Armor per-IP rate limit in front of the public connect pages; it moves the redirect URI
# to https://<domain> (docs/deployment.md, "Rate limits at the edge").
# edge = { domain = "connect.example.com" }

product_backend_service_accounts = ["product-backend@my-product-project.iam.gserviceaccount.com"]
token_caller_service_accounts    = ["mail-sync@my-product-project.iam.gserviceaccount.com"]
example_caller_account_ids       = ["broker-caller-demo"]
event_subscriber_members         = ["serviceAccount:product-backend@my-product-project.iam.gserviceaccount.com"]

# The people who operate the broker: each may impersonate the operator service account (terraform output
# operator_service_account), which alone may call admin and is always on its allowlist. See docs/deployment.md.
operator_members = ["group:broker-operators@example.com"]
# Extra emails admin accepts: only for people signing in through an Identity-Aware Proxy you put in front of it.
admin_allowlist = []

alert_email = "oncall@example.com"
