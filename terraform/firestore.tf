# Firestore: the database, and its indexes and TTL policies read from firestore.indexes.json.
resource "google_firestore_database" "broker" {
  project     = var.project_id
  name        = var.firestore_database_id
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  concurrency_mode                  = "PESSIMISTIC"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  # The database holds every sealed grant; losing it means every user reconnects.
  lifecycle {
    prevent_destroy = true
  }

  depends_on = [google_project_service.required]
}

resource "google_firestore_index" "composite" {
  for_each = local.firestore_indexes

  project     = var.project_id
  database    = google_firestore_database.broker.name
  collection  = each.value.collectionGroup
  query_scope = lookup(each.value, "queryScope", "COLLECTION")

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = lookup(fields.value, "order", null)
      array_config = lookup(fields.value, "arrayConfig", null)
    }
  }
}

# Field overrides: TTL policies (flow records, audit entries, event outbox, sweep stats snapshots, pending revocations,
# parked grants) and single-field index exemptions.
resource "google_firestore_field" "override" {
  for_each = local.firestore_field_overrides

  project    = var.project_id
  database   = google_firestore_database.broker.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  dynamic "ttl_config" {
    for_each = lookup(each.value, "ttl", false) ? [true] : []
    content {}
  }

  # An empty index list exempts the field from indexing (TTL timestamps are never queried, and
  # indexing an ever-increasing timestamp creates write hotspots).
  dynamic "index_config" {
    for_each = can(each.value.indexes) ? [each.value.indexes] : []
    content {
      dynamic "indexes" {
        for_each = index_config.value
        content {
          order        = lookup(indexes.value, "order", null)
          array_config = lookup(indexes.value, "arrayConfig", null)
          query_scope  = lookup(indexes.value, "queryScope", "COLLECTION")
        }
      }
    }
  }
}

# firestore.rules (deny every client-SDK request; the server libraries bypass rules) as the database's live rules.
resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id

  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../firestore.rules")
    }
  }

  # A ruleset is immutable: an edited file makes a new one, and the old one cannot be deleted while the release
  # still points at it, so the new one must exist first.
  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_project_service.required]
}

resource "google_firebaserules_release" "firestore" {
  project = var.project_id
  # The (default) database's rules are the release "cloud.firestore"; a named database's are "cloud.firestore/<id>".
  name         = google_firestore_database.broker.name == "(default)" ? "cloud.firestore" : "cloud.firestore/${google_firestore_database.broker.name}"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"
}
