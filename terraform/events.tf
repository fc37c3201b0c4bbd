# Connection events (every state transition) go to one Pub/Sub topic for product backends to subscribe to.
resource "google_pubsub_topic" "connection_events" {
  project = var.project_id
  name    = "connection-events"

  message_retention_duration = "604800s"

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = { for name, fn in local.functions : name => fn if fn.publishes_events }

  project = var.project_id
  topic   = google_pubsub_topic.connection_events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.runtime[each.key].member
}
