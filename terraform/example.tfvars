# A starting point: copy to terraform.tfvars (git-ignored) and edit.
project_id  = "my-broker-project"
region      = "europe-west1"
name_prefix = "oauth-broker"

# Add a provider with false, apply, add its client secret version, then set true and apply again.
providers_enabled = {
  slack  = false
  google = false
}

product_backend_service_accounts = ["product-backend@my-product-project.iam.gserviceaccount.com"]
token_caller_service_accounts    = ["mail-sync@my-product-project.iam.gserviceaccount.com"]
example_caller_account_ids       = ["broker-caller-demo"]
operator_members                 = ["group:broker-operators@example.com"]

alert_email = "oncall@example.com"
