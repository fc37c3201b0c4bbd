# Connection events (every state transition) go to one Pub/Sub topic for product backends to subscribe to.
resource "google_pubsub_topic" "connection_events" {
  project = var.project_id
  name    = "connection-events"

  message_retention_duration = "604800s"

  depends_on = [google_project_service.required]
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publishing_functions

  project = var.project_id
  topic   = google_pubsub_topic.connection_events.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.runtime[each.key].member
}

# Product backends that consume the events: on the topic, roles/pubsub.subscriber lets them attach their own
# subscriptions (pubsub.topics.attachSubscription); pulling then needs the same role on their subscription.
resource "google_pubsub_topic_iam_member" "subscriber" {
  for_each = toset(var.event_subscriber_members)

  project = var.project_id
  topic   = google_pubsub_topic.connection_events.name
  role    = "roles/pubsub.subscriber"
  member  = each.value
}
