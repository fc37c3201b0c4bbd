# The functions' source: the built package (package.json, lock file, dist/) zipped and uploaded once per change.
data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.module}/.build/oauth-broker-source.zip"

  # Only what the runtime needs: the buildpack runs `npm ci` against the lock file, omitting dev dependencies.
  dynamic "source" {
    for_each = setunion(
      toset(["package.json", "package-lock.json"]),
      fileset(local.source_dir, "dist/{functions,shared}/**/*.{js,css}"),
    )
    content {
      filename = source.value
      content  = file("${local.source_dir}/${source.value}")
    }
  }

  lifecycle {
    precondition {
      condition     = fileexists("${local.source_dir}/dist/functions/index.js")
      error_message = "dist/functions/index.js is missing: run `npm ci && npm run build` in the repository root before terraform plan/apply."
    }
  }
}

resource "google_storage_bucket" "source" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-source"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  # Old archives are only needed to roll back; keep the recent ones.
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.required]
}

resource "google_storage_bucket_object" "source" {
  # Content-addressed, so a new build redeploys the functions and an unchanged one does not.
  name   = "oauth-broker-${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
