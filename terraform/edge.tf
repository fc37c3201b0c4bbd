# The optional edge (var.edge): the public connect pages (the callback function's start step and OAuth redirect URI)
# behind an external HTTPS load balancer whose Cloud Armor policy limits each client IP, so a flood of browser requests
# is answered at Google's edge instead of by callback instances. The functions' own quotas (CALLER_QUOTAS) cover the
# authenticated callers; nothing else limits the public endpoints, which anyone may call.
#
# With the edge on, the callback function accepts traffic only from the load balancer (ingress in functions.tf) and the
# redirect URI and start URL move to https://<domain> (locals.tf), so nobody can go around the policy.

resource "google_compute_region_network_endpoint_group" "callback" {
  count = local.edge_enabled ? 1 : 0

  project               = var.project_id
  name                  = "${var.name_prefix}-callback-neg"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  # A gen2 function is served by the Cloud Run service of the same name.
  cloud_run {
    service = google_cloudfunctions2_function.broker["callback"].service_config[0].service
  }

  depends_on = [google_project_service.required]
}

resource "google_compute_security_policy" "edge" {
  count = local.edge_enabled ? 1 : 0

  project     = var.project_id
  name        = "${var.name_prefix}-edge"
  description = "Per-IP rate limit in front of the broker's public connect pages."
  type        = "CLOUD_ARMOR"

  rule {
    description = "Each client IP: at most edge.requests_per_minute_per_ip a minute; above it, 429 (and a ban with edge.ban_seconds)."
    priority    = 1000
    action      = var.edge.ban_seconds > 0 ? "rate_based_ban" : "throttle"

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }

    rate_limit_options {
      conform_action   = "allow"
      exceed_action    = "deny(429)"
      enforce_on_key   = "IP"
      ban_duration_sec = var.edge.ban_seconds > 0 ? var.edge.ban_seconds : null

      rate_limit_threshold {
        count        = var.edge.requests_per_minute_per_ip
        interval_sec = 60
      }
    }
  }

  rule {
    description = "Everything within the limit."
    priority    = 2147483647
    action      = "allow"

    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}

resource "google_compute_backend_service" "callback" {
  count = local.edge_enabled ? 1 : 0

  project               = var.project_id
  name                  = "${var.name_prefix}-callback"
  protocol              = "HTTP"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.edge[0].id

  backend {
    group = google_compute_region_network_endpoint_group.callback[0].id
  }
}

resource "google_compute_url_map" "edge" {
  count = local.edge_enabled ? 1 : 0

  project         = var.project_id
  name            = "${var.name_prefix}-edge"
  default_service = google_compute_backend_service.callback[0].id
}

resource "google_compute_managed_ssl_certificate" "edge" {
  count = local.edge_enabled ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-edge"

  managed {
    domains = [var.edge.domain]
  }
}

resource "google_compute_target_https_proxy" "edge" {
  count = local.edge_enabled ? 1 : 0

  project          = var.project_id
  name             = "${var.name_prefix}-edge"
  url_map          = google_compute_url_map.edge[0].id
  ssl_certificates = [google_compute_managed_ssl_certificate.edge[0].id]
}

resource "google_compute_global_address" "edge" {
  count = local.edge_enabled ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-edge"

  depends_on = [google_project_service.required]
}

resource "google_compute_global_forwarding_rule" "edge" {
  count = local.edge_enabled ? 1 : 0

  project               = var.project_id
  name                  = "${var.name_prefix}-edge"
  target                = google_compute_target_https_proxy.edge[0].id
  ip_address            = google_compute_global_address.edge[0].id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}
