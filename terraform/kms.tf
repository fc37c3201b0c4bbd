# Envelope encryption: the key that wraps every sealed record's data key, and who may use it.
resource "google_kms_key_ring" "broker" {
  project  = var.project_id
  name     = "${var.name_prefix}-keys"
  location = var.region

  depends_on = [google_project_service.required]
}

resource "google_kms_crypto_key" "token_sealing" {
  name            = "token-sealing"
  key_ring        = google_kms_key_ring.broker.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "${var.kms_key_rotation_days * 86400}s"

  # A destroyed version makes every record sealed under it unreadable: give people time to notice.
  destroy_scheduled_duration = "2592000s"

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.kms_protection_level
  }

  # Destroying the key crypto-shreds every stored token at once.
  lifecycle {
    prevent_destroy = true
  }
}

# authorize seals the PKCE verifier but never opens anything; the others seal and open.
resource "google_kms_crypto_key_iam_member" "runtime" {
  for_each = local.functions

  crypto_key_id = google_kms_crypto_key.token_sealing.id
  role          = local.kms_roles[each.value.kmsRole]
  member        = google_service_account.runtime[each.key].member
}

# The re-wrap action reads the key's current primary version to know which records are behind.
resource "google_kms_crypto_key_iam_member" "admin_reads_key" {
  crypto_key_id = google_kms_crypto_key.token_sealing.id
  role          = "roles/cloudkms.viewer"
  member        = google_service_account.runtime["admin"].member
}
