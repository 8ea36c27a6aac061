# terraform init -backend-config=environments/dev.backend.hcl
bucket = "vividly-dev-tfstate"
prefix = "notifications/dev"
