# What people need after apply: where the functions are and what to register at each provider.
output "function_urls" {
  description = "Stable URL of each function (also its OIDC audience)."
  value       = { for name, fn in google_cloudfunctions2_function.broker : name => fn.url }
}

output "admin_url" {
  description = "The admin function's URL: the operator CLI's --url, and the audience of operators' ID tokens."
  value       = google_cloudfunctions2_function.broker["admin"].url
}

output "function_service_urls" {
  description = "run.app URL of the Cloud Run service behind each function."
  value       = { for name, fn in google_cloudfunctions2_function.broker : name => fn.service_config[0].uri }
}

output "redirect_uri" {
  description = "The OAuth redirect URI to register at every provider (the callback function's root)."
  value       = local.redirect_uri
}

output "redirect_uris_by_provider" {
  description = "The redirect URI per configured provider, for copying into each provider's app settings."
  value       = { for name, _ in var.providers_enabled : name => local.redirect_uri }
}

output "start_url" {
  description = "The public start step that authorize's connect URLs point at."
  value       = local.start_base_url
}

output "edge_ip_address" {
  description = "With var.edge: the load balancer's IP address, for the A record of edge.domain (its certificate is issued once the record resolves). Null without an edge."
  value       = local.edge_enabled ? google_compute_global_address.edge[0].address : null
}

output "events_topic" {
  description = "Pub/Sub topic carrying connection events; subscribe product backends to it."
  value       = google_pubsub_topic.connection_events.id
}

output "client_secret_ids" {
  description = "Secret Manager secret per provider: add the client secret with `gcloud secrets versions add`."
  value       = { for name, secret in google_secret_manager_secret.client_secret : name => secret.id }
}

output "kms_key_name" {
  description = "The token-sealing key (KMS_KEY_NAME)."
  value       = google_kms_crypto_key.token_sealing.id
}

output "runtime_service_accounts" {
  description = "Each function's runtime identity."
  value       = { for name, account in google_service_account.runtime : name => account.email }
}

output "scheduler_service_account" {
  description = "The identity Cloud Scheduler uses to call refresh and health."
  value       = google_service_account.scheduler.email
}

output "operator_service_account" {
  description = "The account operators impersonate to call admin: gcloud auth print-identity-token --impersonate-service-account=<it>."
  value       = google_service_account.operator.email
}

output "example_caller_service_accounts" {
  description = "Token callers created here; give each a caller policy before it can read tokens."
  value       = { for id, account in google_service_account.example_caller : id => account.email }
}
