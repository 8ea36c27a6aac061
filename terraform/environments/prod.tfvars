# Production: the plan's prod numbers. Fill in project_id, content_job_topic, the
# GitHub repository, the JWT issuer and audience and the alert channels before the
# first apply (docs/DEPLOY.md): as shipped, `terraform plan` refuses this file and
# names each value still missing.
project_id        = "vividly-prod"
environment       = "prod"
region            = "us-central1"
content_job_topic = "projects/vividly-prod/topics/content-job-finished"

redis_subnet_cidr     = "10.10.0.0/24"
connector_subnet_cidr = "10.10.1.0/28"

redis_tier                = "STANDARD_HA"
redis_memory_size_gb      = 5
redis_version             = "REDIS_7_0"
redis_client_budget       = 50000 # alert budget; Memorystore fixes maxclients at 65,000
redis_auth_enabled        = true
redis_transit_encryption  = true
redis_deletion_protection = true
redis_rdb_snapshot_period = "ONE_HOUR" # students' history survives a restart
# Grow Redis before it fills: RedisScale adds 1 GB at 70 % memory, up to 10 GB
# (docs/RUNBOOK.md, "Redis memory scaling"). 0 turns it off.
redis_autoscale_max  = 10
redis_autoscale_step = 1

connector_machine_type  = "e2-standard-4"
connector_min_instances = 2
connector_max_instances = 10

stream_service_account_id = "vividly-notify-stream"
stream_min_instances      = 2
stream_max_instances      = 100 # 100 x 1000 streams: the plan's 100,000+
stream_concurrency        = 1000
allowed_origins           = ["https://app.vividly.example"]
log_level                 = "info"

# The iss and aud claims the backend puts in tokens for this service (required in prod).
jwt_issuer   = ""
jwt_audience = ""

# Service accounts that may publish to the notifications topic, e.g.
# ["grading@vividly-prod.iam.gserviceaccount.com"] (docs/DEPLOY.md, "Adding a publishing
# service"); empty: nobody.
notification_publishers = []

github_owner = "vividly-edu"
github_repo  = "notifications"

# At least one channel (gcloud beta monitoring channels list --format='value(name)').
alert_notification_channels = ["projects/vividly-prod/notificationChannels/REPLACE_WITH_CHANNEL_ID"]
