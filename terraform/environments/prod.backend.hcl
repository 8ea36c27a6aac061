# terraform init -backend-config=environments/prod.backend.hcl
bucket = "vividly-prod-tfstate"
prefix = "notifications/prod"
