# The sweeps: Cloud Scheduler calls refresh and health with an OIDC token of its own service account.
locals {
  scheduled = {
    refresh = {
      schedule = var.refresh_schedule
      # A sweep that fails is retried a few times, but never into the next run's slot.
      attempt_deadline   = "600s"
      max_retry_duration = "240s"
    }
    health = {
      schedule           = var.health_schedule
      attempt_deadline   = "600s"
      max_retry_duration = "900s"
    }
  }
}

resource "google_cloud_scheduler_job" "sweep" {
  for_each = local.scheduled

  project          = var.project_id
  region           = var.region
  name             = "${var.name_prefix}-${each.key}"
  description      = "Runs the ${each.key} sweep."
  schedule         = each.value.schedule
  time_zone        = var.scheduler_time_zone
  attempt_deadline = each.value.attempt_deadline

  retry_config {
    retry_count          = 3
    max_retry_duration   = each.value.max_retry_duration
    min_backoff_duration = "10s"
    max_backoff_duration = "120s"
    max_doublings        = 3
  }

  http_target {
    uri         = local.function_urls[each.key]
    http_method = "POST"
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.function_urls[each.key]
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.invoker]
}
