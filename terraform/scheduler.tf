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

# The job names the admin function is given must be the ones the jobs get.
check "scheduler_job_names" {
  assert {
    condition     = alltrue([for name, job in google_cloud_scheduler_job.sweep : job.id == local.scheduler_job_names[name]])
    error_message = "A scheduler job's id differs from locals.scheduler_job_names; the admin function's SCHEDULER_REFRESH_JOB would be wrong."
  }
}

# "Refresh all" in the admin function runs the refresh job now. Cloud Scheduler has no per-job IAM, so the admin
# runtime gets a role holding cloudscheduler.jobs.run alone: it can start jobs, not read, change or create them.
resource "google_project_iam_custom_role" "scheduler_job_runner" {
  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_job_runner"
  title       = "oauth-broker scheduler job runner"
  description = "Runs an existing Cloud Scheduler job now (the admin function's refresh-all); nothing else."
  permissions = ["cloudscheduler.jobs.run"]
}

resource "google_project_iam_member" "admin_job_runner" {
  project = var.project_id
  role    = google_project_iam_custom_role.scheduler_job_runner.name
  member  = google_service_account.runtime["admin"].member
}
