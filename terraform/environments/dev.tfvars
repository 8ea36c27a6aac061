# Development: the plan's dev numbers. Fill in project_id, content_job_topic and the
# GitHub repository before the first apply (docs/DEPLOY.md).
project_id        = "vividly-dev"
environment       = "dev"
region            = "us-central1"
content_job_topic = "projects/vividly-dev/topics/content-job-finished"

redis_subnet_cidr     = "10.10.0.0/24"
connector_subnet_cidr = "10.10.1.0/28"

redis_tier                = "BASIC"
redis_memory_size_gb      = 1
redis_version             = "REDIS_7_0"
redis_client_budget       = 10000 # alert budget; Memorystore fixes maxclients at 65,000
redis_auth_enabled        = true
redis_transit_encryption  = true
redis_deletion_protection = false
redis_rdb_snapshot_period = "" # no persistence: a restart empties dev Redis (docs/DEPLOY.md)
redis_autoscale_max       = 0  # no automatic growth in dev (docs/RUNBOOK.md, "Redis memory scaling")

connector_machine_type  = "e2-micro"
connector_min_instances = 2
connector_max_instances = 10

stream_service_account_id = "vividly-notify-stream-dev"
stream_min_instances      = 0
stream_max_instances      = 10
stream_concurrency        = 1000
allowed_origins           = ["http://localhost:3000"]
log_level                 = "debug"

# Service accounts that may publish to the notifications topic, e.g.
# ["grading@vividly-dev.iam.gserviceaccount.com"] (docs/DEPLOY.md, "Adding a publishing
# service"); empty: nobody.
notification_publishers = []

github_owner = "vividly-edu"
github_repo  = "notifications"

alert_notification_channels = []
