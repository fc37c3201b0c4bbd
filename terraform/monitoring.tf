# Log-based metrics counted from the functions' structured log events, and the alerts built on them.
resource "google_logging_metric" "refresh_attempts" {
  project     = var.project_id
  name        = "${var.name_prefix}-refresh-attempts"
  description = "Token refreshes attempted by any broker function (succeeded or failed)."
  filter      = "${local.broker_services_filter} AND jsonPayload.event=(\"${local.log_events.refresh_succeeded}\" OR \"${local.log_events.refresh_failed}\")"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_logging_metric" "refresh_failures" {
  project     = var.project_id
  name        = "${var.name_prefix}-refresh-failures"
  description = "Token refreshes that failed (provider error, network, invalid grant)."
  filter      = "${local.broker_services_filter} AND jsonPayload.event=\"${local.log_events.refresh_failed}\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_logging_metric" "callback_errors" {
  project     = var.project_id
  name        = "${var.name_prefix}-callback-errors"
  description = "Connect flows that ended in an error at the callback (not user cancellations)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.name_prefix}-callback\" AND (jsonPayload.event=\"${local.log_events.callback_failed}\" OR severity>=ERROR)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_notification_channel" "email" {
  for_each = var.alert_email == "" ? toset([]) : toset([var.alert_email])

  project      = var.project_id
  display_name = "oauth-broker alerts (${each.value})"
  type         = "email"

  labels = {
    email_address = each.value
  }
}

locals {
  notification_channels = concat(var.alert_notification_channels, [for channel in google_monitoring_notification_channel.email : channel.id])
}

# A ratio condition: failures over attempts, both summed across services over 5-minute windows.
resource "google_monitoring_alert_policy" "refresh_failure_ratio" {
  project               = var.project_id
  display_name          = "oauth-broker: refresh failures above 5% over 5 minutes"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "refresh failures / refresh attempts > 0.05"

    condition_threshold {
      filter             = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.refresh_failures.name}\" AND resource.type=\"cloud_run_revision\""
      denominator_filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.refresh_attempts.name}\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.05
      duration           = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      More than 5 % of token refreshes failed in the last 5 minutes. Look at the `refresh.failed` log
      entries (labels: provider, errorCode): one provider failing points to an outage or a revoked client
      secret at that provider; every provider failing points to KMS, Firestore or the network. Connections
      that got `invalid_grant` are already in `needs_reauth` and need their users to reconnect.
      See docs/deployment.md, "What the alerts mean".
    EOT
  }
}

resource "google_monitoring_alert_policy" "callback_errors" {
  project               = var.project_id
  display_name          = "oauth-broker: more than 10 callback errors per hour"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "callback errors in one hour > 10"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.callback_errors.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 10
      duration        = "0s"

      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "7200s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      More than 10 connect flows failed at the callback in the last hour. Look at the `callback.failed`
      log entries: `invalid_client` means the client secret or redirect URI registered at the provider no
      longer matches; state or browser-binding errors in bulk suggest a misconfigured return URL or an
      attack; token-exchange 5xx means the provider is degraded. See docs/deployment.md.
    EOT
  }
}

resource "google_logging_metric" "revocations_abandoned" {
  project     = var.project_id
  name        = "${var.name_prefix}-revocations-abandoned"
  description = "Provider revocations of disconnected grants given up after the retry window: those grants may still be live at the provider."
  filter      = "${local.broker_services_filter} AND jsonPayload.event=\"${local.log_events.revocation_abandoned}\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_alert_policy" "revocations_abandoned" {
  project               = var.project_id
  display_name          = "oauth-broker: a provider revocation was abandoned"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "abandoned provider revocations in one hour > 0"

    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.revocations_abandoned.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The broker gave up revoking a disconnected user's grant at the provider after retrying for
      PENDING_REVOCATION_MAX_AGE_SECONDS (7 days by default). The local credentials were destroyed at
      disconnect, but the grant may still be live at the provider. Look at the `revocation.abandoned` log
      entries (labels: provider, connectionId) and revoke the app's access in the provider's admin console.
      See docs/deployment.md.
    EOT
  }
}
